//! Criterion benches of the ingest stages, in bytes per second: framing, record parsing and
//! the whole pipeline, over NDJSON from `mailscope::generate` (the same seed every run).
//!
//! Run: `cargo bench --bench ingest` (a few minutes); one group: `cargo bench -- parse/`.
//! Per-core figures to compare with: ../shared/docs/performance.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailscope::generate::{GenFormat, GenerateOptions, generate};
use mailscope::ingest::{Options, ingest};
use mailscope::input::InputPath;
use mailscope::input::frame::{Piece, split_lines};
use mailscope::parse::{JsonParser, Outcome, normalize_top};
use std::hint::black_box;
use std::time::Duration;

/// Generated NDJSON of about `size` bytes.
fn ndjson(size: u64) -> Vec<u8> {
    let opts = GenerateOptions {
        size,
        seed: 1,
        format: GenFormat::Ndjson,
        users: 200,
        days: 7,
        ..GenerateOptions::default()
    };
    let mut out = Vec::with_capacity(size as usize + 4096);
    generate(&opts, &mut out).expect("generate into memory");
    out
}

/// The non-empty lines of `data`, found with memchr as ingest finds them. (A byte-by-byte
/// `split` took a third of `parse/tape_only`'s time, and hid the parser's speed.)
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', data)
        .chain(std::iter::once(data.len()))
        .map(move |end| {
            let line = &data[start..end];
            start = end + 1;
            line
        })
        .filter(|l| !l.is_empty())
}

fn framing(c: &mut Criterion) {
    let data = ndjson(8_000_000);
    let mut g = c.benchmark_group("frame");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    // Newline-aligned chunks of 4 MiB, as ingest cuts a memory-mapped file.
    g.bench_function("split_lines", |b| {
        b.iter(|| split_lines(black_box(&data), 4 << 20, 8 << 20).count())
    });
    // The chunks, then every line in them (what a worker does before parsing).
    g.bench_function("split_lines+lines", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in split_lines(black_box(&data), 4 << 20, 8 << 20) {
                if let Piece::Lines(r) = p {
                    n += memchr::memchr_iter(b'\n', &data[r]).count();
                }
            }
            n
        })
    });
    g.finish();
}

fn parsing(c: &mut Criterion) {
    let data = ndjson(4_000_000);
    let records = lines(&data).count();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(4));
    g.sample_size(20);
    // simd-json tape only, no field access: the ceiling for this parser.
    g.bench_function("tape_only", |b| {
        let mut p = JsonParser::new();
        b.iter(|| {
            let mut ok = 0usize;
            for line in lines(&data) {
                ok += p.parse(line, |_, _| 1usize).unwrap_or(0);
            }
            ok
        })
    });
    // Each line copied and parsed, then normalized into a Record.
    g.bench_function("json_parser+normalize_top", |b| {
        let mut p = JsonParser::new();
        let mut out: Vec<Outcome> = Vec::new();
        b.iter(|| {
            let mut n = 0usize;
            for line in lines(&data) {
                out.clear();
                let _ = p.parse(line, |root, child| normalize_top(root, child, &mut out));
                n += out.len();
            }
            assert_eq!(n, records);
            n
        })
    });
    // What ingest does: each line copied into a padded buffer (at its own offset) just
    // before it is parsed there in place, then normalized.
    g.bench_function("in_place_chunk+normalize_top", |b| {
        let mut p = JsonParser::new();
        let mut out: Vec<Outcome> = Vec::new();
        let mut chunk: Vec<u8> = vec![0; data.len() + simd_json::INPUT_PADDING];
        b.iter(|| {
            let mut n = 0usize;
            let mut pos = 0;
            while pos < data.len() {
                let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
                if end > pos {
                    out.clear();
                    chunk[pos..end].copy_from_slice(&data[pos..end]);
                    let _ = p.parse_in_place(
                        &mut chunk[pos..],
                        end - pos,
                        &data[pos..end],
                        |root, child| normalize_top(root, child, &mut out),
                    );
                    n += out.len();
                }
                pos = end + 1;
            }
            assert_eq!(n, records);
            n
        })
    });
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let data = ndjson(32_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.ndjson");
    std::fs::write(&path, &data).expect("write bench input");
    let inputs = [InputPath::File(path)];
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    g.sample_size(10);
    for (name, threads, hash) in [
        ("threads1", 1, false),
        ("threads2", 2, false),
        ("threads2+sha256", 2, true),
    ] {
        let opts = Options {
            threads,
            hash,
            progress: false,
            ..Options::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let ing = ingest(black_box(&inputs), &opts).expect("ingest");
                assert_eq!(ing.malformed_total(), 0);
                ing.records.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, framing, parsing, pipeline);
criterion_main!(benches);
