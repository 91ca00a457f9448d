//! Replays every file of tests/fixtures/fuzz through the fuzz targets' properties on stable,
//! so that CI checks them on every run (the fuzzers themselves need nightly: see fuzz/).

use mailscope::ingest::{Ingested, Options, ingest};
use mailscope::input::InputPath;
use mailscope::input::frame::{
    Block, BlockReader, Framed, JsonFramer, Piece, ValueBatch, frame_csv, split_lines,
};
use mailscope::input::sniff::sniff_container;
use mailscope::parse::{JsonParser, Obj, normalize_object, normalize_top};
use std::sync::Arc;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fuzz/");

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
        name: "fixture".into(),
        bytes: bytes.clone(),
    };
    ingest(&[input.clone(), input], &opts).expect("in-memory input")
}

/// The values the JSON framer finds, fed in the given pieces.
fn framed(parts: &[&[u8]], max: usize) -> Vec<(u64, Vec<u8>)> {
    let mut f = JsonFramer::new(max, 64);
    let mut out = Vec::new();
    let mut take = |b: ValueBatch| {
        for v in b.values {
            match v {
                Framed::Value { line, range } => out.push((line, b.data[range].to_vec())),
                Framed::TooLong { line, len } => {
                    out.push((line, format!("LONG{len}").into_bytes()))
                }
            }
        }
    };
    for p in parts {
        f.feed(p, &mut take);
    }
    f.finish(&mut take);
    out
}

#[test]
fn every_fuzz_fixture_keeps_the_fuzz_properties() {
    let mut files: Vec<_> = std::fs::read_dir(DIR)
        .expect("tests/fixtures/fuzz")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the fixtures are missing: {files:?}");
    for path in files {
        let data = std::fs::read(&path).expect("fixture");
        let name = path.display();
        // framing
        for (target, max) in [(1, 1), (7, 64), (4096, 1 << 20)] {
            let mut pos = 0;
            for p in split_lines(&data, target, max) {
                let (Piece::Lines(r) | Piece::LongLine(r)) = p;
                assert_eq!(r.start, pos, "{name}: pieces must tile the input");
                pos = r.end;
            }
            assert_eq!(pos, data.len(), "{name}");
            let mut reader = BlockReader::new(&data[..], target, max);
            let mut total = 0;
            while let Some(b) = reader.next_block(Vec::new()) {
                total += match b {
                    Block::Lines(v) => v.len(),
                    Block::LongLine(n) => n,
                };
            }
            assert_eq!(total, data.len(), "{name}");
        }
        // the JSON framer does not depend on where the stream is cut
        for max in [16, 1 << 20] {
            let whole = framed(&[&data], max);
            for at in 0..=data.len() {
                assert_eq!(
                    whole,
                    framed(&[&data[..at], &data[at..]], max),
                    "{name}: JSON framing cut at byte {at}"
                );
            }
        }
        // parsing and sniffing
        let _ = sniff_container(&data);
        let mut parser = JsonParser::new();
        let mut out = Vec::new();
        let _ = parser.parse(&data, |root, child| normalize_top(root, child, &mut out));
        // CSV rows
        let _ = frame_csv(&data[..], false, true, 3, &|| false, &mut |batch| {
            for row in &batch.rows {
                if let Ok(cells) = &row.cells {
                    let pairs: Vec<(&str, &str)> = batch
                        .header
                        .iter()
                        .zip(cells.iter())
                        .map(|(h, c)| (h.as_str(), c.as_str()))
                        .collect();
                    let _ = normalize_object(Obj::Flat(&pairs), &mut parser);
                }
            }
        });
        // 1 thread == N threads
        let bytes = Arc::new(data.clone());
        let one = run(&bytes, 1, 1 << 20);
        for (threads, chunk) in [(2, 1), (3, 17), (4, 256)] {
            let many = run(&bytes, threads, chunk);
            assert_eq!(
                one.records, many.records,
                "{name}: {threads} threads, {chunk}-byte chunks"
            );
            assert_eq!(
                (one.read, one.duplicates, &one.malformed),
                (many.read, many.duplicates, &many.malformed),
                "{name}"
            );
        }
        assert!(
            one.read > 0
                || data.trim_ascii().is_empty()
                || one.files.iter().any(|f| f.error.is_some()),
            "{name}: nothing read"
        );
    }
}
