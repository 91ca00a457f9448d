//! CSV framing and row normalization never panic; one outcome per row
//! (mailscope::check::csv_rows_are_total).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    // Bit 1 of the knobs once said the file ended its lines with CRLF; lines no longer
    // depend on it. The batch size keeps its bits, so the corpus keeps its meaning.
    mailscope::check::csv_rows_are_total(data, knobs & 1 == 1, 1 + (knobs >> 2) as usize);
});
