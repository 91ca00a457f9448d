//! Shared helpers: where the samples are, running ingest and the binary, and describing a
//! result in full when an assertion fails.

#![allow(dead_code)]

use mailscope::ingest::{Ingested, Options, ingest};
use mailscope::input::InputPath;
use mailscope::model::Record;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// ../shared/samples, next to the crate.
pub const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/samples/");

pub fn sample(name: &str) -> PathBuf {
    Path::new(SAMPLES).join(name)
}

pub fn sample_text(name: &str) -> String {
    std::fs::read_to_string(sample(name)).unwrap_or_else(|e| panic!("reading sample {name}: {e}"))
}

/// Ingest options for tests: no progress bar, hashing off unless asked, every malformed
/// example kept.
pub fn opts(threads: usize, chunk_bytes: usize) -> Options {
    Options {
        threads,
        chunk_bytes,
        progress: false,
        hash: false,
        max_examples: 10_000,
        ..Options::default()
    }
}

pub fn ingest_with(paths: &[PathBuf], o: &Options) -> Ingested {
    let inputs: Vec<InputPath> = paths.iter().cloned().map(InputPath::File).collect();
    let ing = ingest(&inputs, o).unwrap_or_else(|e| panic!("ingest of {paths:?} failed: {e}"));
    check_accounting(&ing);
    ing
}

pub fn ingest_paths(paths: &[PathBuf]) -> Ingested {
    ingest_with(paths, &opts(2, 4 << 20))
}

pub fn ingest_file(path: &Path) -> Ingested {
    ingest_paths(&[path.to_path_buf()])
}

/// Every record read is accounted for exactly once.
pub fn check_accounting(ing: &Ingested) {
    assert_eq!(
        ing.read,
        ing.records.len() as u64 + ing.duplicates + ing.malformed_total(),
        "read != unique + duplicates + malformed in\n{}",
        describe(ing)
    );
    let per_file: u64 = ing.files.iter().map(|f| f.records).sum();
    assert_eq!(
        per_file,
        ing.read,
        "file record counts do not add up to read in\n{}",
        describe(ing)
    );
}

/// `(path, line, kind)` of every malformed example, in the order ingest gives them.
pub fn malformed_at(ing: &Ingested) -> Vec<(String, u64, String)> {
    ing.malformed_examples
        .iter()
        .map(|m| (m.path.clone(), m.line, m.kind.to_string()))
        .collect()
}

/// `(line, kind)` of every malformed example (for single-file tests).
pub fn malformed_lines(ing: &Ingested) -> Vec<(u64, String)> {
    ing.malformed_examples
        .iter()
        .map(|m| (m.line, m.kind.to_string()))
        .collect()
}

pub fn malformed_counts(ing: &Ingested) -> Vec<(String, u64)> {
    ing.malformed
        .iter()
        .map(|(k, n)| (k.to_string(), *n))
        .collect()
}

/// A full, readable account of an ingest result, for assertion messages.
pub fn describe(ing: &Ingested) -> String {
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        s,
        "read {} = {} unique + {} duplicates + {} malformed {:?}",
        ing.read,
        ing.records.len(),
        ing.duplicates,
        ing.malformed_total(),
        ing.malformed
    );
    for f in &ing.files {
        let _ = writeln!(
            s,
            "file {} container={} shape={} encoding={:?} compression={:?} records={} error={:?}",
            f.path, f.container, f.shape, f.encoding, f.compression, f.records, f.error
        );
    }
    for m in &ing.malformed_examples {
        let _ = writeln!(s, "malformed {}", m.location());
    }
    for r in &ing.records {
        let _ = writeln!(s, "record {}", record_json(r));
    }
    s
}

pub fn record_json(r: &Record) -> String {
    serde_json::to_string(r).unwrap_or_else(|e| format!("<{e}>"))
}

/// What a finished `mailscope` process did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the `mailscope` binary with `args`, feeding `stdin`.
pub fn mailscope(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailscope"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting mailscope");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("waiting for mailscope");
    let _ = feeder.join();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Parses stdout as exactly one JSON document (nothing before or after it).
pub fn one_json(run: &Run) -> serde_json::Value {
    let mut de = serde_json::Deserializer::from_str(&run.stdout).into_iter::<serde_json::Value>();
    let v = match de.next() {
        Some(Ok(v)) => v,
        other => panic!("stdout is not one JSON document ({other:?}):\n{run}"),
    };
    assert!(
        de.next().is_none(),
        "stdout holds more than one JSON document:\n{run}"
    );
    assert!(v.is_object(), "stdout is not a JSON object:\n{run}");
    v
}

/// The AuditData of the office365itpros Bind record, as a JSON object (the base of most
/// synthesized records).
pub fn bind_auditdata() -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&sample_text(
        "g-extractor-get-ual-SOFELK-or-AuditDataOnly-SHAPE.jsonl",
    ))
    .expect("SOF-ELK sample is JSON");
    assert!(v.is_object());
    v
}

/// One compact JSON line.
pub fn compact(v: &serde_json::Value) -> String {
    serde_json::to_string(v).expect("serializing")
}

/// UTF-16LE bytes of `text`, with a BOM when asked.
pub fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    if bom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// One independently compressed zstd frame.
pub fn zstd_frame(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).expect("zstd compress")
}

/// One gzip member.
pub fn gzip_member(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip compress");
    e.finish().expect("gzip finish")
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    p
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("creating a temporary directory")
}

/// Nanoseconds since the Unix epoch of a UTC civil time (computed here by counting days,
/// independently of mailscope's own date code).
pub fn utc(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: i64) -> i64 {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days: i64 = 0;
    for year in 1970..y {
        days += if leap(year) { 366 } else { 365 };
    }
    let month_days = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    for m in 1..mo {
        days += month_days[(m - 1) as usize];
    }
    days += (d - 1) as i64;
    ((days * 86_400 + (h * 3600 + mi * 60 + s) as i64) * 1_000_000_000) + nanos
}

/// `2020-04-07T23:47:30` (AuditData's zone-less UTC, maybe with a fraction) -> nanoseconds.
pub fn utc_text(t: &str) -> i64 {
    let t = t.trim().trim_end_matches('Z');
    let (date, time) = t.split_once('T').unwrap_or_else(|| panic!("no T in {t:?}"));
    let d: Vec<u32> = date
        .split('-')
        .map(|p| p.parse().expect("date digits"))
        .collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let c: Vec<u32> = hms
        .split(':')
        .map(|p| p.parse().expect("time digits"))
        .collect();
    let nanos = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}")[..9].parse().expect("fraction digits")
    };
    utc(d[0] as i64, d[1], d[2], c[0], c[1], c[2], nanos)
}

/// `Operation` column counts of a Purview CSV, read with the `csv` crate (no mailscope code).
pub fn csv_column_counts(path: &Path, column: &str) -> std::collections::BTreeMap<String, u64> {
    let mut rdr = csv::Reader::from_path(path).expect("opening CSV");
    let idx = rdr
        .headers()
        .expect("CSV header")
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no {column} column in {}", path.display()));
    let mut out = std::collections::BTreeMap::new();
    for row in rdr.records() {
        let row = row.expect("CSV row");
        *out.entry(row[idx].to_string()).or_default() += 1;
    }
    out
}

/// One bind record of `ceo@contoso.example` listing one message, in the SOF-ELK shape.
pub fn bind_line(
    time: &str,
    id: u32,
    ip: &str,
    session: &str,
    throttled: bool,
    message: &str,
) -> String {
    let mut v = bind_auditdata();
    v["CreationTime"] = serde_json::json!(time);
    v["Id"] = serde_json::json!(format!("00000000-0000-0000-0000-{id:012}"));
    v["UserId"] = serde_json::json!("ceo@contoso.example");
    v["MailboxOwnerUPN"] = serde_json::json!("ceo@contoso.example");
    v["ClientIPAddress"] = serde_json::json!(ip);
    v["SessionId"] = serde_json::json!(session);
    v["OperationProperties"] = serde_json::json!([
        {"Name": "MailAccessType", "Value": "Bind"},
        {"Name": "IsThrottled", "Value": if throttled { "True" } else { "False" }}
    ]);
    v["Folders"] =
        serde_json::json!([{"Path": "\\Inbox", "FolderItems": [{"InternetMessageId": message}]}]);
    compact(&v) + "\n"
}
