//! `command_frame`: see `telltale_fuzz::command_frame` (fuzz/src/lib.rs) for what it drives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| telltale_fuzz::command_frame(data));
