//! Replays every file of tests/fixtures/fuzz through the fuzz targets' properties
//! (mailscope::check) on stable, so that CI checks them on every run (the fuzzers themselves
//! need nightly: see fuzz/).

use mailscope::check;
use mailscope::input::sniff::sniff_container;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fuzz/");

#[test]
fn every_fuzz_fixture_keeps_the_fuzz_properties() {
    let mut files: Vec<_> = std::fs::read_dir(DIR)
        .expect("tests/fixtures/fuzz")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "the fixtures are missing: {files:?}");
    for path in files {
        let data = std::fs::read(&path).expect("fixture");
        let name = path.display().to_string();
        let run = |what: &str, f: &dyn Fn()| {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
                panic!("{name}: {what} does not hold");
            }
        };
        for (target, max) in [(1, 1), (7, 64), (71, 1), (4096, 1 << 20)] {
            run("framing", &|| {
                check::framing_covers_every_byte(&data, target, max)
            });
        }
        for max in [16, 1 << 20] {
            run("framing ignores cuts", &|| {
                check::framing_ignores_cuts(&data, 0..=data.len(), max)
            });
        }
        run("sniffing", &|| {
            let _ = sniff_container(&data);
        });
        run("parsing", &|| check::parsing_is_total(&data));
        for (max, batch) in [(1, 1), (8, 2), (1 << 20, 3)] {
            run("list rows", &|| {
                check::list_rows_are_total(&data, max, batch)
            });
        }
        for type_line in [false, true] {
            run("CSV rows", &|| {
                check::csv_rows_are_total(&data, type_line, 3)
            });
        }
        for (threads, chunk) in [(2, 1), (3, 17), (4, 256)] {
            run("1 thread == N threads", &|| {
                check::threads_agree(&data, threads, chunk)
            });
        }
    }
}
