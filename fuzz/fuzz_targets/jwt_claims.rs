//! `jwt_claims`: see `telltale_fuzz::jwt_claims` (fuzz/src/lib.rs) for what it drives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| telltale_fuzz::jwt_claims(data));
