//! Framing never panics, covers every byte exactly once, and does not depend on how the
//! input is cut; the list view's framer gives one row per record (mailscope::check).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailscope::check;

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    let target = 1 + (knobs & 0x0f) as usize * 7;
    let max = 1 + (knobs >> 4) as usize * 5;
    check::framing_covers_every_byte(data, target, max);
    check::framing_ignores_cuts(data, [data.len() / 2, target], max);
    check::list_rows_are_total(data, max, 1 + (knobs & 0x03) as usize);
});
