//! Criterion benches of the analysis stages, in bytes per second of the export they come
//! from: record de-duplication (ingest of a file in which ~1% of records repeat), the
//! one-hour access de-duplication (`Accesses::build`), and the `contexts` aggregation.
//!
//! Run: `cargo bench --bench analyze`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mailscope::analyze::access::Accesses;
use mailscope::analyze::contexts::{Key, contexts};
use mailscope::generate::{GenFormat, GenerateOptions, generate};
use mailscope::ingest::{Options, ingest};
use mailscope::input::InputPath;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn analysis(c: &mut Criterion) {
    let opts = GenerateOptions {
        size: 64 << 20,
        seed: 1,
        format: GenFormat::Ndjson,
        users: 200,
        days: 7,
        ..GenerateOptions::default()
    };
    let mut data = Vec::new();
    generate(&opts, &mut data).expect("generate into memory");
    let bytes = data.len() as u64;
    let input = InputPath::Memory {
        name: "bench".into(),
        bytes: Arc::new(data),
    };
    let ingest_opts = Options {
        threads: 2,
        progress: false,
        hash: false,
        ..Options::default()
    };
    let ing = ingest(std::slice::from_ref(&input), &ingest_opts).expect("ingest");

    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("ingest+record_dedup", |b| {
        b.iter(|| black_box(ingest(std::slice::from_ref(&input), &ingest_opts).expect("ingest")))
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    g.bench_function("access_dedup", |b| {
        b.iter(|| pool.install(|| black_box(Accesses::build(&ing.records, |_| true).items.len())))
    });
    let acc = pool.install(|| Accesses::build(&ing.records, |_| true));
    g.bench_function("contexts_all_keys", |b| {
        b.iter_batched(
            || acc.clone(),
            |a| black_box(contexts(a, &Key::ALL).len()),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("contexts_by_mailbox_ip", |b| {
        b.iter_batched(
            || acc.clone(),
            |a| black_box(contexts(a, &[Key::Mailbox, Key::Ip]).len()),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, analysis);
criterion_main!(benches);
