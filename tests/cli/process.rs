//! The `mailscope` binary as a user runs it: one JSON document on stdout and nothing else,
//! warnings on stderr, exit codes, threads, standard input and directories.

use crate::util::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const FULL: &str = "d-purview-portal-export-2023-huntressctf-FULL.csv";

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn stats_json_on_the_purview_export() {
    let path = sample(FULL);
    let p = path.display().to_string();
    let run = mailscope(&["stats", "--format", "json", &p], b"");
    assert_eq!(run.code, 0, "exit code\n{run}");
    let v = one_json(&run);
    for key in [
        "records",
        "mail_items_accessed",
        "other_operations",
        "duplicates",
        "malformed",
        "by_operation",
        "malformed_by_kind",
        "first_time",
        "last_time",
        "files",
    ] {
        assert!(v.get(key).is_some(), "no key {key} in\n{run}");
    }
    let n = |k: &str| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("{k} is not a number:\n{run}"))
    };
    assert_eq!(
        n("records"),
        n("mail_items_accessed") + n("other_operations") + n("duplicates") + n("malformed"),
        "records = the sum of the other four\n{run}"
    );
    assert_eq!(
        (
            n("records"),
            n("mail_items_accessed"),
            n("other_operations"),
            n("duplicates"),
            n("malformed")
        ),
        (219, 0, 219, 0, 0),
        "{run}"
    );
    let by_operation: BTreeMap<String, u64> =
        serde_json::from_value(v["by_operation"].clone()).expect("by_operation is a map of counts");
    assert_eq!(
        by_operation,
        csv_column_counts(&path, "Operation"),
        "by_operation vs the CSV"
    );
    assert_eq!(v["malformed_by_kind"], serde_json::json!({}), "{run}");
    assert_eq!(
        (v["first_time"].as_str(), v["last_time"].as_str()),
        (Some("2023-09-20T04:05:03Z"), Some("2023-09-26T02:17:32Z")),
        "{run}"
    );
    // Without the hash, only the hash differs.
    let unhashed = mailscope(&["stats", "--format", "json", "--no-hash", &p], b"");
    let mut u = one_json(&unhashed);
    assert_eq!(
        u["files"][0]["sha256"],
        serde_json::Value::Null,
        "{unhashed}"
    );
    u["files"][0]["sha256"] = v["files"][0]["sha256"].clone();
    assert_eq!(u, v, "{unhashed}");
    let files = v["files"].as_array().expect("files");
    let sha = hex_sha256(&std::fs::read(&path).expect("sample"));
    assert_eq!(files.len(), 1, "{run}");
    assert_eq!(
        (
            files[0]["path"].as_str(),
            files[0]["sha256"].as_str(),
            files[0]["records"].as_u64()
        ),
        (Some(p.as_str()), Some(sha.as_str()), Some(219)),
        "the file's path, SHA-256 and record count"
    );
}

/// A mixed evidence set: every sample plus a larger generated NDJSON file, read with small
/// chunks so that the work is really spread over the threads.
#[test]
fn threads_1_and_8_give_byte_identical_output() {
    let dir = tempdir();
    let mut text = String::new();
    let base = bind_auditdata();
    for i in 0..3000u32 {
        let mut r = base.clone();
        r["Id"] = serde_json::json!(format!("thr-{:05}", i % 2500)); // 500 duplicates
        r["CreationTime"] = serde_json::json!(format!(
            "2024-03-01T{:02}:{:02}:{:02}",
            i / 3600 % 24,
            i / 60 % 60,
            i % 60
        ));
        text += &compact(&r);
        text += if i % 97 == 0 { "\n{\"cut\":\n" } else { "\n" };
    }
    let big = write(dir.path(), "big.ndjson", text.as_bytes());
    let zst = write(dir.path(), "big.ndjson.zst", &zstd_frame(text.as_bytes()));
    let b = big.display().to_string();
    let z = zst.display().to_string();
    let run = |threads: &str| {
        mailscope(
            &[
                "stats",
                "-q",
                "--format",
                "json",
                "--chunk-bytes",
                "5000",
                "--threads",
                threads,
                SAMPLES,
                &b,
                &z,
            ],
            b"",
        )
    };
    let one = run("1");
    let eight = run("8");
    assert_eq!(one.code, 3, "malformed records were skipped\n{one}");
    let v = one_json(&one);
    assert!(v["duplicates"].as_u64() > Some(500), "{one}");
    assert!(
        one.stdout == eight.stdout && one.code == eight.code,
        "--threads 1 and --threads 8 differ\n--- threads 1 ---\n{one}\n--- threads 8 ---\n{eight}"
    );
}

#[test]
fn standard_input() {
    let bytes = std::fs::read(sample(
        "g-extractor-get-ual-SOFELK-or-AuditDataOnly-SHAPE.jsonl",
    ))
    .expect("sample");
    for (what, input) in [("plain", bytes.clone()), ("zstd", zstd_frame(&bytes))] {
        let run = mailscope(&["stats", "--format", "json", "-"], &input);
        assert_eq!(run.code, 0, "{what}\n{run}");
        let v = one_json(&run);
        let f = &v["files"][0];
        assert_eq!(
            (
                v["mail_items_accessed"].as_u64(),
                f["path"].as_str(),
                f["sha256"].as_str()
            ),
            (Some(1), Some("-"), Some(hex_sha256(&input).as_str())),
            "{what}: one MailItemsAccessed record from '-', hashed as received\n{run}"
        );
    }
}

#[test]
fn a_directory_is_read_recursively() {
    let dir = tempdir();
    let nested = dir.path().join("a").join("b");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::copy(
        sample("g-extractor-get-ual-SOFELK-or-AuditDataOnly-SHAPE.jsonl"),
        dir.path().join("1.jsonl"),
    )
    .expect("copy");
    std::fs::copy(
        sample("b-sync-item-parentfolder-RECONSTRUCTED.json"),
        dir.path().join("a").join("2.json"),
    )
    .expect("copy");
    std::fs::copy(sample(FULL), nested.join("3.csv")).expect("copy");
    // Hidden files are not exports.
    write(dir.path(), ".DS_Store", b"\0\0\0\x01Bud1");
    // A link back to the top makes a loop: each directory is read once.
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path(), nested.join("up")).expect("symlink");
    let d = dir.path().display().to_string();
    let run = mailscope(&["stats", "--format", "json", &d], b"");
    assert_eq!(run.code, 0, "{run}");
    let v = one_json(&run);
    let paths: Vec<String> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().unwrap_or_default().to_string())
        .collect();
    let want: Vec<String> = [
        dir.path().join("1.jsonl"),
        dir.path().join("a").join("2.json"),
        nested.join("3.csv"),
    ]
    .iter()
    .map(|p| p.display().to_string())
    .collect();
    assert_eq!(paths, want, "files read, in order\n{run}");
    assert_eq!(
        (v["records"].as_u64(), v["mail_items_accessed"].as_u64()),
        (Some(221), Some(2)),
        "{run}"
    );
}

#[test]
fn usage_errors_exit_2_with_nothing_on_stdout() {
    let p = sample(FULL).display().to_string();
    for args in [
        vec!["stats", "--bogus", &p],
        vec!["stats", "--threads", "0", &p],
        vec!["stats", "--threads", "many", &p],
        vec!["stats", "--format", "csv", &p],
        vec!["stats"],
        vec!["nonsense"],
        vec!["stats", "-", "-"],
    ] {
        let run = mailscope(&args, b"");
        assert!(
            run.code == 2 && run.stdout.is_empty() && !run.stderr.is_empty(),
            "{args:?}: expected exit 2, an explanation on stderr, nothing on stdout; got\n{run}"
        );
    }
}

#[test]
fn a_missing_input_is_fatal() {
    let run = mailscope(
        &["stats", "--format", "json", "/nonexistent/evidence.ndjson"],
        b"",
    );
    assert!(
        run.code == 1
            && run.stdout.is_empty()
            && run.stderr.contains("/nonexistent/evidence.ndjson"),
        "expected exit 1 naming the path; got\n{run}"
    );
}

#[test]
fn stdout_holds_only_the_result() {
    // Malformed records, an unrecognised file and a message trace: warnings go to stderr.
    let args: Vec<String> = [
        "a-defender-cloudappevents-otrf-FULL.jsonl",
        "ip-address-variants.txt",
        "h-get-messagetrace-v1-exportcsv-header.csv",
        FULL,
    ]
    .iter()
    .map(|n| sample(n).display().to_string())
    .collect();
    let mut argv = vec!["stats", "--format", "json"];
    argv.extend(args.iter().map(String::as_str));
    let run = mailscope(&argv, b"");
    assert_eq!(run.code, 3, "something was skipped\n{run}");
    let v = one_json(&run);
    assert_eq!(
        v["malformed_by_kind"],
        serde_json::json!({"lossy-powershell": 1}),
        "{run}"
    );
    for a in &args[..3] {
        assert!(
            run.stderr.contains(a.as_str()),
            "a warning names {a}\n{run}"
        );
    }
    // The table goes to stdout too, and only the table.
    let table = mailscope(&["stats", "--format", "table", &args[3]], b"");
    assert!(
        table.code == 0 && table.stdout.contains("Records: 219 read") && table.stderr.is_empty(),
        "{table}"
    );
}

/// Output that cannot be written (a full disk) is a fatal error with its reason on stderr,
/// also when the rows are written while later ones are still being rendered.
#[cfg(target_os = "linux")]
#[test]
fn an_output_that_cannot_be_written_is_fatal() {
    let input = sample(FULL).display().to_string();
    for command in ["contexts", "messages"] {
        let run = mailscope(
            &[command, "-q", "--format", "csv", "-o", "/dev/full", &input],
            b"",
        );
        assert!(
            run.code == 1 && run.stderr.contains("cannot write output") && run.stdout.is_empty(),
            "{command}\n{run}"
        );
    }
}

/// Evidence is never written over, however the output reaches it: the same path, a hard link,
/// a `scope` report directory that holds an input, the IOC or trace file; nor is an output
/// written into a directory named as input. Each refusal is a usage error (2) made before
/// anything is created, and the evidence keeps its bytes.
#[cfg(unix)]
#[test]
fn outputs_never_write_over_evidence() {
    let dir = tempdir();
    let evidence = std::fs::read(sample(FULL)).expect("sample");
    let ev = write(dir.path(), "ev.csv", &evidence);
    let link = dir.path().join("link.csv");
    std::fs::hard_link(&ev, &link).expect("hard link");
    let iocs = write(dir.path(), "iocs.txt", b"203.0.113.66\n");
    let in_dir = dir.path().join("exports");
    std::fs::create_dir_all(&in_dir).expect("mkdir");
    let ev2 = write(&in_dir, "messages.csv", &evidence);
    let p = |p: &std::path::Path| p.display().to_string();
    let (ev_s, link_s, iocs_s, in_dir_s, ev2_s) = (p(&ev), p(&link), p(&iocs), p(&in_dir), p(&ev2));
    let inside = p(&in_dir.join("out.csv"));
    // A message trace saved as messages.csv, in the directory the report goes to.
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).expect("mkdir");
    let trace_text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo/message-trace.csv"
    ))
    .expect("demo trace");
    let trace = write(&traces, "messages.csv", &trace_text);
    let (trace_s, traces_s) = (p(&trace), p(&traces));
    let through_missing = p(&dir.path().join("not-yet").join("..").join("exports"));
    // A dangling link whose target would be made inside the input directory.
    let dangling = dir.path().join("dangling.csv");
    std::os::unix::fs::symlink(in_dir.join("made.csv"), &dangling).expect("symlink");
    let dangling_s = p(&dangling);
    let cases: Vec<Vec<&str>> = vec![
        vec!["stats", &ev_s, "-o", &ev_s],
        vec!["stats", &ev_s, "-o", &link_s],
        vec!["stats", &ev_s, "--format", "csv", "-o", &ev_s],
        vec!["sessions", &ev_s, "-o", &link_s],
        vec!["messages", &ev_s, "--ioc", &iocs_s, "-o", &iocs_s],
        vec!["lookup", &ev_s, "--ids", &iocs_s, "-o", &iocs_s],
        vec!["contexts", &in_dir_s, "-o", &inside],
        vec!["scope", &ev2_s, "--ip", "203.0.113.66", "--out", &in_dir_s],
        vec![
            "scope",
            &in_dir_s,
            "--ip",
            "203.0.113.66",
            "--out",
            &in_dir_s,
        ],
        vec![
            "scope", &ev_s, "--ioc", &iocs_s, "--trace", &trace_s, "--out", &traces_s,
        ],
        // Through a directory that does not exist yet, which the report would create.
        vec![
            "scope",
            &ev2_s,
            "--ip",
            "203.0.113.66",
            "--out",
            &through_missing,
        ],
        vec!["contexts", &in_dir_s, "-o", &dangling_s],
    ];
    for args in cases {
        let run = mailscope(&args, b"");
        assert_eq!(run.code, 2, "{args:?}\n{run}");
        assert!(run.stdout.is_empty(), "{args:?}\n{run}");
        assert_eq!(
            std::fs::read(&ev).unwrap(),
            evidence,
            "{args:?} changed the evidence"
        );
        assert_eq!(
            std::fs::read(&ev2).unwrap(),
            evidence,
            "{args:?} changed the evidence"
        );
        assert_eq!(std::fs::read(&iocs).unwrap(), b"203.0.113.66\n", "{args:?}");
        assert_eq!(std::fs::read(&trace).unwrap(), trace_text, "{args:?}");
        assert!(!in_dir.join("out.csv").exists() && !in_dir.join("summary.json").exists());
        assert!(!in_dir.join("made.csv").exists(), "{args:?}");
    }
    // Evidence given on standard input, redirected from the file `-o` names.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_mailscope"))
        .args(["sessions", "-", "-o", &ev_s])
        .stdin(std::fs::File::open(&ev).expect("open"))
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert_eq!(
        std::fs::read(&ev).unwrap(),
        evidence,
        "standard input's file changed"
    );
    // An output that cannot be created is fatal (1), not a usage error.
    let missing = p(&dir.path().join("no").join("such").join("out.csv"));
    for args in [
        vec!["stats", &ev_s, "-o", &missing],
        vec!["contexts", &ev_s, "-o", &missing],
        vec!["generate", "--size", "10KB", "-o", &missing],
        vec![
            "scope",
            &ev_s,
            "--ip",
            "203.0.113.66",
            "--out",
            &p(&iocs.join("report")),
        ],
    ] {
        let run = mailscope(&args, b"");
        assert_eq!(run.code, 1, "{args:?}\n{run}");
    }
}
