//! Properties: (a) chunk size, thread count, compression and file order never change what
//! ingest finds; (b) arbitrary bytes never panic the framers or the parser, and ingest of
//! them still accounts for every record. Case counts are modest so the suite stays fast.

use crate::util::*;
use mailscope::ingest::{Ingested, Options};
use mailscope::input::frame::JsonFramer;
use mailscope::input::sniff::sniff_container;
use mailscope::parse::{JsonParser, normalize_top};
use proptest::prelude::*;
use serde_json::json;
use std::path::PathBuf;

/// One line of a generated NDJSON file.
#[derive(Clone, Debug)]
enum Line {
    /// A good record: id number, MailItemsAccessed or another operation.
    Good(u16, bool),
    Blank,
    Truncated(u16),
    InvalidJson,
    NotARecord,
    BadTime,
    InvalidUtf8,
    Nul,
    Lossy,
}

fn line_strategy() -> impl Strategy<Value = Line> {
    prop_oneof![
        8 => (0u16..40, any::<bool>()).prop_map(|(i, m)| Line::Good(i, m)),
        1 => Just(Line::Blank),
        1 => (0u16..40).prop_map(Line::Truncated),
        1 => Just(Line::InvalidJson),
        1 => Just(Line::NotARecord),
        1 => Just(Line::BadTime),
        1 => Just(Line::InvalidUtf8),
        1 => Just(Line::Nul),
        1 => Just(Line::Lossy),
    ]
}

fn good_line(i: u16, mail: bool) -> String {
    let mut r = bind_auditdata();
    r["Id"] = json!(format!("prop-{i:05}"));
    r["CreationTime"] = json!(format!("2024-02-{:02}T{:02}:00:00", 1 + i % 28, i % 24));
    if !mail {
        r["Operation"] = json!(format!("Op{}", i % 3));
    }
    compact(&r)
}

fn render(line: &Line) -> Vec<u8> {
    match line {
        Line::Good(i, m) => good_line(*i, *m).into_bytes(),
        Line::Blank => b"  \r".to_vec(),
        Line::Truncated(i) => good_line(*i, true).as_bytes()[..300].to_vec(),
        Line::InvalidJson => b"{\"Operation\":\"X\",,}".to_vec(),
        Line::NotARecord => b"{\"hello\":\"world\"}".to_vec(),
        Line::BadTime => b"{\"Operation\":\"X\",\"CreationTime\":\"soon\",\"Id\":\"t\"}".to_vec(),
        Line::InvalidUtf8 => {
            b"{\"Operation\":\"X\xff\xfe\",\"CreationTime\":\"2024-01-01T00:00:00\"}".to_vec()
        }
        Line::Nul => vec![0u8; 40],
        Line::Lossy => {
            let v: serde_json::Value =
                serde_json::from_str(&sample_text("a-bind-defender-cloudappevents-otrf.json"))
                    .expect("JSON");
            compact(&v).into_bytes()
        }
    }
}

/// A generated evidence set: files of NDJSON lines (each file starts with a good record, so
/// that it is sniffed as NDJSON), some of them compressed.
#[derive(Clone, Debug)]
struct Evidence {
    files: Vec<(Vec<Line>, u8, bool)>,
}

fn evidence_strategy() -> impl Strategy<Value = Evidence> {
    prop::collection::vec(
        (
            (0u16..40, any::<bool>()),
            prop::collection::vec(line_strategy(), 0..30),
            0u8..3,
            any::<bool>(),
        )
            .prop_map(|((i, m), mut lines, compression, crlf)| {
                lines.insert(0, Line::Good(i, m));
                (lines, compression, crlf)
            }),
        1..4,
    )
    .prop_map(|files| Evidence { files })
}

fn write_evidence(dir: &std::path::Path, ev: &Evidence) -> Vec<PathBuf> {
    ev.files
        .iter()
        .enumerate()
        .map(|(i, (lines, compression, crlf))| {
            let eol: &[u8] = if *crlf { b"\r\n" } else { b"\n" };
            let text: Vec<u8> = lines
                .iter()
                .flat_map(|l| [render(l), eol.to_vec()].concat())
                .collect();
            match compression {
                0 => write(dir, &format!("f{i}.ndjson"), &text),
                1 => write(dir, &format!("f{i}.ndjson.zst"), &zstd_frame(&text)),
                _ => write(dir, &format!("f{i}.ndjson.gz"), &gzip_member(&text)),
            }
        })
        .collect()
}

/// Records (as JSON), read, duplicates, malformed counts, malformed places.
type Essence = (
    Vec<String>,
    u64,
    u64,
    Vec<(String, u64)>,
    Vec<(String, u64, String)>,
);

/// Everything that must not depend on chunking, threads or file order; malformed places
/// as a sorted set (their order follows the file order).
fn essence(ing: &Ingested) -> Essence {
    let mut at = malformed_at(ing);
    at.sort();
    (
        ing.records.iter().map(record_json).collect(),
        ing.read,
        ing.duplicates,
        malformed_counts(ing),
        at,
    )
}

/// What ingest keeps as `T` of `inputs` is what `T` makes of the records of `reference`,
/// with the same reading and duplicates.
fn kept_is_made<T: mailscope::ingest::Kept + std::fmt::Debug>(
    inputs: &[mailscope::input::InputPath],
    o: &Options,
    reference: &Ingested,
) -> Result<(), TestCaseError> {
    let kept = mailscope::ingest::ingest_as::<T>(inputs, o).unwrap();
    let made: Vec<T> = reference
        .records
        .iter()
        .map(|r| T::from_record(r.clone()))
        .collect();
    prop_assert_eq!(kept.records, made);
    prop_assert_eq!(
        (kept.read, kept.duplicates),
        (reference.read, reference.duplicates)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn chunking_threads_and_file_order_do_not_change_the_result(
        ev in evidence_strategy(),
        chunk in 1usize..4096,
        threads in 1usize..8,
        rotate in 0usize..4,
    ) {
        let dir = tempdir();
        let paths = write_evidence(dir.path(), &ev);
        let reference = ingest_with(&paths, &opts(1, 1 << 20));
        let mut permuted = paths.clone();
        let n = permuted.len();
        permuted.rotate_left(rotate % n);
        permuted.reverse();
        let o = Options { chunk_bytes: chunk, ..opts(threads, chunk) };
        let got = ingest_with(&permuted, &o);
        prop_assert_eq!(
            essence(&got),
            essence(&reference),
            "chunk {} threads {} order {:?}\n--- got ---\n{}\n--- reference ---\n{}",
            chunk, threads, permuted, describe(&got), describe(&reference)
        );
        // What `stats`, `throttled` and `syncs` keep of each record, read the other way: the
        // same records' fields.
        let inputs: Vec<_> = permuted.iter().cloned().map(mailscope::input::InputPath::File).collect();
        kept_is_made::<mailscope::analyze::inventory::InventoryRecord>(&inputs, &o, &reference)?;
        kept_is_made::<mailscope::analyze::throttle::ThrottleRecord>(&inputs, &o, &reference)?;
        kept_is_made::<mailscope::analyze::access::SyncRecord>(&inputs, &o, &reference)?;
        // The good lines are all there: unique ids, and every other good line a duplicate.
        let good: Vec<String> = ev.files.iter().flat_map(|(l, _, _)| l.iter()).filter_map(|l| match l {
            Line::Good(i, _) => Some(format!("prop-{i:05}")),
            _ => None,
        }).collect();
        let mut unique = good.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(reference.records.len(), unique.len(), "{}", describe(&reference));
        prop_assert_eq!(reference.duplicates as usize, good.len() - unique.len(), "{}", describe(&reference));
    }
}

/// JSON-ish fragments, so that generated inputs reach past the first syntax error.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "\\",
            "\n",
            "\r\n",
            " ",
            "\u{feff}",
            "\0",
            "\"Operation\":",
            "\"MailItemsAccessed\"",
            "\"CreationTime\":",
            "\"2020-04-07T23:47:30\"",
            "\"Id\":",
            "\"x\"",
            "\"Folders\":",
            "\"FolderItems\":",
            "\"InternetMessageId\":",
            "\"<a@b>\"",
            "\"OperationProperties\":",
            "{\"Name\":\"MailAccessType\",\"Value\":\"Sync\"}",
            "\"@{Value=Bind; Name=MailAccessType}\"",
            "\"System.Object[]\"",
            "\"AuditData\":",
            "\"{\\\"Operation\\\":\\\"MailItemsAccessed\\\"}\"",
            "\"value\":",
            "\"Item\":",
            "\"ParentFolder\":",
            "\"AppAccessContext\":",
            "\"LogonType\":",
            "\"Owner\"",
            "7",
            "-1",
            "1e400",
            "1.5",
            "true",
            "null",
            "\"9/20/2023 4:05:03 AM\"",
            "\"/Date(1621952909000)/\"",
            "RecordId,CreationDate,Operation,AuditData\r\n",
            "#TYPE x\n",
            "Operation    : ",
            "LastAccessed : ",
            "MailItemsAccessed\r\n",
            "\n               ",
            "\t",
            "# note\n",
            "\"\"",
            "\"\"\"",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ]
}

fn bytes_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..1024),
        prop::collection::vec(fragment(), 0..120).prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn framers_and_parser_never_panic(
        data in bytes_strategy(),
        target in 1usize..64,
        max_record in 1usize..256,
        split in 0usize..1024,
        type_line in any::<bool>(),
    ) {
        // split_lines pieces tile the input; BlockReader ends and its blocks are the input's
        // bytes, in new or recycled buffers.
        mailscope::check::framing_covers_every_byte(&data, target, max_record);

        // JsonFramer, fed in two pieces.
        let at = split.min(data.len());
        let mut framer = JsonFramer::new(max_record, target);
        let mut values = 0;
        framer.feed(&data[..at], &mut |b| values += b.values.len());
        framer.feed(&data[at..], &mut |b| values += b.values.len());
        framer.finish(&mut |b| values += b.values.len());

        // frame_csv, against the csv crate.
        mailscope::check::csv_rows_are_total(&data, type_line, 7);

        // frame_list, against the plain rule of where records start.
        mailscope::check::list_rows_are_total(&data, max_record, 1 + split % 5);

        // The parser and the normalizer.
        let _ = sniff_container(&data);
        let mut parser = JsonParser::new();
        let mut out = Vec::new();
        let _ = parser.parse(&data, |root, child| normalize_top(root, child, &mut out));
        let _ = values;
    }

    #[test]
    fn ingest_of_arbitrary_bytes_accounts_for_every_record(
        data in bytes_strategy(),
        chunk in 1usize..512,
        compress in 0u8..3,
    ) {
        let dir = tempdir();
        let name = ["any.bin", "any.bin.zst", "any.bin.gz"][compress as usize];
        let bytes = match compress { 0 => data.clone(), 1 => zstd_frame(&data), _ => gzip_member(&data) };
        let path = write(dir.path(), name, &bytes);
        // ingest_with checks read == unique + duplicates + malformed, and per-file sums.
        let ing = ingest_with(&[path], &opts(2, chunk));
        prop_assert!(ing.records.len() as u64 <= ing.read);
    }
}

/// Real samples with random bytes changed: never a panic, always accounted for.
#[test]
fn mutated_samples_never_panic() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 32,
        ..ProptestConfig::default()
    });
    let names = [
        "a-bind-sentinel-officeactivity-otrf.json",
        "g-extractor-get-ual-JSON-SHAPE.json",
        "g-extractor-get-ual-JSONL-SHAPE.jsonl",
        "d-search-ual-exportcsv-AU-locale-fixture.csv",
        "f-graph-auditlogquery-records-mailitemsaccessed-SHAPE.json",
        "a-bind-defender-cloudappevents-otrf.json",
    ];
    let strategy = (
        prop::sample::select(names.to_vec()),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    );
    runner
        .run(&strategy, |(name, edits)| {
            let mut data = std::fs::read(sample(name)).expect("sample");
            for (i, b) in edits {
                let at = i.index(data.len());
                data[at] = b;
            }
            let mut parser = JsonParser::new();
            let mut out = Vec::new();
            let _ = parser.parse(&data, |root, child| normalize_top(root, child, &mut out));
            let dir = tempdir();
            let _ = ingest_with(&[write(dir.path(), name, &data)], &opts(1, 256));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Parsed pieces of a mapped file leave the resident set (MADV_DONTNEED); a buffer handed in
/// memory must never get that treatment (on heap memory it would zero the caller's bytes).
/// Several megabytes in 64 KiB pieces, each piece spanning whole pages: the buffer is unchanged
/// after reading, a second reading of the same buffer and of the same file give the same
/// records, and file and buffer agree.
#[test]
fn reading_leaves_buffers_and_files_intact() {
    use mailscope::generate::{GenerateOptions, generate};
    use mailscope::ingest::ingest;
    use mailscope::input::InputPath;
    use std::sync::Arc;
    let mut data = Vec::new();
    generate(
        &GenerateOptions {
            size: 3_000_000,
            seed: 7,
            ..GenerateOptions::default()
        },
        &mut data,
    )
    .unwrap();
    let before = data.clone();
    let bytes = Arc::new(data);
    let memory = InputPath::Memory {
        name: "memory".into(),
        bytes: bytes.clone(),
    };
    let o = opts(2, 64 << 10);
    let first = ingest(std::slice::from_ref(&memory), &o).unwrap();
    assert!(first.records.len() > 1_000, "{}", describe(&first));
    assert!(
        *bytes == before,
        "the in-memory input was changed by reading it"
    );
    let second = ingest(&[memory], &o).unwrap();
    assert_eq!(first.records, second.records);
    let dir = tempdir();
    let path = write(dir.path(), "export.ndjson", &before);
    let from_file = ingest_with(std::slice::from_ref(&path), &o);
    assert_eq!(from_file.records, first.records);
    assert_eq!(
        ingest_with(std::slice::from_ref(&path), &o).records,
        first.records
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file was changed"
    );
}
