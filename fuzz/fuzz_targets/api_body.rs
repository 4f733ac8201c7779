//! `api_body`: see `telltale_fuzz::api_body` (fuzz/src/lib.rs) for what it drives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| telltale_fuzz::api_body(data));
