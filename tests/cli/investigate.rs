//! The investigation commands as a user runs them: byte-identical output whatever the thread
//! count, the demo tenant's answers, and an independent cross-check of `contexts` and the
//! unique-message counts against a DuckDB SQL computation over the same NDJSON.

use crate::util::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo/");

fn demo(p: &str) -> String {
    format!("{DEMO}{p}")
}

/// A tiny deterministic generator (splitmix64), so the test data is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `2024-05-06T00:00:00` plus `secs`.
fn clock(secs: u64) -> String {
    format!(
        "2024-05-{:02}T{:02}:{:02}:{:02}",
        6 + secs / 86_400,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// Bind records in the real AuditData shape, with repeats around the one-hour boundary, the
/// same messages in several contexts, sync records, other operations and duplicate records.
fn synthetic_ndjson(n: usize) -> String {
    let mut rng = Rng(42);
    let base = bind_auditdata();
    let mailboxes = [
        "ceo@contoso.example",
        "cfo@contoso.example",
        "ops@contoso.example",
    ];
    let ips = [
        "203.0.113.66",
        "198.51.100.10",
        "2001:db8::66",
        "198.51.100.20",
    ];
    let clients = [
        "Client=REST;;",
        "Client=MSExchangeRPC",
        "Client=OWA;Action=ViaProxy",
    ];
    let folders = ["\\Inbox", "\\Sent Items", "\\Inbox\\Finance"];
    let mut lines = Vec::new();
    let mut minute = 0u64;
    for i in 0..n {
        minute += rng.below(25); // gaps that straddle the 60-minute window
        let mut v = base.clone();
        let session = rng.below(5);
        let mailbox = mailboxes[rng.below(3) as usize];
        let user = if rng.below(6) == 0 {
            "assistant@contoso.example"
        } else {
            mailbox
        };
        v["Id"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
        v["CreationTime"] = json!(clock(minute * 60 + rng.below(60)));
        v["MailboxOwnerUPN"] = json!(mailbox);
        v["UserId"] = json!(user);
        v["LogonType"] = json!(if user == mailbox { 0 } else { 2 });
        v["ClientIPAddress"] = json!(ips[rng.below(4) as usize]);
        v["ClientInfoString"] = json!(clients[(session % 3) as usize]);
        v["SessionId"] = json!(format!("5e550000-0000-4000-8000-{session:012}"));
        v["AppId"] = json!(format!("a0000000-0000-4000-8000-{:012}", session % 2));
        v["ClientAppId"] = json!(format!("c0000000-0000-4000-8000-{:012}", session % 3));
        if rng.below(10) == 0 {
            v["OperationProperties"][0]["Value"] = json!("Sync");
            v.as_object_mut().unwrap().remove("Folders");
            v["Item"] = json!({"Id": "F", "ParentFolder": {"Id": "F", "Path": folders[rng.below(3) as usize]}});
        } else {
            let nfold = 1 + rng.below(2);
            let mut fs = Vec::new();
            for f in 0..nfold {
                let items: Vec<Value> = (0..1 + rng.below(4))
                    .map(|_| {
                        let m = rng.below(30);
                        json!({"InternetMessageId": format!("<M{m}.{mailbox}@Example.COM>"), "SizeInBytes": 1000 + m * 17})
                    })
                    .collect();
                fs.push(json!({"Id": format!("F{f}"), "Path": folders[((f + session) % 3) as usize], "FolderItems": items}));
            }
            let listed: u64 = fs
                .iter()
                .map(|f| f["FolderItems"].as_array().unwrap().len() as u64)
                .sum();
            v["Folders"] = json!(fs);
            v["OperationCount"] = json!(listed + rng.below(3));
        }
        let line = compact(&v);
        lines.push(line.clone());
        if v.get("Folders").is_some() && rng.below(12) == 0 {
            // The same reads again at the edge of the window: 59m59s and 60m00s after the
            // first collapse into it, 60m01s is a new access, and 60m00s after that collapses.
            let start = minute * 60
                + v["CreationTime"].as_str().unwrap()[17..19]
                    .parse::<u64>()
                    .unwrap();
            for (j, later) in [3599u64, 3600, 3601, 7201].into_iter().enumerate() {
                let mut again = v.clone();
                again["Id"] = json!(format!("00000000-0000-4000-9000-{:012}", i * 10 + j));
                again["CreationTime"] = json!(clock(start + later));
                lines.push(compact(&again));
            }
        }
        if rng.below(20) == 0 {
            lines.push(line); // the same record again, as overlapping exports repeat it
        }
        if rng.below(8) == 0 {
            lines.push(compact(&json!({"CreationTime": v["CreationTime"], "Id": format!("99999999-0000-4000-8000-{i:012}"),
                "Operation": "MailboxLogin", "UserId": user, "RecordType": 2})));
        }
    }
    lines.join("\n") + "\n"
}

fn stdout_of(args: &[&str]) -> String {
    let run = mailscope(args, b"");
    assert_eq!(run.code, 0, "mailscope {args:?}\n{run}");
    run.stdout
}

#[test]
fn every_command_gives_byte_identical_output_with_1_and_8_threads() {
    let dir = tempdir();
    let big = write(
        dir.path(),
        "synthetic.ndjson",
        synthetic_ndjson(1500).as_bytes(),
    );
    let big = big.to_str().unwrap().to_string();
    let evidence = demo("evidence");
    let commands: Vec<Vec<&str>> = vec![
        vec!["stats", "--format", "json"],
        vec!["contexts", "--format", "csv"],
        vec!["contexts", "--by", "session,ip", "--format", "json"],
        vec!["sessions", "--format", "csv"],
        vec!["messages", "--format", "ndjson"],
        vec!["syncs", "--format", "csv"],
        vec!["throttled", "--format", "csv"],
        vec!["throttled", "--records", "--format", "csv"],
        vec![
            "lookup",
            "--id",
            "<M3.ceo@contoso.example@example.com>",
            "--id",
            "m1.cfo@contoso.example@EXAMPLE.com",
            "--format",
            "csv",
        ],
    ];
    for cmd in commands {
        let mut one = cmd.clone();
        one.extend([
            "--threads",
            "1",
            "--chunk-bytes",
            "4096",
            evidence.as_str(),
            big.as_str(),
        ]);
        let mut eight = cmd.clone();
        eight.extend(["--threads", "8", evidence.as_str(), big.as_str()]);
        let (a, b) = (stdout_of(&one), stdout_of(&eight));
        assert!(a.lines().count() > 1, "{cmd:?} printed nothing:\n{a}");
        assert_eq!(a, b, "{cmd:?}: --threads 1 and --threads 8 differ");
    }
}

/// `lookup` lists every access to the messages it is given, with the one-hour rule applied
/// as `messages` applies it: per (mailbox, message), its rows are `messages`' accesses_raw,
/// and those not marked as a repeat within the hour are its accesses. On the synthetic
/// export, whose repeats straddle the hour, and the demo tenant; `lookup` reads only the
/// records that list a wanted message.
#[test]
fn lookup_rows_are_the_accesses_messages_counts() {
    let dir = tempdir();
    let big = write(
        dir.path(),
        "synthetic.ndjson",
        synthetic_ndjson(600).as_bytes(),
    );
    let (big, evidence) = (big.to_str().unwrap().to_string(), demo("evidence"));
    let messages = csv_rows(&stdout_of(&[
        "messages", &big, &evidence, "--format", "csv",
    ]));
    let ids: Vec<&str> = messages
        .iter()
        .map(|m| m["internet_message_id"].as_str())
        .step_by(3)
        .collect();
    let mut args = vec!["lookup", big.as_str(), evidence.as_str(), "--format", "csv"];
    for id in &ids {
        args.extend(["--id", id]);
    }
    let looked = csv_rows(&stdout_of(&args));
    let mut counted = std::collections::BTreeMap::new();
    for r in &looked {
        let c = counted
            .entry((r["mailbox"].clone(), r["internet_message_id"].clone()))
            .or_insert((0u64, 0u64));
        c.0 += 1;
        c.1 += u64::from(r["repeat_within_hour"] == "false");
    }
    let expected: std::collections::BTreeMap<(String, String), (u64, u64)> = messages
        .iter()
        .filter(|m| ids.contains(&m["internet_message_id"].as_str()))
        .map(|m| {
            (
                (m["mailbox"].clone(), m["internet_message_id"].clone()),
                (
                    m["accesses_raw"].parse().unwrap(),
                    m["accesses"].parse().unwrap(),
                ),
            )
        })
        .collect();
    assert!(
        expected.len() > 20 && expected.values().any(|(raw, kept)| raw > kept),
        "{expected:?}"
    );
    assert_eq!(counted, expected);
}

fn csv_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|row| {
            let row = row.unwrap();
            header
                .iter()
                .cloned()
                .zip(row.iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn the_demo_tenant_answers() {
    let ev = demo("evidence");
    let iocs = demo("attacker-iocs.txt");
    // The attacker's sessions: found by IP (in two notations) through the IOC file.
    let sessions = csv_rows(&stdout_of(&[
        "sessions", &ev, "--ioc", &iocs, "--format", "csv",
    ]));
    let got: Vec<(String, String, String)> = sessions
        .iter()
        .map(|r| {
            (
                r["session_id"].clone(),
                r["client_ip"].clone(),
                r["messages"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "badbadba-0001-4bad-8bad-000000000001".into(),
                "203.0.113.66".into(),
                "5".into()
            ),
            (
                "badbadba-0002-4bad-8bad-000000000002".into(),
                "2001:db8:bad::66".into(),
                "1".into()
            ),
            (
                "badbadba-0002-4bad-8bad-000000000002".into(),
                "203.0.113.66".into(),
                "1".into()
            ),
        ]
    );
    // The messages they read: message 1 three times, the 02:17 repeat collapsing.
    let msgs = csv_rows(&stdout_of(&[
        "messages", &ev, "--ioc", &iocs, "--format", "csv",
    ]));
    let ids: Vec<&str> = msgs
        .iter()
        .map(|r| r["internet_message_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 7, "{ids:?}");
    assert!(
        ids.iter()
            .all(|i| i.starts_with("<dm6pr01mb000") && i.ends_with('>'))
    );
    let m1 = &msgs[0];
    assert_eq!(
        (m1["accesses"].as_str(), m1["accesses_raw"].as_str()),
        ("2", "3")
    );
    // Message 1 was also read by the owner: without the IOC filter it has two sessions.
    let all = csv_rows(&stdout_of(&[
        "messages",
        &ev,
        "--mailbox",
        "CEO@contoso.example",
        "--format",
        "csv",
    ]));
    let m1_all = all
        .iter()
        .find(|r| r["internet_message_id"] == m1["internet_message_id"])
        .unwrap();
    assert_eq!(
        m1_all["sessions"],
        "0e0e0e0e-1111-4a22-9aa0-000000000001;badbadba-0001-4bad-8bad-000000000001"
    );
    // Both sync shapes, in the attacker's IPv6 context.
    let syncs = csv_rows(&stdout_of(&[
        "syncs",
        &ev,
        "--ip",
        "2001:db8:bad::/48",
        "--format",
        "csv",
    ]));
    let folders: Vec<&str> = syncs.iter().map(|r| r["folder"].as_str()).collect();
    assert_eq!(folders, ["\\Inbox\\Finance", "\\Sent Items"]);
    // The IP as each record wrote it (port, brackets) beside the normalized one, in the
    // listings of records: syncs, throttled records, lookup.
    let ips = |rows: &[std::collections::BTreeMap<String, String>]| -> Vec<(String, String)> {
        rows.iter()
            .map(|r| (r["client_ip"].clone(), r["client_ip_raw"].clone()))
            .collect()
    };
    let v6 = (
        "2001:db8:bad::66".to_string(),
        "[2001:db8:bad::66]:443".to_string(),
    );
    assert_eq!(ips(&syncs), [v6.clone(), v6.clone()]);
    let thr_records = csv_rows(&stdout_of(&[
        "throttled",
        &ev,
        "--records",
        "--format",
        "csv",
    ]));
    assert_eq!(ips(&thr_records), [v6]);
    let looked = csv_rows(&stdout_of(&[
        "lookup",
        &ev,
        "--id",
        &m1["internet_message_id"],
        "--format",
        "csv",
    ]));
    let raw: Vec<String> = ips(&looked).into_iter().map(|(_, raw)| raw).collect();
    assert_eq!(
        raw,
        [
            "203.0.113.66:51234",
            "203.0.113.66:51234",
            "203.0.113.66",
            "198.51.100.10"
        ]
    );
    // The throttled record opens a 24-hour window.
    let thr = csv_rows(&stdout_of(&["throttled", &ev, "--format", "csv"]));
    assert_eq!(thr.len(), 1);
    assert_eq!(
        (thr[0]["start"].as_str(), thr[0]["end"].as_str()),
        ("2024-05-06T05:00:00Z", "2024-05-07T05:00:00Z")
    );
    // Filters that match nothing give a header and no rows, exit 0.
    let none = stdout_of(&["messages", &ev, "--ip", "10.0.0.0/8", "--format", "csv"]);
    assert_eq!(none.lines().count(), 1, "{none}");
}

#[test]
fn bad_filter_values_are_usage_errors_before_reading() {
    for args in [
        vec!["messages", "--ip", "300.1.1.1", "nonexistent"],
        vec!["messages", "--from", "yesterday", "nonexistent"],
        vec![
            "messages",
            "--from",
            "2024-05-02",
            "--to",
            "2024-05-01",
            "nonexistent",
        ],
        vec!["contexts", "--by", "colour", "nonexistent"],
        vec!["lookup", "nonexistent"],
    ] {
        let run = mailscope(&args, b"");
        assert_eq!(run.code, 2, "{args:?}\n{run}");
        assert!(run.stdout.is_empty(), "{run}");
    }
}

/// Runs python3 with the duckdb package, installing it into target/ when it is missing.
fn python_with_duckdb() -> (String, Option<PathBuf>) {
    let ok = |pp: Option<&Path>| {
        let mut c = std::process::Command::new("python3");
        c.args(["-c", "import duckdb"]);
        if let Some(p) = pp {
            c.env("PYTHONPATH", p);
        }
        c.status().is_ok_and(|s| s.success())
    };
    if ok(None) {
        return ("python3".into(), None);
    }
    let target = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/pydeps"));
    if !ok(Some(&target)) {
        let st = std::process::Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&target)
            .arg("duckdb")
            .status();
        assert!(
            st.is_ok_and(|s| s.success()),
            "cannot install the duckdb Python package"
        );
    }
    ("python3".into(), Some(target))
}

const DUCKDB_SQL: &str = r#"
import duckdb, json, sys
path = sys.argv[1]
con = duckdb.connect()
con.execute(f"""
CREATE TABLE raw AS SELECT * FROM read_json('{path}', format='newline_delimited',
  columns={{'Id':'VARCHAR','CreationTime':'TIMESTAMP','Operation':'VARCHAR','UserId':'VARCHAR',
  'MailboxOwnerUPN':'VARCHAR','ClientIPAddress':'VARCHAR','ClientInfoString':'VARCHAR',
  'SessionId':'VARCHAR','LogonType':'INTEGER','AppId':'VARCHAR','ClientAppId':'VARCHAR',
  'OperationCount':'BIGINT','OperationProperties':'STRUCT(Name VARCHAR, Value VARCHAR)[]',
  'Folders':'STRUCT(Id VARCHAR, Path VARCHAR, FolderItems STRUCT(InternetMessageId VARCHAR, SizeInBytes BIGINT)[])[]'}})
""")
con.execute("""
CREATE TABLE rec AS SELECT * EXCLUDE (rn) FROM (
  SELECT *, row_number() OVER (PARTITION BY lower(Id) ORDER BY CreationTime) rn FROM raw) WHERE rn = 1
""")
con.execute("""
CREATE TABLE bind AS SELECT * FROM rec WHERE Operation = 'MailItemsAccessed'
  AND list_filter(OperationProperties, lambda p: p.Name = 'MailAccessType')[1].Value = 'Bind'
""")
con.execute("""
CREATE TABLE acc AS
SELECT b.Id, b.CreationTime t, lower(b.MailboxOwnerUPN) mailbox, lower(b.UserId) usr, b.ClientIPAddress ip,
       b.ClientInfoString client, b.SessionId session, b.LogonType logon, b.AppId app, b.ClientAppId capp,
       f.Path folder, lower(trim(trim(i.InternetMessageId), '<>')) msg, i.SizeInBytes size
FROM bind b, unnest(b.Folders) AS u(f), unnest(f.FolderItems) AS v(i)
""")
# The one-hour rule: an occurrence is kept when it is more than 3600 s after the last kept one.
con.execute("""
CREATE TABLE occ AS SELECT *, row_number() OVER (
  PARTITION BY mailbox, usr, ip, client, session, logon, folder, msg ORDER BY t, Id) rn FROM acc
""")
con.execute("""
CREATE TABLE kept AS
WITH RECURSIVE chain AS (
  SELECT mailbox, usr, ip, client, session, logon, folder, msg, rn, t AS kept_t, true AS kept FROM occ WHERE rn = 1
  UNION ALL
  SELECT o.mailbox, o.usr, o.ip, o.client, o.session, o.logon, o.folder, o.msg, o.rn,
         CASE WHEN epoch(o.t) - epoch(c.kept_t) > 3600 THEN o.t ELSE c.kept_t END,
         epoch(o.t) - epoch(c.kept_t) > 3600
  FROM chain c JOIN occ o ON o.mailbox = c.mailbox AND o.usr = c.usr AND o.ip = c.ip AND o.client = c.client
   AND o.session = c.session AND o.logon = c.logon AND o.folder = c.folder AND o.msg = c.msg AND o.rn = c.rn + 1)
SELECT o.*, ch.kept FROM occ o JOIN chain ch USING (mailbox, usr, ip, client, session, logon, folder, msg, rn)
""")
ctx_records = con.execute("""
SELECT lower(MailboxOwnerUPN), lower(UserId), ClientIPAddress, ClientInfoString, SessionId, LogonType, f.Path, AppId, ClientAppId,
       min(CreationTime), max(CreationTime), count(DISTINCT Id), sum(OperationCount)
FROM (SELECT DISTINCT b.*, f FROM bind b, unnest(b.Folders) AS u(f))
GROUP BY ALL
""").fetchall()
ctx_items = con.execute("""
SELECT mailbox, usr, ip, client, session, logon, folder, app, capp, count(*), count(*) FILTER (WHERE kept),
       count(DISTINCT msg), count(DISTINCT folder)
FROM kept GROUP BY ALL
""").fetchall()
ctx_bytes = con.execute("""
SELECT mailbox, usr, ip, client, session, logon, folder, app, capp, sum(size) FROM (
  SELECT mailbox, usr, ip, client, session, logon, folder, app, capp, msg, max(size) size FROM acc GROUP BY ALL)
GROUP BY ALL
""").fetchall()
per_mailbox = con.execute("SELECT mailbox, count(DISTINCT msg) FROM acc GROUP BY ALL").fetchall()
names = ['Owner', 'Admin', 'Delegated']
out = {}
def key(r):
    return '|'.join([r[0], r[1], r[2], r[3], r[4], names[r[5]], 'Bind', r[6], r[7], r[8]])
for r in ctx_records:
    out.setdefault(key(r), {}).update(first_seen=r[9].isoformat() + 'Z', last_seen=r[10].isoformat() + 'Z', records=r[11], operations=r[12])
for r in ctx_items:
    out.setdefault(key(r), {}).update(accesses_raw=r[9], accesses=r[10], messages=r[11], folders=r[12])
for r in ctx_bytes:
    out.setdefault(key(r), {}).update(bytes=int(r[9]))
print(json.dumps({'contexts': out, 'messages_per_mailbox': {m: n for m, n in per_mailbox}}, sort_keys=True))
"#;

#[test]
fn contexts_and_unique_messages_equal_an_independent_duckdb_computation() {
    let dir = tempdir();
    let path = write(dir.path(), "ual.ndjson", synthetic_ndjson(2500).as_bytes());
    let p = path.to_str().unwrap();
    let (py, pythonpath) = python_with_duckdb();
    let mut cmd = std::process::Command::new(py);
    cmd.args(["-c", DUCKDB_SQL, p]);
    if let Some(pp) = pythonpath {
        cmd.env("PYTHONPATH", pp);
    }
    let out = cmd.output().expect("running python3");
    assert!(
        out.status.success(),
        "duckdb script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql: Value = serde_json::from_slice(&out.stdout).expect("duckdb output is JSON");

    let ours = stdout_of(&["contexts", p, "--format", "json"]);
    let rows: Vec<Value> = serde_json::from_str(&ours).expect("contexts --format json");
    let keys = [
        "mailbox",
        "user",
        "client_ip",
        "client_info",
        "session_id",
        "logon_type",
        "access",
        "folder",
        "app_id",
        "client_app_id",
    ];
    let figures = [
        "first_seen",
        "last_seen",
        "records",
        "operations",
        "accesses_raw",
        "accesses",
        "messages",
        "folders",
        "bytes",
    ];
    let mut mine = serde_json::Map::new();
    for r in &rows {
        let k: Vec<&str> = keys.iter().map(|k| r[*k].as_str().unwrap()).collect();
        let f: serde_json::Map<String, Value> = figures
            .iter()
            .map(|f| (f.to_string(), r[*f].clone()))
            .collect();
        mine.insert(k.join("|"), Value::Object(f));
    }
    let theirs = sql["contexts"].as_object().unwrap();
    assert!(
        rows.len() > 50,
        "too few contexts to be a test: {}",
        rows.len()
    );
    assert_eq!(mine.len(), theirs.len(), "number of contexts");
    for (k, v) in theirs {
        assert_eq!(mine.get(k), Some(v), "context {k}");
    }
    // Collapsed repeats exist, or the one-hour rule was not exercised.
    let raw: u64 = rows
        .iter()
        .map(|r| r["accesses_raw"].as_u64().unwrap())
        .sum();
    let kept: u64 = rows.iter().map(|r| r["accesses"].as_u64().unwrap()).sum();
    assert!(kept < raw, "no repeat collapsed: {kept} of {raw}");

    let msgs = csv_rows(&stdout_of(&["messages", p, "--format", "csv"]));
    let mut per_mailbox = std::collections::BTreeMap::<String, u64>::new();
    for m in &msgs {
        *per_mailbox.entry(m["mailbox"].clone()).or_default() += 1;
    }
    let theirs: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(sql["messages_per_mailbox"].clone()).unwrap();
    assert_eq!(per_mailbox, theirs, "unique messages per mailbox");
}

#[test]
fn a_closed_pipe_ends_quietly_with_0() {
    use std::io::Read;
    let dir = tempdir();
    let big = write(
        dir.path(),
        "synthetic.ndjson",
        synthetic_ndjson(3000).as_bytes(),
    );
    for format in ["csv", "ndjson"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mailscope"))
            .args(["messages", "-q", "--format", format, big.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting mailscope");
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then close it
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `contexts --by mailbox` (a grouping that merges contexts, so distinct messages are counted
/// across them) agrees with `messages`, computed per (mailbox, message) on its own: distinct
/// messages, their bytes (largest size seen) and the accesses after the one-hour rule.
#[test]
fn contexts_by_mailbox_agrees_with_messages() {
    let dir = tempdir();
    let big = write(
        dir.path(),
        "synthetic.ndjson",
        synthetic_ndjson(1500).as_bytes(),
    );
    let big = big.to_str().unwrap().to_string();
    let evidence = demo("evidence");
    let by_mailbox = csv_rows(&stdout_of(&[
        "contexts",
        "--by",
        "mailbox",
        "--format",
        "csv",
        evidence.as_str(),
        big.as_str(),
    ]));
    let messages = csv_rows(&stdout_of(&[
        "messages",
        "--format",
        "csv",
        evidence.as_str(),
        big.as_str(),
    ]));
    let mut want: std::collections::BTreeMap<String, (u64, u64, u64)> = Default::default();
    for m in &messages {
        let e = want.entry(m["mailbox"].clone()).or_default();
        e.0 += 1;
        e.1 += m["size_bytes"].parse::<u64>().unwrap_or(0);
        e.2 += m["accesses"].parse::<u64>().unwrap();
    }
    let got: std::collections::BTreeMap<String, (u64, u64, u64)> = by_mailbox
        .iter()
        .map(|r| {
            (
                r["mailbox"].clone(),
                (
                    r["messages"].parse().unwrap(),
                    r["bytes"].parse().unwrap(),
                    r["accesses"].parse().unwrap(),
                ),
            )
        })
        .collect();
    assert!(got.len() >= 3, "{got:?}");
    assert_eq!(got, want);
}

#[test]
fn throttled_time_bounds_keep_the_windows_that_cover_them() {
    // Three throttled records chain into one window, 1 May 00:00 to 3 May 20:00.
    let dir = tempdir();
    let lines = [
        bind_line("2024-05-01T00:00:00", 1, "10.0.0.1", "own", true, "<o1@x>"),
        bind_line("2024-05-01T20:00:00", 2, "10.0.0.1", "own", true, "<o2@x>"),
        bind_line("2024-05-02T20:00:00", 3, "10.0.0.1", "own", true, "<o3@x>"),
    ];
    let ev = write(dir.path(), "ev.jsonl", lines.concat().as_bytes());
    let ev = ev.to_str().unwrap();
    let windows = |bounds: &[&str]| {
        let mut args = vec!["throttled", ev, "--format", "csv"];
        args.extend_from_slice(bounds);
        csv_rows(&stdout_of(&args))
            .iter()
            .map(|w| format!("{} {} {}", w["start"], w["end"], w["throttled_records"]))
            .collect::<Vec<_>>()
    };
    let whole = ["2024-05-01T00:00:00Z 2024-05-03T20:00:00Z 3"];
    assert_eq!(windows(&[]), whole);
    // Asked about 3 May, after the last throttled record: binds were still not audited.
    assert_eq!(windows(&["--from", "2024-05-03"]), whole);
    assert_eq!(
        windows(&[
            "--from",
            "2024-05-03T10:00:00Z",
            "--to",
            "2024-05-03T10:00:00Z"
        ]),
        whole
    );
    assert_eq!(windows(&["--to", "2024-04-30"]), Vec::<String>::new());
    assert_eq!(
        windows(&["--from", "2024-05-03T20:00:01Z"]),
        Vec::<String>::new()
    );
    // The records whose own 24 hours cover 3 May 10:00: the second and the third.
    let mut args = vec!["throttled", ev, "--records", "--format", "csv"];
    args.extend(["--from", "2024-05-03T10:00:00Z"]);
    let ids: Vec<String> = csv_rows(&stdout_of(&args))
        .iter()
        .map(|r| r["record_id"].clone())
        .collect();
    assert_eq!(
        ids,
        ["00000000-0000-0000-0000-000000000003"],
        "only the third record's 24 hours reach 3 May 10:00"
    );
}
