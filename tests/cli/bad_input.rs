//! Damaged input, each case surrounded by good records: every bad record is reported with
//! its `path:line` and kind, every good record around it is counted, and the run goes on
//! (unless `--strict`). See: ../shared/docs/formats.md, "Damaged input".

use crate::util::*;
use mailscope::ingest::Ingested;
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A good MailItemsAccessed record (NDJSON line, no newline) with id number `i`.
fn good(i: u32) -> String {
    let mut r = bind_auditdata();
    r["Id"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
    r["CreationTime"] = json!(format!("2024-01-01T00:{:02}:{:02}", i / 60 % 60, i % 60));
    compact(&r)
}

/// Good lines `from..to`, each ending with `eol`.
fn goods(from: u32, to: u32, eol: &str) -> String {
    (from..to).map(|i| good(i) + eol).collect()
}

/// Three good records, `bad` on line 4, three good records.
fn surround(bad: &[u8]) -> Vec<u8> {
    [
        goods(0, 3, "\n").as_bytes(),
        bad,
        b"\n",
        goods(3, 6, "\n").as_bytes(),
    ]
    .concat()
}

fn path_of(ing: &Ingested, i: usize) -> String {
    ing.files[i].path.clone()
}

/// Asserts unique good records, duplicates, malformed `(line, kind)` and no file error.
fn check(what: &str, ing: &Ingested, good: usize, malformed: &[(u64, &str)]) {
    let want: Vec<(u64, String)> = malformed.iter().map(|(l, k)| (*l, k.to_string())).collect();
    let errors: Vec<_> = ing.files.iter().filter_map(|f| f.error.clone()).collect();
    assert_eq!(
        (
            ing.records.len(),
            ing.duplicates,
            malformed_lines(ing),
            errors
        ),
        (good, 0, want, vec![]),
        "{what}: (good records, duplicates, malformed (line, kind), file errors)\n{}",
        describe(ing)
    );
    for m in &ing.malformed_examples {
        assert_eq!(
            m.path,
            path_of(ing, 0),
            "{what}: the path of {}",
            m.location()
        );
    }
}

fn one_file(dir: &Path, name: &str, bytes: &[u8]) -> Ingested {
    ingest_file(&write(dir, name, bytes))
}

#[test]
fn line_cut_mid_record() {
    let dir = tempdir();
    let g = good(100);
    let ing = one_file(
        dir.path(),
        "cut.ndjson",
        &surround(&g.as_bytes()[..g.len() / 2]),
    );
    check("a line cut mid-record", &ing, 6, &[(4, "truncated")]);
}

#[test]
fn invalid_utf8() {
    let dir = tempdir();
    // "Tony" with its "o" replaced by bytes that are not UTF-8.
    let mut bytes = good(100).replacen("Tony", "T\u{1}ny", 1).into_bytes();
    let at = bytes.iter().position(|&b| b == 1).expect("marker");
    bytes.splice(at..=at, [0xFF, 0xFE, 0xC3]);
    let ing = one_file(dir.path(), "utf8.ndjson", &surround(&bytes));
    check(
        "invalid UTF-8 inside a string",
        &ing,
        6,
        &[(4, "invalid-utf8")],
    );
}

#[test]
fn nul_bytes() {
    let dir = tempdir();
    // A pre-allocated region of NULs, then a record with a NUL inside a string.
    let nuls = vec![0u8; 300];
    let mut with_nul = good(100).into_bytes();
    let at = with_nul.len() / 2;
    with_nul.insert(at, 0);
    let bytes = [
        surround(&nuls),
        with_nul,
        b"\n".to_vec(),
        goods(6, 8, "\n").into_bytes(),
    ]
    .concat();
    let ing = one_file(dir.path(), "nul.ndjson", &bytes);
    check("NUL bytes", &ing, 8, &[(4, "nul-bytes"), (8, "nul-bytes")]);
}

#[test]
fn valid_json_that_is_not_a_usable_record() {
    let dir = tempdir();
    let defender: serde_json::Value =
        serde_json::from_str(&sample_text("a-bind-defender-cloudappevents-otrf.json"))
            .expect("JSON");
    let lines = [
        compact(&defender),                                            // 2: lossy
        r#"{"contentUri":"https://manage.office.com/x"}"#.to_string(), // 3: no Operation
        r#"{"Operation":"MailItemsAccessed","Id":"a"}"#.to_string(),   // 4: no time
        r#"{"Operation":"Send","CreationTime":"yesterday","Id":"b"}"#.to_string(), // 5
        r#"{"Operation":"Send","CreationTime":"3/12/2025 7:31:34 AM","Id":"c"}"#.to_string(), // 6: ambiguous
        "[1, 2]".to_string(),      // 7: not objects
        "{\"a\":1,,}".to_string(), // 8: syntax
    ];
    let bytes = format!("{}\n{}\n{}\n", good(0), lines.join("\n"), good(1));
    let ing = one_file(dir.path(), "unusable.ndjson", bytes.as_bytes());
    check(
        "valid JSON that is not a usable record",
        &ing,
        2,
        &[
            (2, "lossy-powershell"),
            (3, "not-a-record"),
            (4, "no-time"),
            (5, "bad-time"),
            (6, "bad-time"),
            (7, "not-a-record"),
            (7, "not-a-record"),
            (8, "invalid-json"),
        ],
    );
}

#[test]
fn crlf_line_endings() {
    let dir = tempdir();
    let g = good(100);
    let bytes = [
        goods(0, 3, "\r\n").as_bytes(),
        &g.as_bytes()[..200],
        b"\r\n",
        b"\r\n", // a blank line is not a record
        goods(3, 6, "\r\n").as_bytes(),
    ]
    .concat();
    for (threads, chunk) in [(1, 1 << 20), (3, 700)] {
        let ing = ingest_with(
            &[write(dir.path(), "crlf.ndjson", &bytes)],
            &opts(threads, chunk),
        );
        check("CRLF line endings", &ing, 6, &[(4, "truncated")]);
    }
}

#[test]
fn utf8_boms_mid_stream() {
    let dir = tempdir();
    // Three PowerShell 5.1 files concatenated: each starts with a BOM.
    let bom = "\u{FEFF}";
    let g = good(100);
    let text = format!(
        "{bom}{}{bom}{}{}\n{}{bom}{}",
        goods(0, 2, "\r\n"),
        goods(2, 4, "\r\n"),
        &g[..g.len() - 1],
        goods(4, 6, "\r\n"),
        goods(6, 8, "\r\n"),
    );
    let ing = one_file(dir.path(), "concatenated.ndjson", text.as_bytes());
    check("UTF-8 BOMs mid-stream", &ing, 8, &[(5, "truncated")]);
}

/// A record line of 10 MB, above the default 8 MB record limit.
fn ten_megabyte_line_between_good_records() -> Vec<u8> {
    // Built by hand (not through serde_json): fast in debug builds.
    let big = format!(
        "{{\"Padding\":\"{}\",{}",
        "x".repeat(10 << 20),
        &good(100)[1..]
    );
    surround(big.as_bytes())
}

#[test]
fn ten_megabyte_line() {
    let dir = tempdir();
    let bytes = ten_megabyte_line_between_good_records();
    let plain = write(dir.path(), "long.ndjson", &bytes);
    let zst = write(dir.path(), "long.ndjson.zst", &zstd_frame(&bytes));
    // (A small chunk size on the compressed stream is quadratic: see
    // long_line_in_a_stream_with_small_blocks_is_not_quadratic.)
    for (p, threads, chunk) in [
        (&plain, 2, 4 << 20),
        (&plain, 1, 1000),
        (&zst, 2, 4 << 20),
        (&zst, 1, 1 << 20),
    ] {
        let ing = ingest_with(std::slice::from_ref(p), &opts(threads, chunk));
        check(
            &format!("a 10 MB line in {} (chunk {chunk})", p.display()),
            &ing,
            6,
            &[(4, "too-long")],
        );
        assert!(
            ing.malformed_examples[0]
                .why
                .contains("longer than the limit"),
            "{}",
            ing.malformed_examples[0].location()
        );
    }
}

/// Regression: a long line in a stream read in small blocks is reported at its place, in
/// linear time (BlockReader searches only the newly read bytes for the newline).
#[test]
fn long_line_in_a_stream_with_small_blocks_is_not_quadratic() {
    let dir = tempdir();
    let zst = write(
        dir.path(),
        "long.ndjson.zst",
        &zstd_frame(&ten_megabyte_line_between_good_records()),
    );
    // No timing assertion (the machine is shared); a quadratic scan would make this test
    // take minutes instead of a fraction of a second.
    let ing = ingest_with(&[zst], &opts(1, 1000));
    check(
        "a 10 MB line in a stream, 1,000-byte blocks",
        &ing,
        6,
        &[(4, "too-long")],
    );
}

#[test]
fn empty_file_between_good_files() {
    let dir = tempdir();
    let a = write(dir.path(), "a.ndjson", goods(0, 3, "\n").as_bytes());
    let empty = write(dir.path(), "empty.ndjson", b"");
    let blank = write(dir.path(), "blank.ndjson", b"\n  \r\n");
    let b = write(dir.path(), "b.ndjson", goods(3, 6, "\n").as_bytes());
    let ing = ingest_paths(&[a, empty, blank, b]);
    let errors: Vec<(String, Option<String>)> = ing
        .files
        .iter()
        .map(|f| {
            let name = Path::new(&f.path)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (
                name,
                f.error.as_ref().map(|e| e.contains("empty").to_string()),
            )
        })
        .collect();
    assert_eq!(
        (ing.records.len(), ing.malformed_total(), errors),
        (
            6,
            0,
            vec![
                ("a.ndjson".to_string(), None),
                ("empty.ndjson".to_string(), Some("true".to_string())),
                ("blank.ndjson".to_string(), Some("true".to_string())),
                ("b.ndjson".to_string(), None),
            ]
        ),
        "(good, malformed, (file, error mentions 'empty'))\n{}",
        describe(&ing)
    );
}

/// A directory that holds nothing to read (here a hidden file and an empty subdirectory) is
/// a wrong path more often than an empty export: it is named on stderr, listed in the
/// inventory with why, and the exit code says something was skipped, while the other inputs
/// are read as usual.
#[test]
fn empty_directory_is_reported_not_silent() {
    let dir = tempdir();
    let empty = dir.path().join("exports");
    std::fs::create_dir_all(empty.join("2024-05")).unwrap();
    write(&empty, ".DS_Store", b"junk");
    let good = write(dir.path(), "a.ndjson", goods(0, 3, "\n").as_bytes());
    let e = empty.display().to_string();
    let g = good.display().to_string();

    let alone = mailscope(&["contexts", "--format", "csv", &e], b"");
    assert_eq!(alone.code, 3, "exit code\n{alone}");
    assert!(
        alone.stderr.contains(&format!(
            "mailscope: warning: {e}: directory holds no files"
        )),
        "the directory is named on stderr:\n{alone}"
    );
    assert_eq!(alone.stdout.lines().count(), 1, "only the header:\n{alone}");

    let with_good = mailscope(&["stats", "--format", "json", &e, &g], b"");
    assert_eq!(with_good.code, 3, "exit code\n{with_good}");
    let v = one_json(&with_good);
    let files: Vec<(String, String, bool)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["container"].as_str().unwrap_or_default().to_string(),
                f["error"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        (v["records"].as_u64(), files),
        (
            Some(3),
            vec![
                (e.clone(), "directory".to_string(), true),
                (g, "ndjson".to_string(), false)
            ]
        ),
        "{with_good}"
    );
}

/// What a stream decoder yields before a compressed stream breaks: the complete lines, and
/// the partial last line (if any).
fn decoded_before_break(mut r: impl Read) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let broke = loop {
        match r.read(&mut buf) {
            Ok(0) => break false,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break true,
        }
    };
    (out, broke)
}

fn check_truncated_stream(what: &str, path: &Path, decoded: &[u8], word: &str) {
    let complete = decoded.iter().filter(|&&b| b == b'\n').count();
    let partial = !decoded.ends_with(b"\n") && !decoded.is_empty();
    assert!(
        complete > 0,
        "{what}: the cut should leave some records ({complete})"
    );
    let ing = ingest_file(path);
    let want: Vec<(u64, String)> = if partial {
        vec![(complete as u64 + 1, "truncated".to_string())]
    } else {
        vec![]
    };
    let error = ing.files[0].error.clone().unwrap_or_default();
    assert_eq!(
        (
            ing.records.len(),
            malformed_lines(&ing),
            error.contains(word) && error.contains("broke off")
        ),
        (complete, want, true),
        "{what}: (records decoded before the break, malformed, error mentions the break)\n{}",
        describe(&ing)
    );
}

#[test]
fn truncated_zstd_stream() {
    let dir = tempdir();
    // About 1.2 MB: the break comes well after the first 256 KB.
    let data = goods(0, 1000, "\n");
    let frame = zstd_frame(data.as_bytes());
    let cut = &frame[..frame.len() * 2 / 3];
    let path = write(dir.path(), "cut.ndjson.zst", cut);
    let (decoded, broke) =
        decoded_before_break(zstd::stream::read::Decoder::new(cut).expect("decoder"));
    assert!(broke, "the chopped frame must not decode cleanly");
    check_truncated_stream("a truncated zstd stream", &path, &decoded, "zstd");
}

#[test]
fn truncated_gzip_stream() {
    let dir = tempdir();
    let data = goods(0, 1000, "\n");
    let member = gzip_member(data.as_bytes());
    let cut = &member[..member.len() * 2 / 3];
    let path = write(dir.path(), "cut.ndjson.gz", cut);
    let (decoded, broke) = decoded_before_break(flate2::read::MultiGzDecoder::new(cut));
    assert!(broke, "the chopped member must not decode cleanly");
    check_truncated_stream("a truncated gzip stream", &path, &decoded, "gzip");
}

/// Regression: a small compressed file that breaks off before 256 KB of it is decoded (inside
/// the sniffing window) still counts the records decoded before the break, and reports it.
#[test]
fn small_truncated_stream_counts_records_before_the_break() {
    let dir = tempdir();
    // Ten frames (members) of ten records; the last one cut in half.
    let parts: Vec<String> = (0..10).map(|i| goods(i * 10, i * 10 + 10, "\n")).collect();
    for (name, one) in [
        ("small-cut.ndjson.zst", zstd_frame as fn(&[u8]) -> Vec<u8>),
        ("small-cut.ndjson.gz", gzip_member),
    ] {
        let mut bytes: Vec<u8> = parts[..9].iter().flat_map(|p| one(p.as_bytes())).collect();
        let last = one(parts[9].as_bytes());
        bytes.extend_from_slice(&last[..last.len() / 2]);
        let path = write(dir.path(), name, &bytes);
        let (decoded, broke) = if name.ends_with(".zst") {
            decoded_before_break(zstd::stream::read::Decoder::new(&bytes[..]).expect("decoder"))
        } else {
            decoded_before_break(flate2::read::MultiGzDecoder::new(&bytes[..]))
        };
        assert!(
            broke && decoded.len() < 256 * 1024,
            "{name}: {} bytes decoded",
            decoded.len()
        );
        let word = if name.ends_with(".zst") {
            "zstd"
        } else {
            "gzip"
        };
        check_truncated_stream(name, &path, &decoded, word);
    }
}

/// Regression: a compressed Purview CSV that breaks off keeps the rows decoded before the
/// break (frame_csv emits them before returning the I/O error).
#[test]
fn truncated_compressed_csv_counts_rows_before_the_break() {
    let dir = tempdir();
    let csv =
        std::fs::read(sample("d-purview-portal-export-2023-huntressctf-FULL.csv")).expect("sample");
    for (name, compressed) in [
        ("cut.csv.zst", zstd_frame(&csv)),
        ("cut.csv.gz", gzip_member(&csv)),
    ] {
        let cut = &compressed[..compressed.len() * 2 / 3];
        let path = write(dir.path(), name, cut);
        let decoded: Vec<u8> = if name.ends_with(".zst") {
            decoded_before_break(zstd::stream::read::Decoder::new(cut).expect("decoder")).0
        } else {
            decoded_before_break(flate2::read::MultiGzDecoder::new(cut)).0
        };
        // Complete rows before the break, read with the csv crate (the last, partial one
        // may or may not parse, so it is not counted here).
        let rows = csv::Reader::from_reader(&decoded[..]).records().count() as u64 - 1;
        assert!(
            rows > 50,
            "too few rows before the break to be a test: {rows}"
        );
        let ing = ingest_file(&path);
        assert!(
            ing.read >= rows && ing.files[0].error.is_some(),
            "{name}: at least {rows} rows decoded before the break must be read, and the break \
             reported; got read {}\n{}",
            ing.read,
            describe(&ing)
        );
    }
}

/// Regression: the first line of an NDJSON file cut mid-record does not make the file a JSON
/// document (whose framer would swallow every good record after it).
#[test]
fn first_line_cut_mid_record() {
    let dir = tempdir();
    let g = good(100);
    let bytes = format!("{}\n{}", &g[..g.len() / 2], goods(0, 5, "\n"));
    let ing = one_file(dir.path(), "first-cut.ndjson", bytes.as_bytes());
    check(
        "the first line cut mid-record",
        &ing,
        5,
        &[(1, "truncated")],
    );
}

/// `bytes` cut at `at` into two files, `part-aa` and `part-ab` (as `split` names them), read
/// together; and their paths.
fn ingest_split(dir: &Path, bytes: &[u8], at: usize) -> (Ingested, [String; 2]) {
    let (aa, ab) = bytes.split_at(at);
    let pieces = [write(dir, "part-aa", aa), write(dir, "part-ab", ab)];
    (
        ingest_paths(&pieces),
        pieces.map(|p| p.display().to_string()),
    )
}

/// Where the malformed records of a file read without its line `k + 1` are in the pieces of
/// the whole file cut inside that line, with the two halves of the cut line as `truncated`.
fn malformed_in_pieces(
    without: &Ingested,
    k: u64,
    aa: String,
    ab: String,
) -> Vec<(String, u64, String)> {
    let mut at: Vec<(String, u64, String)> = malformed_at(without)
        .into_iter()
        .map(|(_, line, kind)| match line <= k {
            true => (aa.clone(), line, kind),
            false => (ab.clone(), line + 1 - k, kind),
        })
        .collect();
    at.push((aa, k + 1, "truncated".to_string()));
    at.push((ab, 1, "truncated".to_string()));
    at.sort();
    at
}

/// An export split by size (`split -b`): the second piece begins inside a record. Each piece
/// is read as NDJSON (before, a piece that did not begin with `{` was refused whole, as not an
/// export); the record cut in two is `truncated` on the first piece's last line and on the
/// second piece's line 1, and every other record is read as from the whole file. Cut at every
/// eleventh byte of each record but the last of the real NDJSON samples, one after another.
#[test]
fn a_split_export_is_read_piece_by_piece() {
    let dir = tempdir();
    let names = [
        "a-defender-cloudappevents-otrf-FULL.jsonl",
        "b-exchangeitem-item-parentfolder-elastic-beats.jsonl",
        "g-extractor-get-ual-JSONL-SHAPE.jsonl",
        "g-extractor-get-ual-SOFELK-or-AuditDataOnly-SHAPE.jsonl",
    ];
    let lines: Vec<String> = names
        .iter()
        .flat_map(|n| {
            sample_text(n)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    let whole = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let records = |ing: &Ingested| ing.records.iter().map(record_json).collect::<Vec<_>>();
    let mut cuts = 0;
    for (k, line) in lines.iter().enumerate().take(lines.len() - 1) {
        let mut without = lines.clone();
        without.remove(k);
        let want = one_file(dir.path(), "without.ndjson", without.join("\n").as_bytes());
        let start: usize = lines[..k].iter().map(|l| l.len() + 1).sum();
        for at in (1..line.len()).step_by(11) {
            let (got, pieces) = ingest_split(dir.path(), whole.as_bytes(), start + at);
            let what = format!("line {} cut after byte {at}", k + 1);
            let path = |i: usize| pieces[i].clone();
            assert_eq!(
                (
                    records(&got),
                    {
                        let mut at = malformed_at(&got);
                        at.sort();
                        at
                    },
                    got.files
                        .iter()
                        .map(|f| f.container.clone())
                        .collect::<Vec<_>>(),
                ),
                (
                    records(&want),
                    malformed_in_pieces(&want, k as u64, path(0), path(1)),
                    vec!["ndjson".to_string(); 2],
                ),
                "{what}\n{}",
                describe(&got)
            );
            check_accounting(&got);
            cuts += 1;
        }
    }
    assert!(cuts > 2000, "{cuts} cuts");
}

/// A JSON document split by size or by lines: the records of the real JSON samples as one
/// pretty-printed array, cut inside each record but the last, at every seventh byte. The
/// second piece begins inside a record, or inside an array or object of one (its properties,
/// folders, AuditData); the rest of that record is one `truncated` value on its line 1, as
/// its start is at the end of the first piece, and every other record is read as from the
/// whole document (before, such a piece was refused whole, or its record's inner objects were
/// framed as records).
#[test]
fn a_split_json_document_is_read_piece_by_piece() {
    let dir = tempdir();
    let mut elements: Vec<serde_json::Value> = Vec::new();
    for name in [
        "a-bind-office365itpros.json",
        "a-bind-sentinel-officeactivity-otrf.json",
        "b-sync-folders-variant-RECONSTRUCTED.json",
        "b-sync-item-parentfolder-RECONSTRUCTED.json",
        "e-management-api-content-blob-response.json",
        "g-extractor-get-ual-JSON-SHAPE.json",
    ] {
        match serde_json::from_str(&sample_text(name)).unwrap() {
            serde_json::Value::Array(a) => elements.extend(a),
            v => elements.push(v),
        }
    }
    // The document, and where each element's text starts and ends in it.
    let texts: Vec<String> = elements
        .iter()
        .map(|e| {
            serde_json::to_string_pretty(e)
                .unwrap()
                .replace('\n', "\n  ")
        })
        .collect();
    let document = |texts: &[String]| format!("[\n  {}\n]\n", texts.join(",\n  "));
    let whole = document(&texts);
    let records = |ing: &Ingested| ing.records.iter().map(record_json).collect::<Vec<_>>();
    let mut cuts = 0;
    let mut start = 4;
    for (k, text) in texts.iter().enumerate().take(texts.len() - 1) {
        let mut without = texts.clone();
        without.remove(k);
        let want = one_file(dir.path(), "without.json", document(&without).as_bytes());
        let line = 1 + whole[..start].matches('\n').count() as u64;
        let mut counts = malformed_counts(&want);
        counts.push(("truncated".to_string(), 2));
        counts.sort();
        for at in (1..text.len()).step_by(7) {
            let (got, pieces) = ingest_split(dir.path(), whole.as_bytes(), start + at);
            let path = |i: usize| pieces[i].clone();
            let cut: Vec<_> = malformed_at(&got)
                .into_iter()
                .filter(|(_, _, kind)| kind == "truncated")
                .collect();
            let mut got_counts = malformed_counts(&got);
            got_counts.sort();
            assert_eq!(
                (records(&got), got_counts, cut),
                (
                    records(&want),
                    counts.clone(),
                    vec![
                        (path(0), line, "truncated".to_string()),
                        (path(1), 1, "truncated".to_string()),
                    ],
                ),
                "record {} cut after byte {at}: {:?}\n{}",
                k + 1,
                String::from_utf8_lossy(&text.as_bytes()[at..(at + 60).min(text.len())]),
                describe(&got)
            );
            check_accounting(&got);
            cuts += 1;
        }
        start += text.len() + 4;
    }
    assert!(cuts > 500, "{cuts} cuts");
}

/// A Purview CSV export split by lines (`split -l`: the second piece has no header) and by
/// size (`split -b`: it also begins inside a row): the real export, split after every row and
/// inside rows (see below). Each piece after the first is read
/// with the AuditData found in its rows (before, it was refused whole, as not an export); a
/// row cut in two is `truncated` on the first piece's last line and on the second piece's
/// line 1 (unless the cut fell inside its first cell, or after its AuditData: the piece with
/// that cell whole reads the record), and every other row is read as from the whole file.
#[test]
fn a_split_csv_export_is_read_piece_by_piece() {
    let dir = tempdir();
    let text = sample_text("d-purview-portal-export-2023-huntressctf-FULL.csv");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let whole = one_file(dir.path(), "whole.csv", text.as_bytes());
    assert_eq!(whole.read as usize, lines.len() - 1, "{}", describe(&whole));
    let records = |ing: &Ingested| ing.records.iter().map(record_json).collect::<Vec<_>>();
    let split = |at: usize| ingest_split(dir.path(), text.as_bytes(), at);
    let mut cuts = 0;
    let mut start = lines[0].len();
    for (k, line) in lines.iter().enumerate().skip(1).take(lines.len() - 2) {
        let (got, pieces) = split(start);
        assert_eq!(
            (records(&got), malformed_at(&got)),
            (records(&whole), vec![]),
            "split before line {}\n{}",
            k + 1,
            describe(&got)
        );
        assert_eq!(got.files[1].shape, "csv-piece");
        start += line.len();
        if k % 7 != 1 {
            continue;
        }
        let start = start - line.len();
        let mut without = lines.clone();
        without.remove(k);
        let want = one_file(dir.path(), "without.csv", without.concat().as_bytes());
        // Inside every seventh row, at every 61st byte and at the edges of its first cell and
        // of its AuditData.
        let (comma, close) = (line.find(',').unwrap(), line.rfind("}\"").unwrap());
        let mut at_bytes: Vec<usize> = (1..line.trim_end().len()).step_by(61).collect();
        at_bytes.extend([comma, comma + 1, close, close + 1, close + 2]);
        for at in at_bytes {
            let (got, [aa, ab]) = split(start + at);
            // Cut inside the first cell, the row's rest still has all its cells: it is read
            // from the second piece. Cut after the AuditData cell's `}`, the first piece has
            // the record whole.
            let (in_ab, in_aa) = (at <= comma, at > close);
            let mut cut = Vec::new();
            if !in_aa {
                cut.push((aa, k as u64 + 1, "truncated".to_string()));
            }
            if !in_ab {
                cut.push((ab, 1, "truncated".to_string()));
            }
            assert_eq!(
                (records(&got), malformed_at(&got)),
                (records(if in_aa || in_ab { &whole } else { &want }), cut),
                "line {} cut after byte {at}\n{}",
                k + 1,
                describe(&got)
            );
            check_accounting(&got);
            cuts += 1;
        }
        assert!(pieces[1].ends_with("part-ab"));
    }
    assert!(cuts > 500, "{cuts} cuts");
}

/// Files concatenated where one lacks its last line end (`cat a.jsonl b.jsonl`): the objects
/// of the joined line are records of that line, as if it had been two; only something that is
/// not an object between them, or a cut one, stays malformed.
#[test]
fn records_one_after_another_on_a_line() {
    let dir = tempdir();
    let (a, b, c) = (good(100), good(101), good(102));
    type Case<'a> = (String, usize, &'a [(u64, &'a str)]);
    let cases: [Case; 5] = [
        (format!("{a}{b}"), 8, &[]),
        (format!("{a} \t{b}{c}"), 9, &[]),
        (format!("{a}{}", &b[..b.len() / 2]), 7, &[(4, "truncated")]),
        (
            format!("{a}{{\"Operation\": }}{b}"),
            8,
            &[(4, "invalid-json")],
        ),
        (format!("{a}x{b}"), 6, &[(4, "invalid-json")]),
    ];
    for (i, (line, good, malformed)) in cases.iter().enumerate() {
        let name = format!("joined-{i}.ndjson");
        let ing = one_file(dir.path(), &name, &surround(line.as_bytes()));
        check(line, &ing, *good, malformed);
    }
    // The real shapes, each file's last line end removed before the next file begins: the same
    // records as the files read one by one.
    let names = [
        "a-defender-cloudappevents-otrf-FULL.jsonl",
        "b-exchangeitem-item-parentfolder-elastic-beats.jsonl",
        "g-extractor-get-ual-JSONL-SHAPE.jsonl",
        "g-extractor-get-ual-SOFELK-or-AuditDataOnly-SHAPE.jsonl",
    ];
    let paths: Vec<PathBuf> = names.iter().map(|n| sample(n)).collect();
    let joined: Vec<u8> = paths
        .iter()
        .flat_map(|p| {
            sample_text(p.file_name().unwrap().to_str().unwrap())
                .trim_end()
                .bytes()
                .collect::<Vec<_>>()
        })
        .collect();
    let apart = ingest_paths(&paths);
    let together = one_file(dir.path(), "joined.jsonl", &joined);
    let records = |ing: &Ingested| ing.records.iter().map(record_json).collect::<Vec<_>>();
    assert!(apart.records.len() > names.len(), "{}", describe(&apart));
    assert_eq!(
        records(&together),
        records(&apart),
        "{}",
        describe(&together)
    );
    assert_eq!(
        (
            together.read,
            together.duplicates,
            malformed_counts(&together)
        ),
        (apart.read, apart.duplicates, malformed_counts(&apart))
    );
}

/// Regression: a record exactly `max_record` bytes long is accepted whatever the chunking
/// (the splitters and the worker all measure the trimmed record, without its newline).
#[test]
fn record_of_exactly_max_record_bytes_is_accepted_whatever_the_chunking() {
    let dir = tempdir();
    let lines: Vec<String> = (0..20).map(good).collect();
    let len = lines[0].len();
    assert!(lines.iter().all(|l| l.len() == len));
    let path = write(dir.path(), "exact.ndjson", lines.join("\n").as_bytes());
    let gz = write(
        dir.path(),
        "exact.ndjson.gz",
        &gzip_member((lines.join("\n") + "\n").as_bytes()),
    );
    let mut got = Vec::new();
    for p in [&path, &gz] {
        for chunk in [1, 100, len, len + 1, 3 * len, 1 << 20] {
            let o = mailscope::ingest::Options {
                max_record: len,
                ..opts(2, chunk)
            };
            let ing = ingest_with(std::slice::from_ref(p), &o);
            got.push((
                p.display().to_string(),
                chunk,
                ing.records.len(),
                malformed_counts(&ing),
            ));
        }
    }
    let want: Vec<_> = got
        .iter()
        .map(|(p, c, _, _)| (p.clone(), *c, 20, vec![]))
        .collect();
    assert_eq!(
        got, want,
        "(file, chunk bytes, records, malformed) with max_record = {len}"
    );
}

#[test]
fn json_array_cut_mid_element() {
    let dir = tempdir();
    let recs: Vec<serde_json::Value> = (0..3)
        .map(|i| serde_json::from_str(&good(i)).expect("JSON"))
        .collect();
    let text = serde_json::to_string_pretty(&recs).expect("JSON");
    // Cut inside the third element.
    let third = text.match_indices("\n  {").nth(2).expect("third element").0 + 1;
    let third_line = text[..third].matches('\n').count() as u64 + 1;
    let cut = &text[..third + 200];
    let ing = one_file(dir.path(), "cut-array.json", cut.as_bytes());
    check(
        "a JSON array cut mid-element",
        &ing,
        2,
        &[(third_line, "truncated")],
    );
}

/// A Purview CSV with `eol` line endings: a multi-line AuditData cell, a cell cut by
/// Excel's limit and a row with invalid UTF-8, between good rows.
fn damaged_csv(eol: &str) -> (Vec<u8>, u64) {
    let row = |i: u32, audit: &str| -> Vec<u8> {
        format!(
            "00000000-0000-4000-8000-{i:012},1/1/2024 12:00:00 AM,50,MailItemsAccessed,tony.hawks@sample.com,\"{}\",,{eol}",
            audit.replace('"', "\"\"")
        )
        .into_bytes()
    };
    // Row 0's AuditData is pretty-printed over several lines: later rows start further down.
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&good(0)).expect("JSON"),
    )
    .expect("JSON")
    .replace('\n', eol);
    let pretty_lines = pretty.matches('\n').count() as u64;
    let excel_cut = &good(2)[..good(2).len() - 40];
    let mut bad_utf8 = row(3, &good(3));
    let at = bad_utf8.iter().position(|&b| b == b'T').expect("T");
    bad_utf8[at] = 0xFF;
    let bytes = [
        format!("RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames{eol}").into_bytes(),
        row(0, &pretty),
        row(1, &good(1)),
        row(2, excel_cut),
        bad_utf8,
        row(4, &good(4)),
    ]
    .concat();
    // Header on line 1, row 0 on lines 2..=2+pretty_lines, then one line per row.
    (bytes, 2 + pretty_lines + 2)
}

#[test]
fn purview_csv_with_damaged_rows() {
    let dir = tempdir();
    let (bytes, cut_line) = damaged_csv("\n");
    let ing = one_file(dir.path(), "damaged.csv", &bytes);
    check(
        "a Purview CSV (LF) with damaged rows",
        &ing,
        3,
        &[(cut_line, "truncated"), (cut_line + 1, "invalid-utf8")],
    );
}

/// Regression: Purview exports end lines with CRLF, for which the csv crate reports records
/// one line early; every row is reported on its own line.
#[test]
fn purview_csv_crlf_rows_report_their_own_line() {
    let dir = tempdir();
    let (bytes, cut_line) = damaged_csv("\r\n");
    let ing = one_file(dir.path(), "damaged-crlf.csv", &bytes);
    check(
        "a Purview CSV (CRLF) with damaged rows",
        &ing,
        3,
        &[(cut_line, "truncated"), (cut_line + 1, "invalid-utf8")],
    );
    // The simplest case: the first data row, on line 2.
    let g = good(0);
    let text = format!(
        "RecordId,CreationDate,RecordType,Operation,UserId,AuditData\r\nx,1/1/2024 12:00:00 AM,50,MailItemsAccessed,u,\"{}\"\r\n",
        g[..g.len() - 40].replace('"', "\"\"")
    );
    let ing = one_file(dir.path(), "first-row-crlf.csv", text.as_bytes());
    check("the first row of a CRLF CSV", &ing, 0, &[(2, "truncated")]);
}

/// A Purview CSV with a record longer than the limit (an AuditData cell of 100 KB), and
/// then a cell whose quote is never closed (an export cut there, and lines without quotes
/// appended): by the CSV rules the rest of the file is one record. Each is reported as one
/// too-long record on its line, with its length (line end included), and neither is held in
/// memory; the rows before and between them are read. From a mapped file and from a zstd
/// stream alike.
#[test]
fn purview_csv_records_past_the_limit_and_a_quote_left_open() {
    let dir = tempdir();
    let row = |i: u32, audit: &str| {
        let audit = audit.replace('"', "\"\"");
        format!("{i},1/1/2024 12:00:00 AM,50,MailItemsAccessed,u,\"{audit}\"\r\n")
    };
    let mut text = "RecordId,CreationDate,RecordType,Operation,UserId,AuditData\r\n".to_string();
    text += &row(0, &good(0));
    text += &row(1, &good(1));
    let padded = good(2).replacen('{', &format!("{{\"Pad\":\"{}\",", "x".repeat(100_000)), 1);
    let long = row(2, &padded);
    text += &long;
    for i in 3..11 {
        text += &row(i, &good(i));
    }
    let open = text.len();
    text += &row(11, &good(11))[..60];
    text += &"a,b,c\r\n".repeat(300_000);
    let lens = [long.len() - 1, text.len() - open];
    let csv = write(dir.path(), "open-quote.csv", text.as_bytes());
    let zst = write(
        dir.path(),
        "open-quote.csv.zst",
        &zstd_frame(text.as_bytes()),
    );
    for path in [csv, zst] {
        let o = mailscope::ingest::Options {
            max_record: 64 << 10,
            ..opts(2, 4 << 20)
        };
        let ing = ingest_with(std::slice::from_ref(&path), &o);
        let why: Vec<_> = ing
            .malformed_examples
            .iter()
            .map(|m| m.why.clone())
            .collect();
        let too_long =
            |len| format!("record of {len} bytes is longer than the limit of 65536 bytes");
        assert_eq!(
            (ing.records.len(), malformed_lines(&ing), why),
            (
                10,
                vec![(4, "too-long".to_string()), (13, "too-long".to_string())],
                lens.map(too_long).to_vec()
            ),
            "{}",
            path.display()
        );
    }
}

// The binary: --strict stops at the first malformed record; without it the run goes on.

fn damaged_file(dir: &Path) -> PathBuf {
    let g = good(100);
    write(
        dir,
        "damaged.ndjson",
        &surround(&g.as_bytes()[..g.len() / 2]),
    )
}

#[test]
fn strict_exits_1_at_the_first_malformed_record() {
    let dir = tempdir();
    let path = damaged_file(dir.path());
    let p = path.display().to_string();
    let run = mailscope(&["stats", "--strict", "--format", "json", &p], b"");
    assert!(
        run.code == 1 && run.stderr.contains(&format!("{p}:4:")) && run.stdout.is_empty(),
        "expected exit 1, `{p}:4:` on stderr and nothing on stdout; got\n{run}"
    );
    assert!(
        run.stderr.contains("truncated"),
        "the kind is named:\n{run}"
    );
}

#[test]
fn without_strict_exits_3_with_warnings_on_stderr_only() {
    let dir = tempdir();
    let path = damaged_file(dir.path());
    let p = path.display().to_string();
    let run = mailscope(&["stats", "--format", "json", &p], b"");
    assert_eq!(run.code, 3, "exit code\n{run}");
    assert!(
        run.stderr
            .contains(&format!("mailscope: warning: {p}:4: truncated")),
        "the warning names path:line and kind:\n{run}"
    );
    assert!(
        run.stderr.contains("1 malformed record(s) skipped"),
        "summary line:\n{run}"
    );
    let v = one_json(&run);
    assert_eq!(
        (
            v["records"].as_u64(),
            v["mail_items_accessed"].as_u64(),
            v["malformed"].as_u64()
        ),
        (Some(7), Some(6), Some(1)),
        "{run}"
    );
    assert!(
        !run.stdout.contains("warning"),
        "no warnings on stdout:\n{run}"
    );

    // -q drops the per-record warnings but keeps the summary and the exit code.
    let quiet = mailscope(&["stats", "-q", "--format", "json", &p], b"");
    assert!(
        quiet.code == 3
            && !quiet.stderr.contains(&format!("{p}:4:"))
            && quiet.stderr.contains("1 malformed record(s) skipped")
            && quiet.stdout == run.stdout,
        "-q: exit 3, summary only on stderr, same stdout; got\n{quiet}"
    );
}

#[test]
fn strict_on_an_unreadable_file_exits_1() {
    let dir = tempdir();
    let frame = zstd_frame(goods(0, 50, "\n").as_bytes());
    let path = write(dir.path(), "cut.ndjson.zst", &frame[..frame.len() / 2]);
    let p = path.display().to_string();
    let run = mailscope(&["stats", "--strict", "--format", "json", &p], b"");
    assert!(
        run.code == 1 && run.stderr.contains(&p) && run.stdout.is_empty(),
        "expected exit 1 naming {p}; got\n{run}"
    );
}

/// A Purview CSV row cut before its AuditData cell (the export or a copy broke off after the
/// UserId column), in the middle of a file and at its end, and a row whose AuditData cell is
/// empty: each is `truncated` on its line, not a MailItemsAccessed record of unknown access
/// read from the wrapper's columns. A row that lacks only the trailing
/// `AssociatedAdminUnits` cells (Excel leaves empty cells at a row's end out) is read.
/// The Extractor-Suite JSONL wrapper with an empty AuditData string is reported the same way.
#[test]
fn rows_and_wrappers_without_their_audit_data_are_truncated() {
    let dir = tempdir();
    let header = "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames";
    let wrapper = |i: u32| {
        format!(
            "00000000-0000-4000-8000-{i:012},5/21/2024 10:00:00 AM,50,MailItemsAccessed,a@x.com"
        )
    };
    let row = |i: u32| format!("{},\"{}\",,", wrapper(i), good(i).replace('"', "\"\""));
    let lines = [
        header.to_string(),                                             // 1
        row(0),                                                         // 2
        wrapper(1),                                                     // 3: cut before AuditData
        format!("{},\"\",,", wrapper(2)),                               // 4: AuditData empty
        format!("{},\"{}\"", wrapper(3), good(3).replace('"', "\"\"")), // 5: Excel's short row
        format!("{},,", wrapper(4)),                                    // 6: AuditData empty
        row(5),                                                         // 7
        wrapper(6),                                                     // 8: the last, cut
    ];
    let text = lines.join("\r\n");
    let ing = one_file(dir.path(), "cut.csv", text.as_bytes());
    check(
        "Purview rows without their AuditData",
        &ing,
        3,
        &[
            (3, "truncated"),
            (4, "truncated"),
            (6, "truncated"),
            (8, "truncated"),
        ],
    );
    let whys: Vec<&str> = ing.malformed_examples.iter().map(|m| &*m.why).collect();
    assert!(
        whys[0].contains("5 of the header's 8 cells, before AuditData"),
        "{whys:?}"
    );
    assert!(whys[1].contains("AuditData is empty"), "{whys:?}");

    // Extractor-Suite JSONL: the wrapper's AuditData is a JSON string, here empty or blank.
    let mut jsonl = String::new();
    for (i, audit) in [
        (0, good(0)),
        (1, String::new()),
        (2, " ".into()),
        (3, good(3)),
    ] {
        let w = json!({
            "RecordType": "ExchangeItemAggregated",
            "CreationDate": "2024-05-21T10:00:00",
            "UserIds": "a@x.com",
            "Operations": "MailItemsAccessed",
            "AuditData": audit,
            "Identity": format!("00000000-0000-4000-8000-{i:012}"),
        });
        jsonl += &(compact(&w) + "\n");
    }
    let ing = one_file(dir.path(), "wrappers.jsonl", jsonl.as_bytes());
    check(
        "JSONL wrappers with an empty AuditData",
        &ing,
        2,
        &[(2, "truncated"), (3, "truncated")],
    );
    assert!(ing.malformed_examples[0].why.contains("AuditData is empty"));
}

/// Extractor-Suite `-AuditDataOnly` through `Export-Csv`: PowerShell writes the nested
/// values as text, `System.Object[]` for OperationProperties and `@{Id=...; ParentFolder=}`
/// for a sync's Item (the folder inside it comes out empty). Such a record is
/// `lossy-powershell`, not a MailItemsAccessed record of unknown access (a sync vanishing
/// among them); so is the same record as a JSON line. Text that keeps its values (a
/// `@{Name=...; Value=...}` property, JSON in a cell) is read.
#[test]
fn powershell_text_in_operation_properties_or_item_is_lossy() {
    let dir = tempdir();
    let sync_props = r#"[{"Name":"MailAccessType","Value":"Sync"}]"#;
    let item = r#"{"Id":"LgAA","ParentFolder":{"Id":"LgAB","Path":"\\Inbox"}}"#;
    let rows = [
        ("System.Object[]", "@{Id=LgAA; ParentFolder=}"), // 2
        (
            "@{Name=MailAccessType; Value=Sync}",
            "@{Id=LgAA; ParentFolder=}",
        ), // 3
        (
            sync_props,
            r#"{"Id":"LgAA","ParentFolder":"System.Object[]"}"#,
        ), // 4
        (sync_props, item),                               // 5: good
        ("@{Name=MailAccessType; Value=Sync}", item),     // 6: good
        ("System.Object[]", ""),                          // 7
    ];
    let mut csv = String::from(
        "CreationTime,Id,Operation,UserId,MailboxOwnerUPN,ClientIPAddress,OperationProperties,Item,OperationCount\r\n",
    );
    for (i, (props, item)) in rows.iter().enumerate() {
        csv += &format!(
            "2024-05-01T10:00:00,ps{i},MailItemsAccessed,a@x.com,a@x.com,1.2.3.4,\"{}\",\"{}\",1\r\n",
            props.replace('"', "\"\""),
            item.replace('"', "\"\"")
        );
    }
    let ing = one_file(dir.path(), "auditdataonly.csv", csv.as_bytes());
    let lossy = [
        (2, "lossy-powershell"),
        (3, "lossy-powershell"),
        (4, "lossy-powershell"),
        (7, "lossy-powershell"),
    ];
    check("-AuditDataOnly CSV", &ing, 2, &lossy);
    assert!(ing.records.iter().all(|r| {
        let m = r.mail.as_deref().expect("MailItemsAccessed");
        m.access == mailscope::model::AccessType::Sync && m.synced_folder.is_some()
    }));
    let whys: Vec<&str> = ing.malformed_examples.iter().map(|m| &*m.why).collect();
    assert!(whys[0].contains("OperationProperties"), "{whys:?}");
    assert!(whys[1].contains("Item"), "{whys:?}");

    // The same records as JSON lines (props and Item as JSON where the CSV has JSON text).
    let value = |t: &str| serde_json::from_str(t).unwrap_or_else(|_| json!(t));
    let mut ndjson = String::new();
    for (i, (props, item)) in rows.iter().enumerate() {
        let mut r = bind_auditdata();
        let r = r.as_object_mut().expect("object");
        r.remove("Folders");
        r.insert("Id".into(), json!(format!("ps{i}")));
        r.insert("OperationProperties".into(), value(props));
        if !item.is_empty() {
            r.insert("Item".into(), value(item));
        }
        ndjson += &(compact(&json!(r)) + "\n");
    }
    let ing = one_file(dir.path(), "auditdataonly.ndjson", ndjson.as_bytes());
    let lossy = lossy.map(|(l, k)| (l - 1, k));
    check("-AuditDataOnly JSON lines", &ing, 2, &lossy);
}

/// A file of tests/fixtures/framing, read as a user would read it.
fn framing_fixture(name: &str) -> Ingested {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/framing");
    ingest_file(&dir.join(name))
}

/// Regression: in a pretty-printed JSON array, a record cut mid-string (line 36, then the
/// next export's `[` appended) is truncated at its line, and the three records after it are
/// read. Before, the cut string ran on past the newline and hid them.
#[test]
fn json_record_cut_mid_string_hides_nothing_after_it() {
    let ing = framing_fixture("trunc_mid.json");
    check("trunc_mid.json", &ing, 4, &[(36, "truncated")]);
}

/// Regression: a `null` element in a one-line array is one `not-a-record`; the records
/// after it are read (before, the rest of the line was one invalid-json value).
#[test]
fn json_array_element_that_is_not_an_object() {
    let ing = framing_fixture("nullarr.json");
    check("nullarr.json", &ing, 3, &[(1, "not-a-record")]);
}

/// Regression: a pretty-printed object whose first lines hold one-line nested objects
/// (`{"Name": ..., "Value": ...}`) is one JSON record, not NDJSON lines.
#[test]
fn pretty_object_with_one_line_nested_objects_is_json() {
    let ing = framing_fixture("pretty_compact_nested.json");
    check("pretty_compact_nested.json", &ing, 1, &[]);
    assert_eq!(ing.files[0].container, "json");
}

/// Regression: a Graph page written as `{"@odata.context":...,"value":[` and then one
/// record per line is a JSON document: its five records, each on its own line.
#[test]
fn graph_page_with_one_record_per_line_is_json() {
    let ing = framing_fixture("graph_lines.json");
    check("graph_lines.json", &ing, 5, &[]);
    assert_eq!(ing.files[0].container, "json");
}

/// Regression: objects one after another on one line (README: "concatenated objects") are
/// a JSON document, each object a record.
#[test]
fn concatenated_objects_on_one_line_are_records() {
    let ing = framing_fixture("concat_objs_oneline.json");
    check("concat_objs_oneline.json", &ing, 5, &[]);
    assert_eq!(ing.files[0].container, "json");
}

/// Regression: an NDJSON file whose first line is longer than the sniffing window (256 KiB)
/// is NDJSON with or without a BOM before it: the same records either way.
#[test]
fn ndjson_with_a_first_line_past_the_sniffing_window() {
    let dir = tempdir();
    let mut big: serde_json::Value = serde_json::from_str(&good(0)).unwrap();
    big["Padding"] = json!("x".repeat(300 << 10));
    let text = format!("{}\n{}", compact(&big), goods(1, 4, "\n"));
    for (name, bom) in [("big.jsonl", ""), ("big-bom.jsonl", "\u{feff}")] {
        let ing = one_file(dir.path(), name, format!("{bom}{text}").as_bytes());
        check(name, &ing, 4, &[]);
        assert_eq!(ing.files[0].container, "ndjson", "{name}");
    }
}

/// Regression: a CSV row is reported on the line it starts on after blank lines, and with
/// LF, CRLF or both mixed (an LF header and CRLF rows, or the other way round). Before, the
/// line was the `csv` crate's count, which leaves out blank lines and, after a CRLF, the LF.
#[test]
fn csv_rows_keep_their_line_after_blank_lines_and_mixed_line_ends() {
    for (name, line) in [
        ("blank_lf.csv", 5),
        ("blank_crlf.csv", 5),
        ("mixed1.csv", 4),
        ("mixed2.csv", 4),
    ] {
        let ing = framing_fixture(name);
        check(name, &ing, 2, &[(line, "invalid-json")]);
    }
}
