//! Framing never panics, covers every byte exactly once, and does not depend on how the
//! input is split: `split_lines` pieces tile the input in order, `BlockReader` blocks add up
//! to it, and `JsonFramer` gives the same values fed whole or in two parts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailscope::input::frame::{Block, BlockReader, Framed, JsonFramer, Piece, split_lines};

fn values(parts: &[&[u8]], max: usize, batch: usize) -> Vec<(u64, Vec<u8>)> {
    let mut f = JsonFramer::new(max, batch);
    let mut out = Vec::new();
    let mut take = |b: mailscope::input::frame::ValueBatch| {
        for v in b.values {
            match v {
                Framed::Value { line, range } => out.push((line, b.data[range].to_vec())),
                Framed::TooLong { line, len } => out.push((line, format!("LONG{len}").into_bytes())),
            }
        }
    };
    for p in parts {
        f.feed(p, &mut take);
    }
    f.finish(&mut take);
    out
}

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    let target = 1 + (knobs & 0x0f) as usize * 7;
    let max = 1 + (knobs >> 4) as usize * 5;

    let mut pos = 0;
    for p in split_lines(data, target, max) {
        let r = match p {
            Piece::Lines(r) | Piece::LongLine(r) => r,
        };
        assert_eq!(r.start, pos, "pieces must tile the input");
        assert!(r.end > r.start);
        pos = r.end;
    }
    assert_eq!(pos, data.len());

    let mut reader = BlockReader::new(data, target, max);
    let mut total = 0;
    while let Some(b) = reader.next_block(Vec::new()) {
        total += match b {
            Block::Lines(v) => {
                assert!(!v.is_empty());
                v.len()
            }
            Block::LongLine(n) => n,
        };
        assert!(total <= data.len());
    }
    assert_eq!(total, data.len());

    let at = data.len() / 2;
    assert_eq!(
        values(&[data], max, target),
        values(&[&data[..at], &data[at..]], max, target),
        "the JSON framer must not depend on where the input is split"
    );
});
