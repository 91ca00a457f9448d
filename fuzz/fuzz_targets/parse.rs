//! Record parsing never panics on any bytes (mailscope::check::parsing_is_total).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailscope::check::parsing_is_total(data));
