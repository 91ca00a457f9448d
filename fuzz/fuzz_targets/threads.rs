//! One thread and several threads, large and tiny chunks, give the same result on any input:
//! the same unique records, the same accounting and the same malformed places.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailscope::ingest::{Ingested, Options, ingest};
use mailscope::input::InputPath;
use std::sync::Arc;

fn run(bytes: &Arc<Vec<u8>>, threads: usize, chunk_bytes: usize) -> Ingested {
    let opts = Options {
        threads,
        chunk_bytes,
        progress: false,
        hash: false,
        max_examples: usize::MAX,
        max_record: 4096,
        ..Options::default()
    };
    let input = InputPath::Memory {
        name: "fuzz".into(),
        bytes: bytes.clone(),
    };
    ingest(&[input.clone(), input], &opts).expect("in-memory input cannot fail to open")
}

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    let bytes = Arc::new(data.to_vec());
    let one = run(&bytes, 1, 1 << 20);
    let many = run(&bytes, 2 + (knobs % 3) as usize, 1 + (knobs >> 2) as usize);
    assert_eq!(one.records, many.records);
    assert_eq!(
        (one.read, one.duplicates, &one.malformed),
        (many.read, many.duplicates, &many.malformed)
    );
    let places = |i: &Ingested| {
        i.malformed_examples
            .iter()
            .map(|m| (m.file, m.line, m.kind))
            .collect::<Vec<_>>()
    };
    assert_eq!(places(&one), places(&many));
    assert_eq!(
        one.read,
        one.records.len() as u64 + one.duplicates + one.malformed_total()
    );
});
