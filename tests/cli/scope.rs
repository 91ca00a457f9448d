//! `mailscope scope` end to end: the demo tenant's exact exposure, byte-identical reruns, and
//! a headless-browser check that evidence strings cannot inject markup into report.html.

use crate::util::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo/");

fn demo(p: &str) -> String {
    format!("{DEMO}{p}")
}

fn run_scope(out: &Path, extra: &[&str]) -> Run {
    let ev = demo("evidence");
    let iocs = demo("attacker-iocs.txt");
    let trace = demo("message-trace.csv");
    let out = out.to_str().unwrap();
    let mut args = vec![
        "scope",
        ev.as_str(),
        "--ioc",
        iocs.as_str(),
        "--trace",
        trace.as_str(),
        "--out",
        out,
        "-q",
    ];
    args.extend_from_slice(extra);
    let run = mailscope(&args, b"");
    assert_eq!(run.code, 0, "{run}");
    run
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn csv_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|row| {
            header
                .iter()
                .cloned()
                .zip(row.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn msg(n: u32) -> String {
    format!("<dm6pr01mb{n:04}a1b2c3d4e5f6@dm6pr01mb{n:04}.namprd01.prod.outlook.com>")
}

#[test]
fn the_demo_tenant_exposure_is_exactly_what_the_rules_say() {
    let dir = tempdir();
    let run = run_scope(dir.path(), &["--no-timestamp"]);
    assert_eq!(
        run.stdout,
        "mailbox,level,probably_entire_mailbox,attacker_records,messages,folders,unaudited_windows,\
         unaudited_windows_outside\r\n\
         ceo@contoso.example,mailbox,true,9,8,2,1,0\r\n"
    );
    // Messages: the attacker's binds (1-7) plus 14, read in an attacker session from an
    // address no indicator names (added by the session pivot). The owner's reads (8-13) and
    // the CFO's are not exposure; message 1, read by both, is.
    let msgs = csv_rows(&read(dir.path(), "messages.csv"));
    let got: BTreeSet<String> = msgs
        .iter()
        .map(|m| m["internet_message_id"].clone())
        .collect();
    let want: BTreeSet<String> = [1, 2, 3, 4, 5, 6, 7, 14].into_iter().map(msg).collect();
    assert_eq!(got, want);
    assert!(msgs.iter().all(|m| m["mailbox"] == "ceo@contoso.example"));
    let m1 = msgs
        .iter()
        .find(|m| m["internet_message_id"] == msg(1))
        .unwrap();
    assert_eq!(
        m1["accesses"], "2",
        "02:15 kept, 02:17 collapsed, 03:30 kept"
    );
    assert_eq!(m1["sender"], "sender1@partner.example");
    assert_eq!(m1["subject"], "Q2 acquisition: term sheet");
    assert_eq!(m1["received"], "2024-05-05T08:01:00Z");
    let m5 = msgs
        .iter()
        .find(|m| m["internet_message_id"] == msg(5))
        .unwrap();
    assert_eq!(
        (m5["sender"].as_str(), m5["subject"].as_str()),
        ("", ""),
        "5 is not in the trace"
    );
    // Folders: both sync shapes, in the attacker's second session.
    let folders = csv_rows(&read(dir.path(), "folders.csv"));
    let f: Vec<(&str, &str, &str)> = folders
        .iter()
        .map(|r| {
            (
                r["folder"].as_str(),
                r["synced_at"].as_str(),
                r["client_ip"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        f,
        [
            (
                "\\Inbox\\Finance",
                "2024-05-06T04:05:00Z",
                "2001:db8:bad::66"
            ),
            ("\\Sent Items", "2024-05-06T04:06:00Z", "2001:db8:bad::66"),
        ]
    );
    // The unaudited window of the throttled record.
    assert_eq!(
        read(dir.path(), "unaudited.csv"),
        "mailbox,start,end,throttled_record_ids,overlaps_attacker_period\r\n\
         ceo@contoso.example,2024-05-06T05:00:00Z,2024-05-07T05:00:00Z,7e57da7a-0000-4000-8000-000000000011,true\r\n"
    );
    // The summary: inputs with hashes, level and reasons, trace coverage, pivots.
    let s: Value = serde_json::from_str(&read(dir.path(), "summary.json")).unwrap();
    assert!(s.get("generated_at").is_none());
    let inputs = s["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    for i in inputs {
        let bytes = std::fs::read(i["path"].as_str().unwrap()).unwrap();
        assert_eq!(
            i["sha256"].as_str().unwrap(),
            mailscope::input::decode::sha256_hex(&bytes)
        );
    }
    assert_eq!(
        s["evidence"]["duplicates"],
        json!(7),
        "overlapping exports repeat records"
    );
    let mb = &s["mailboxes"][0];
    assert_eq!(
        (
            mb["level"].as_str(),
            mb["probably_entire_mailbox"].as_bool()
        ),
        (Some("mailbox"), Some(true))
    );
    let rules: Vec<&str> = mb["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["throttled", "sync", "sync", "bind"]);
    assert_eq!(s["trace"]["messages_matched"], json!(7));
    assert_eq!(s["trace"]["messages_total"], json!(8));
    assert_eq!(
        s["totals"]["mailboxes"],
        json!(1),
        "the CFO's mailbox is not in scope"
    );
    let pivots = s["session_pivots"].as_array().unwrap();
    assert_eq!(pivots.len(), 2);
    assert_eq!(pivots[1]["records_added"], json!(1), "{pivots:?}");
    assert_eq!(
        pivots[1]["client_ips"],
        json!(["192.0.2.77", "2001:db8:bad::66", "203.0.113.66"])
    );
    assert_eq!(s["rules"].as_array().unwrap().len(), 7);
    assert_eq!(s["limits"].as_array().unwrap().len(), 5);
}

#[test]
fn without_the_session_pivot_only_indicator_matches_count() {
    let dir = tempdir();
    run_scope(dir.path(), &["--no-timestamp", "--no-expand-sessions"]);
    let msgs = csv_rows(&read(dir.path(), "messages.csv"));
    assert!(!msgs.iter().any(|m| m["internet_message_id"] == msg(14)));
    assert_eq!(msgs.len(), 7);
    let s: Value = serde_json::from_str(&read(dir.path(), "summary.json")).unwrap();
    assert_eq!(s["session_pivots"], json!([]));
}

#[test]
fn reruns_are_byte_identical_and_only_the_labelled_time_varies() {
    let (a, b, c) = (tempdir(), tempdir(), tempdir());
    run_scope(a.path(), &["--no-timestamp", "--threads", "1"]);
    run_scope(
        b.path(),
        &["--no-timestamp", "--threads", "8", "--chunk-bytes", "512"],
    );
    run_scope(c.path(), &[]);
    for name in [
        "summary.json",
        "messages.csv",
        "folders.csv",
        "unaudited.csv",
        "report.html",
    ] {
        assert_eq!(
            read(a.path(), name),
            read(b.path(), name),
            "{name} differs between runs"
        );
    }
    let stamped: Value = serde_json::from_str(&read(c.path(), "summary.json")).unwrap();
    assert!(
        stamped["generated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let mut unstamped = stamped.clone();
    unstamped.as_object_mut().unwrap().remove("generated_at");
    let plain: Value = serde_json::from_str(&read(a.path(), "summary.json")).unwrap();
    assert_eq!(unstamped, plain);
    let html = read(c.path(), "report.html");
    assert!(html.contains("; generated at "));
}

/// `--no-hash` leaves each input's SHA-256 out (null, "not computed") and changes nothing else.
#[test]
fn without_hashes_only_the_hashes_differ() {
    let (a, b) = (tempdir(), tempdir());
    run_scope(a.path(), &["--no-timestamp"]);
    run_scope(b.path(), &["--no-timestamp", "--no-hash"]);
    for name in ["messages.csv", "folders.csv", "unaudited.csv"] {
        assert_eq!(read(a.path(), name), read(b.path(), name), "{name}");
    }
    let hashed: Value = serde_json::from_str(&read(a.path(), "summary.json")).unwrap();
    let mut unhashed: Value = serde_json::from_str(&read(b.path(), "summary.json")).unwrap();
    let inputs = unhashed["inputs"].as_array_mut().unwrap();
    assert_eq!(inputs.len(), 3);
    for (i, h) in inputs.iter_mut().zip(hashed["inputs"].as_array().unwrap()) {
        assert_eq!(i["sha256"], Value::Null, "{i}");
        i["sha256"] = h["sha256"].clone();
    }
    assert_eq!(unhashed, hashed);
    let html = read(b.path(), "report.html");
    assert_eq!(html.matches("not computed").count(), 3);
    assert!(!read(a.path(), "report.html").contains("not computed"));
}

#[test]
fn scope_needs_an_indicator_and_refuses_access_filters() {
    let ev = demo("evidence");
    let dir = tempdir();
    let out = dir.path().to_str().unwrap();
    let run = mailscope(&["scope", &ev, "--out", out], b"");
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("indicator"), "{run}");
    let run = mailscope(
        &[
            "scope", &ev, "--ip", "1.2.3.4", "--access", "sync", "--out", out,
        ],
        b"",
    );
    assert_eq!(run.code, 2, "{run}");
}

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn headless(browser: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    let profile = tempdir();
    std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("running chromium")
}

#[test]
fn report_html_shows_injected_markup_as_text_and_runs_nothing() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (.ci/run does)"
        );
        eprintln!("skipped: no chromium on this machine (.ci/run installs it)");
        return;
    };
    let dir = tempdir();
    let img = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">";
    let script = "<script>document.body.setAttribute('data-pwned','script')</script>";
    let svg = "<svg onload=\"document.body.setAttribute('data-pwned','svg')\"></svg>";
    let mut bind = bind_auditdata();
    bind["Id"] = json!("11111111-0000-4000-8000-000000000001");
    bind["ClientIPAddress"] = json!("203.0.113.66");
    bind["ClientInfoString"] = json!(format!("Client=REST;{script}"));
    bind["Folders"][0]["Path"] = json!(img);
    let mut sync = bind_auditdata();
    sync["Id"] = json!("11111111-0000-4000-8000-000000000002");
    sync["ClientIPAddress"] = json!("203.0.113.66");
    sync["OperationProperties"][0]["Value"] = json!("Sync");
    sync.as_object_mut().unwrap().remove("Folders");
    sync["Item"] = json!({"Id": "x", "ParentFolder": {"Id": "x", "Path": svg}});
    let ev = write(
        dir.path(),
        "evil.ndjson",
        format!("{}\n{}\n", compact(&bind), compact(&sync)).as_bytes(),
    );
    let trace = write(
        dir.path(),
        "trace.csv",
        format!(
            "Received,SenderAddress,RecipientAddress,Subject,Status,MessageId\n\
             2020-04-07T20:00:00Z,a@b.example,c@d.example,\"{}\",Delivered,<71ceaeec-6dc3-4452-839f-6db34dd95f95@DB5EUR01BG102.eop-EUR01.prod.protection.outlook.com>\n",
            script.replace('"', "\"\"")
        )
        .as_bytes(),
    );
    let out = dir.path().join("report");
    let run = mailscope(
        &[
            "scope",
            ev.to_str().unwrap(),
            "--ip",
            "203.0.113.66",
            "--trace",
            trace.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-timestamp",
            "-q",
        ],
        b"",
    );
    assert_eq!(run.code, 0, "{run}");
    let page = out.join("report.html");
    let html = read(&out, "report.html");
    assert!(
        !html.contains("<script"),
        "a raw <script> tag in the report"
    );
    assert!(!html.contains("<img"), "a raw <img> tag in the report");

    let dom = headless(&browser, &["--dump-dom"], &page);
    assert!(
        dom.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("</table>"),
        "the report did not render:\n{dom}"
    );
    // Had any payload run, <body> would carry data-pwned="...".
    let body = dom
        .find("<body")
        .map(|i| &dom[i..i + dom[i..].find('>').unwrap_or(0)])
        .unwrap_or("");
    assert_eq!(body, "<body", "injected markup ran:\n{dom}");
    assert!(
        !dom.contains("data-pwned=\""),
        "injected markup ran:\n{dom}"
    );
    assert!(
        !dom.contains("<script") && !dom.contains("<img"),
        "injected elements exist:\n{dom}"
    );
    // Shown as text: the serialized DOM escapes it again.
    assert!(
        dom.contains("&lt;img src=x onerror="),
        "the folder name is not shown as text"
    );
    assert!(
        dom.contains("&lt;script&gt;document.body"),
        "the client string is not shown as text"
    );
    assert!(
        dom.contains("&lt;svg onload="),
        "the synced folder is not shown as text"
    );

    let shot = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/report-injection.png"
    ));
    let _ = std::fs::remove_file(&shot);
    let r = headless(
        &browser,
        &[
            "--window-size=1280,1600",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let png = std::fs::read(&shot).expect("the screenshot was saved");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "not a screenshot"
    );
}

fn scope_of(lines: &[String], extra: &[&str]) -> (tempfile::TempDir, Value) {
    let dir = tempdir();
    let ev = write(dir.path(), "evidence.jsonl", lines.concat().as_bytes());
    let out = dir.path().join("report");
    let mut args = vec![
        "scope",
        ev.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
        "--no-timestamp",
    ];
    args.extend_from_slice(extra);
    let run = mailscope(&args, b"");
    assert_eq!(run.code, 0, "{run}");
    let summary: Value = serde_json::from_str(&read(&out, "summary.json")).unwrap();
    (dir, summary)
}

/// The owner's throttled read at `owner`, then the attacker's one read at `attacker`.
fn owner_throttled_then_attacker(owner: &str, attacker: &str) -> [String; 2] {
    [
        bind_line(owner, 1, "10.0.0.1", "own", true, "<o@x>"),
        bind_line(attacker, 2, "203.0.113.66", "att", false, "<a@x>"),
    ]
}

/// `base` followed by `extra`.
fn args_with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

fn mailbox_level(summary: &Value) -> (String, String, String) {
    let m = &summary["mailboxes"][0];
    let p = &m["attacker_period"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (text(&m["level"]), text(&p["start"]), text(&p["end"]))
}

#[test]
fn time_bounds_that_leave_out_no_record_change_nothing() {
    // The owner's throttled record on 2 May opens a window that ends before the attacker's only
    // record on 5 May: the attacker read one message, not the whole mailbox.
    let lines = owner_throttled_then_attacker("2024-05-02T00:00:00", "2024-05-05T12:00:00");
    let ip = ["--ip", "203.0.113.66"];
    let (_d, plain) = scope_of(&lines, &ip);
    let (level, start, end) = mailbox_level(&plain);
    assert_eq!(level, "messages", "{plain:#}");
    assert_eq!(
        (start.as_str(), end.as_str()),
        ("2024-05-05T12:00:00Z", "2024-05-05T12:00:00Z")
    );
    for bounds in [
        &["--from", "2024-05-01"][..],
        &["--to", "2024-05-30"],
        &["--from", "2024-05-01", "--to", "2024-05-30"],
    ] {
        let args = args_with(&ip, bounds);
        let (_d, bounded) = scope_of(&lines, &args);
        assert_eq!(
            mailbox_level(&bounded),
            mailbox_level(&plain),
            "{bounds:?}: {bounded:#}"
        );
        assert_eq!(bounded["mailboxes"], plain["mailboxes"], "{bounds:?}");
    }
}

#[test]
fn an_unaudited_window_is_reported_whole_with_every_record_that_opened_it() {
    // Three throttled records chain into one window from 1 May 00:00 to 3 May 20:00; the
    // attacker reads on 3 May, inside the part the last record opened.
    let lines = [
        bind_line("2024-05-01T00:00:00", 1, "10.0.0.1", "own", true, "<o1@x>"),
        bind_line("2024-05-01T20:00:00", 2, "10.0.0.1", "own", true, "<o2@x>"),
        bind_line("2024-05-02T20:00:00", 3, "10.0.0.1", "own", true, "<o3@x>"),
        bind_line(
            "2024-05-03T10:00:00",
            4,
            "203.0.113.66",
            "att",
            false,
            "<a@x>",
        ),
    ];
    let (dir, summary) = scope_of(&lines, &["--ip", "203.0.113.66"]);
    assert_eq!(mailbox_level(&summary).0, "mailbox");
    let windows = csv_rows(&read(&dir.path().join("report"), "unaudited.csv"));
    assert_eq!(windows.len(), 1, "{windows:?}");
    let w = &windows[0];
    assert_eq!(w["start"], "2024-05-01T00:00:00Z", "{w:?}");
    assert_eq!(w["end"], "2024-05-03T20:00:00Z", "{w:?}");
    assert_eq!(w["throttled_record_ids"].split(';').count(), 3, "{w:?}");
}

/// The attacker reads at 10:00 and 10:20; the owner's read at 10:23 is throttled (the mailbox
/// passed 1,000 records in 24 hours), so the attacker's binds after 10:20 would leave no record.
fn throttled_after_the_attacker() -> [String; 3] {
    [
        bind_line(
            "2024-05-03T10:00:00",
            1,
            "203.0.113.66",
            "att",
            false,
            "<a1@x>",
        ),
        bind_line(
            "2024-05-03T10:20:00",
            2,
            "203.0.113.66",
            "att",
            false,
            "<a2@x>",
        ),
        bind_line("2024-05-03T10:23:00", 3, "10.0.0.1", "own", true, "<o@x>"),
    ]
}

#[test]
fn a_window_after_the_attackers_last_record_is_a_caution_until_the_compromise_is_given() {
    let lines = throttled_after_the_attacker();
    let ip = ["--ip", "203.0.113.66"];
    let (dir, plain) = scope_of(&lines, &ip);
    let m = &plain["mailboxes"][0];
    // The level follows the rule: the window does not overlap 10:00..10:20.
    assert_eq!(m["level"], "messages", "{plain:#}");
    assert_eq!(m["unaudited_windows"], 0);
    assert_eq!(m["unaudited_windows_outside"], 1);
    assert_eq!(m["access_period"], m["attacker_period"]);
    let cautions = m["cautions"].as_array().unwrap();
    assert_eq!(cautions.len(), 1, "{m:#}");
    assert_eq!(cautions[0]["rule"], "throttled-outside");
    let detail = cautions[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("3 minutes after the end of the attacker's period (2024-05-03T10:20:00Z)"),
        "{detail}"
    );
    assert_eq!(
        cautions[0]["record_ids"],
        json!(["00000000-0000-0000-0000-000000000003"])
    );
    assert_eq!(plain["totals"]["unaudited_windows_outside"], 1);
    // Listed in unaudited.csv and report.html as not overlapping.
    let report = dir.path().join("report");
    assert_eq!(
        read(&report, "unaudited.csv"),
        "mailbox,start,end,throttled_record_ids,overlaps_attacker_period\r\n\
         ceo@contoso.example,2024-05-03T10:23:00Z,2024-05-04T10:23:00Z,\
         00000000-0000-0000-0000-000000000003,false\r\n"
    );
    let html = read(&report, "report.html");
    assert!(html.contains("<li class=\"caution\"><b>throttled-outside</b>"));
    assert!(html.contains("unaudited, outside the attacker&#39;s period"));

    // Sign-in logs show the attacker's sessions were revoked at 11:00: the window counts.
    for to in ["2024-05-03T11:00:00Z", "2024-05-03"] {
        let args = args_with(&ip, &["--compromised-to", to]);
        let (dir, given) = scope_of(&lines, &args);
        let m = &given["mailboxes"][0];
        assert_eq!(m["level"], "mailbox", "{to}: {given:#}");
        assert_eq!(m["probably_entire_mailbox"], true);
        assert_eq!(m["unaudited_windows"], 1);
        assert_eq!(m["unaudited_windows_outside"], 0);
        assert_eq!(m["cautions"], json!([]));
        assert_eq!(m["attacker_period"]["end"], "2024-05-03T10:20:00Z");
        let end = if to.len() == 10 {
            "2024-05-03T23:59:59.999999999Z"
        } else {
            "2024-05-03T11:00:00Z"
        };
        assert_eq!(m["access_period"]["end"], end, "{to}");
        assert_eq!(given["compromised"]["to"], end);
        let throttled = &m["reasons"][0];
        assert_eq!(throttled["rule"], "throttled");
        assert!(
            throttled["detail"]
                .as_str()
                .unwrap()
                .contains("only as --compromised-from/--compromised-to extend it"),
            "{throttled:#}"
        );
        assert!(read(&dir.path().join("report"), "unaudited.csv").ends_with(",true\r\n"));
    }
    // A compromise that ended before the throttle changes nothing.
    let args = args_with(&ip, &["--compromised-to", "2024-05-03T10:22:00Z"]);
    let (_d, early) = scope_of(&lines, &args);
    assert_eq!(early["mailboxes"][0]["level"], "messages");
    assert_eq!(early["mailboxes"][0]["unaudited_windows_outside"], 1);
}

#[test]
fn a_window_before_the_attackers_first_record_counts_from_the_compromise_start() {
    // The owner's throttle on 1 May blinds binds until 2 May 08:00; the attacker's first
    // record is on 2 May 09:00, their first sign-in on 1 May 22:00.
    let lines = owner_throttled_then_attacker("2024-05-01T08:00:00", "2024-05-02T09:00:00");
    let ip = ["--ip", "203.0.113.66"];
    let (_d, plain) = scope_of(&lines, &ip);
    let m = &plain["mailboxes"][0];
    assert_eq!(m["level"], "messages", "{plain:#}");
    let detail = m["cautions"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 hour before the start of the attacker's period"),
        "{detail}"
    );
    let args = args_with(&ip, &["--compromised-from", "2024-05-01T22:00:00Z"]);
    let (_d, given) = scope_of(&lines, &args);
    assert_eq!(given["mailboxes"][0]["level"], "mailbox", "{given:#}");
    assert_eq!(
        given["mailboxes"][0]["access_period"]["start"],
        "2024-05-01T22:00:00Z"
    );
}

#[test]
fn cautions_go_to_stderr_and_a_reversed_compromise_is_a_usage_error() {
    let dir = tempdir();
    let ev = write(
        dir.path(),
        "evidence.jsonl",
        throttled_after_the_attacker().concat().as_bytes(),
    );
    let out = dir.path().join("report");
    let base = [
        "scope",
        ev.to_str().unwrap(),
        "--ip",
        "203.0.113.66",
        "--out",
        out.to_str().unwrap(),
    ];
    let run = mailscope(&base, b"");
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains(
            "mailscope: caution: ceo@contoso.example: bind activity was not audited from \
             2024-05-03T10:23:00Z to 2024-05-04T10:23:00Z, 3 minutes after"
        ),
        "{run}"
    );
    assert!(!run.stdout.contains("caution"), "{run}");
    assert!(
        run.stdout
            .ends_with("ceo@contoso.example,messages,false,2,2,0,0,1\r\n"),
        "the window outside the period is counted on stdout: {run}"
    );
    let mut args = base.to_vec();
    args.extend([
        "--compromised-from",
        "2024-05-04",
        "--compromised-to",
        "2024-05-03",
    ]);
    let run = mailscope(&args, b"");
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("--compromised-from is after --compromised-to"),
        "{run}"
    );
}

#[test]
fn session_expansion_tells_session_ids_apart_without_regard_to_case() {
    // The filters match session ids without regard to case; the pivot must add the same records.
    let lines = [
        bind_line(
            "2024-05-01T10:00:00",
            1,
            "203.0.113.66",
            "ABCDEF01-0000-0000-0000-000000000001",
            false,
            "<a@x>",
        ),
        bind_line(
            "2024-05-01T10:30:00",
            2,
            "192.0.2.77",
            "abcdef01-0000-0000-0000-000000000001",
            false,
            "<b@x>",
        ),
        bind_line(
            "2024-05-01T11:00:00",
            3,
            "192.0.2.77",
            "abcdef01-0000-0000-0000-000000000002",
            false,
            "<c@x>",
        ),
    ];
    let (dir, summary) = scope_of(&lines, &["--ip", "203.0.113.66"]);
    let got: BTreeSet<String> = csv_rows(&read(&dir.path().join("report"), "messages.csv"))
        .iter()
        .map(|m| m["internet_message_id"].clone())
        .collect();
    assert_eq!(
        got,
        BTreeSet::from(["<a@x>".to_string(), "<b@x>".to_string()]),
        "{summary:#}"
    );
}

#[test]
fn the_report_names_the_accounts_without_mail_items_accessed() {
    // The CFO logged in from the attacker's address but has no MailItemsAccessed record at all:
    // maybe not audited, which the report must say (forensics.md, "Limits").
    let mut login = bind_auditdata();
    login["Operation"] = json!("MailboxLogin");
    login["Id"] = json!("11111111-0000-0000-0000-000000000001");
    login["UserId"] = json!("cfo@contoso.example");
    login["MailboxOwnerUPN"] = json!("cfo@contoso.example");
    login["ClientIPAddress"] = json!("203.0.113.66");
    let lines = [
        bind_line(
            "2024-05-01T10:00:00",
            1,
            "203.0.113.66",
            "att",
            false,
            "<a@x>",
        ),
        compact(&login) + "\n",
    ];
    let (dir, summary) = scope_of(&lines, &["--ip", "203.0.113.66"]);
    assert_eq!(
        summary["accounts_without_mail_items_accessed"],
        json!(["cfo@contoso.example"]),
        "{summary:#}"
    );
    let html = read(&dir.path().join("report"), "report.html");
    assert!(
        html.contains("1 account(s) in the evidence have no MailItemsAccessed record")
            && html.contains("cfo@contoso.example"),
        "report.html does not name the account"
    );
}

#[test]
fn a_date_order_the_trace_contradicts_and_unreadable_dates_are_warned_of() {
    let dir = tempdir();
    // A second trace written month first (5/13 can be read no other way), one date garbled.
    let us = write(
        dir.path(),
        "us-trace.csv",
        b"MessageId,Received,SenderAddress,RecipientAddress,Subject\n\
          <m1@x.example>,5/13/2024 8:00:00 AM,a@x.example,b@x.example,S1\n\
          <m2@x.example>,13th of May,a@x.example,b@x.example,S2\n",
    );
    let out = dir.path().join("report");
    let run = run_scope(
        &out,
        &["--trace", us.to_str().unwrap(), "--date-order", "dmy"],
    );
    let us = us.to_str().unwrap();
    let warned: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("mailscope: warning: --trace"))
        .collect();
    assert_eq!(warned.len(), 2, "{run}");
    assert!(
        warned[0].contains(us) && warned[0].contains("'5/13/2024 8:00:00 AM'"),
        "{run}"
    );
    assert!(
        warned[1].contains(us) && warned[1].contains("'13th of May'"),
        "{run}"
    );
    let s: Value = serde_json::from_str(&read(&out, "summary.json")).unwrap();
    let files = &s["trace"]["files"];
    // The demo's own trace shows no order, so dmy contradicts nothing there.
    assert_eq!(files[0]["contradicting_date"], Value::Null);
    assert_eq!(files[0]["unreadable_dates"], json!(0));
    assert_eq!(files[1]["date_order"], json!("dmy (given)"));
    assert_eq!(
        files[1]["contradicting_date"],
        json!("5/13/2024 8:00:00 AM")
    );
    assert_eq!(files[1]["unreadable_dates"], json!(1));
    assert_eq!(files[1]["unreadable_date_example"], json!("13th of May"));
}
