//! `alarm_payload`: see `telltale_fuzz::alarm_payload` (fuzz/src/lib.rs) for what it drives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| telltale_fuzz::alarm_payload(data));
