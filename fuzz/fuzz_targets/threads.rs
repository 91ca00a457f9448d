//! One thread and several threads, large and tiny chunks, give the same result on any input
//! (mailscope::check::threads_agree).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    mailscope::check::threads_agree(data, 2 + (knobs % 3) as usize, 1 + (knobs >> 2) as usize);
});
