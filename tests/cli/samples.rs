//! Every file in ../shared/samples, read by ingest: the outcome each one must give, and the
//! normalized fields of the records that matter. A new sample without an expectation here
//! fails `every_sample_has_an_expectation`.
//!
//! See: ../shared/samples/SOURCES.md for what each file is.

use crate::util::*;
use mailscope::analyze::inventory::inventory;
use mailscope::ingest::Ingested;
use mailscope::model::{AccessType, Folder, Item, MailAccess, Record};
use mailscope::sym::Sym;
use std::collections::{BTreeMap, BTreeSet};

/// What reading one sample must give.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    container: String,
    /// Unique well-formed records.
    records: usize,
    mail_items_accessed: usize,
    duplicates: u64,
    /// `(line, kind)` of every malformed record.
    malformed: Vec<(u64, String)>,
    /// A part of the file's error text, or None when it must have no error.
    error: Option<String>,
}

fn expect(
    container: &str,
    records: usize,
    mail_items_accessed: usize,
    malformed: &[(u64, &str)],
    error: Option<&str>,
) -> Outcome {
    Outcome {
        container: container.to_string(),
        records,
        mail_items_accessed,
        duplicates: 0,
        malformed: malformed.iter().map(|(l, k)| (*l, k.to_string())).collect(),
        error: error.map(str::to_string),
    }
}

const NOT_AN_EXPORT: Option<&str> = Some("not an audit-log export");

/// The expected outcome of every sample file, by name.
fn expectations() -> BTreeMap<&'static str, Outcome> {
    let mut m = BTreeMap::new();
    let mut add = |name, o| {
        assert!(m.insert(name, o).is_none(), "{name} listed twice");
    };
    add("SOURCES.md", expect("unknown", 0, 0, &[], NOT_AN_EXPORT));
    // Defender RawEventData with Folders as PowerShell text: the ids are lost, so it is
    // malformed (lossy), not an access without messages.
    add(
        "a-bind-defender-cloudappevents-otrf.json",
        expect("ndjson", 0, 0, &[(1, "lossy-powershell")], None),
    );
    // Unescaped `\I` in "\Inbox": not JSON. The record's object starts on line 2.
    add(
        "a-bind-office365itpros-prophecy-raw.txt",
        expect("json", 0, 0, &[(2, "invalid-json")], None),
    );
    add(
        "a-bind-office365itpros.json",
        expect("json", 1, 1, &[], None),
    );
    add(
        "a-bind-sentinel-officeactivity-otrf.json",
        expect("ndjson", 1, 1, &[], None),
    );
    add(
        "a-defender-cloudappevents-otrf-FULL.jsonl",
        expect("ndjson", 8, 0, &[(8, "lossy-powershell")], None),
    );
    add(
        "b-exchangeitem-item-parentfolder-elastic-beats.jsonl",
        expect("ndjson", 2, 0, &[], None),
    );
    add(
        "b-sync-folders-variant-RECONSTRUCTED.json",
        expect("json", 1, 1, &[], None),
    );
    add(
        "b-sync-item-parentfolder-RECONSTRUCTED.json",
        expect("json", 1, 1, &[], None),
    );
    add(
        "c-throttled-DERIVED-from-a-bind-office365itpros.json",
        expect("json", 1, 1, &[], None),
    );
    add(
        "d-purview-portal-export-2022-sofelk257-TRUNCATED.txt",
        expect("csv", 0, 0, &[(2, "truncated")], None),
    );
    add(
        "d-purview-portal-export-2023-huntressctf-FULL.csv",
        expect("csv", 219, 0, &[], None),
    );
    add(
        "d-purview-portal-export-2023-huntressctf.csv",
        expect("csv", 1, 0, &[], None),
    );
    add(
        "d-purview-portal-export-header-variants.txt",
        expect("unknown", 0, 0, &[], NOT_AN_EXPORT),
    );
    add(
        "d-search-ual-exportcsv-AU-locale-fixture.csv",
        expect("csv", 1, 1, &[], None),
    );
    // Header-only exports: no records, and nothing wrong.
    add(
        "d-search-ual-exportcsv-psremoting-header-DERIVED.csv",
        expect("csv", 0, 0, &[], None),
    );
    add(
        "e-management-api-content-blob-response.json",
        expect("json", 3, 0, &[], None),
    );
    add(
        "e-management-api-list-content-response.json",
        expect("json", 0, 0, &[(2, "not-a-record")], None),
    );
    // The Graph doc example has "createdDateTime": "String (timestamp)"; the record's own
    // object starts on line 3 of the page.
    add(
        "f-graph-auditlogquery-records-doc-response.json",
        expect("json", 0, 0, &[(3, "bad-time")], None),
    );
    add(
        "f-graph-auditlogquery-records-mailitemsaccessed-SHAPE.json",
        expect("json", 1, 1, &[], None),
    );
    add(
        "g-extractor-get-ual-CSV-header-DERIVED.csv",
        expect("csv", 0, 0, &[], None),
    );
    add(
        "g-extractor-get-ual-JSON-SHAPE.json",
        expect("json", 1, 1, &[], None),
    );
    add(
        "g-extractor-get-ual-JSONL-SHAPE.jsonl",
        expect("ndjson", 1, 1, &[], None),
    );
    add(
        "g-extractor-get-ual-SOFELK-or-AuditDataOnly-SHAPE.jsonl",
        expect("ndjson", 1, 1, &[], None),
    );
    add(
        "g-extractor-mailitemsaccessed-outputs-headers.csv",
        expect("unknown", 0, 0, &[], NOT_AN_EXPORT),
    );
    add(
        "h-get-messagetrace-v1-exportcsv-header.csv",
        expect("message-trace", 0, 0, &[], Some("message-trace export")),
    );
    add(
        "h-get-messagetracev2-fields-used-by-MAS.txt",
        expect("unknown", 0, 0, &[], NOT_AN_EXPORT),
    );
    add(
        "h-message-trace-portal-extended-report-columns.txt",
        expect("unknown", 0, 0, &[], NOT_AN_EXPORT),
    );
    // The list view of one record (after three `#` lines of notes): read, but its
    // LastAccessed lost its time in the OCR ("1/4/2019 [time lost] PM").
    add(
        "i-search-mailboxauditlog-showdetails-RECONSTRUCTED.txt",
        expect("list", 0, 0, &[(4, "bad-time")], None),
    );
    add(
        "i-search-mailboxauditlog-showdetails-exportcsv-header.csv",
        expect("csv", 0, 0, &[], None),
    );
    add(
        "i-search-mailboxauditlog-showdetails-microsoft-screenshot-OCR.txt",
        expect("unknown", 0, 0, &[], NOT_AN_EXPORT),
    );
    add(
        "ip-address-variants.txt",
        expect("unknown", 0, 0, &[], NOT_AN_EXPORT),
    );
    m
}

fn sample_names() -> BTreeSet<String> {
    std::fs::read_dir(SAMPLES)
        .unwrap_or_else(|e| panic!("reading {SAMPLES}: {e}"))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Every sample's path, in name order.
fn sample_paths() -> Vec<std::path::PathBuf> {
    sample_names().iter().map(|n| sample(n)).collect()
}

fn outcome_of(ing: &Ingested, expected_error: Option<&str>) -> Outcome {
    let f = &ing.files[0];
    Outcome {
        container: f.container.clone(),
        records: ing.records.len(),
        mail_items_accessed: ing.records.iter().filter(|r| r.mail.is_some()).count(),
        duplicates: ing.duplicates,
        malformed: malformed_lines(ing),
        // Shown in full unless it contains the expected text.
        error: match (&f.error, expected_error) {
            (Some(got), Some(want)) if got.contains(want) => Some(want.to_string()),
            (got, _) => got.clone(),
        },
    }
}

#[test]
fn every_sample_has_an_expectation() {
    let on_disk = sample_names();
    let expected: BTreeSet<String> = expectations().keys().map(|k| k.to_string()).collect();
    let new: Vec<&String> = on_disk.difference(&expected).collect();
    let gone: Vec<&String> = expected.difference(&on_disk).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "samples without an expectation in tests/cli/samples.rs: {new:?}\n\
         expectations for samples that no longer exist: {gone:?}"
    );
}

#[test]
fn every_sample_gives_its_expected_outcome() {
    let mut failures = Vec::new();
    for (name, want) in expectations() {
        let path = sample(name);
        if !path.exists() {
            continue; // reported by every_sample_has_an_expectation
        }
        let ing = ingest_file(&path);
        let got = outcome_of(&ing, want.error.as_deref());
        if got != want {
            failures.push(format!(
                "{name}\n  expected {want:?}\n  got      {got:?}\n{}",
                describe(&ing)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} sample(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// All samples at once (the directory as one evidence set): every record is accounted for,
/// and the copies of one record id across samples are duplicates.
#[test]
fn all_samples_together() {
    let paths = sample_paths();
    let ing = ingest_paths(&paths);
    let singles: Vec<Ingested> = paths.iter().map(|p| ingest_file(p)).collect();
    let read: u64 = singles.iter().map(|i| i.read).sum();
    let unique: BTreeSet<String> = singles
        .iter()
        .flat_map(|i| i.records.iter().map(|r| r.id.to_string()))
        .collect();
    let malformed: u64 = singles.iter().map(|i| i.malformed_total()).sum();
    // f5493f9a-... is in six samples (a-bind, c-throttled, f-graph, three g-extractor
    // shapes); the short Huntress CSV is the first row of the FULL one.
    assert_eq!(
        (
            ing.read,
            ing.records.len(),
            ing.duplicates,
            ing.malformed_total()
        ),
        (read, unique.len(), 6, malformed),
        "(read, unique, duplicates, malformed) of all samples together\n{}",
        describe(&ing)
    );
    assert_eq!(
        ing.records
            .iter()
            .map(|r| r.id.to_string())
            .collect::<BTreeSet<_>>(),
        unique,
        "record ids of all samples together"
    );
}

/// Reading with digests of the message ids (what `contexts` does) or without them (what
/// `stats` does) gives every sample's records, duplicates and malformed places unchanged, with
/// only the message ids turned into digests or emptied.
#[test]
fn all_samples_without_message_ids() {
    use mailscope::parse::MessageIds;
    let paths = sample_paths();
    let with = ingest_with(&paths, &opts(2, 1 << 20));
    let ids = |i: &Ingested| -> BTreeSet<String> {
        i.records
            .iter()
            .filter_map(|r| r.mail.as_deref())
            .flat_map(|m| m.items())
            .map(|(_, it)| it.internet_message_id.to_string())
            .collect()
    };
    let texts = ids(&with);
    assert!(texts.len() > 1, "the samples list message ids");
    for kept in [MessageIds::Digest, MessageIds::Drop] {
        let other = ingest_with(
            &paths,
            &mailscope::ingest::Options {
                message_ids: kept,
                ..opts(2, 1 << 20)
            },
        );
        let want: BTreeSet<String> = match kept {
            MessageIds::Drop => [String::new()].into(),
            _ => texts
                .iter()
                .map(|t| Sym::new_digest(t).to_string())
                .collect(),
        };
        assert_eq!(ids(&other), want, "{kept:?}");
        let mut expected = with.records.clone();
        for r in &mut expected {
            mailscope::parse::keep_message_ids(r, kept);
        }
        assert_eq!(other.records, expected, "{kept:?}");
        assert_eq!(
            (other.read, other.duplicates, &other.malformed),
            (with.read, with.duplicates, &with.malformed)
        );
        assert_eq!(malformed_lines(&other), malformed_lines(&with));
    }
}

/// Every sample, and an export `generate` writes with `options` into `dir`.
fn samples_and_generated(
    dir: &std::path::Path,
    options: mailscope::generate::GenerateOptions,
) -> Vec<std::path::PathBuf> {
    let mut data = Vec::new();
    mailscope::generate::generate(&options, &mut data).unwrap();
    let generated = dir.join("generated.ndjson");
    std::fs::write(&generated, &data).unwrap();
    let mut paths = sample_paths();
    paths.push(generated);
    paths
}

/// Counting messages by their digests (what `contexts` and `sessions` read) gives the counts
/// of their text, over every sample and a generated export with an attacker, grouped by
/// every key and by fewer.
#[test]
fn contexts_and_sessions_count_the_same_by_digest() {
    use mailscope::analyze::access::Accesses;
    use mailscope::analyze::contexts::{Key, contexts};
    use mailscope::analyze::sessions::sessions;
    use mailscope::generate::GenerateOptions;
    let dir = tempfile::tempdir().unwrap();
    let paths = samples_and_generated(
        dir.path(),
        GenerateOptions {
            size: 6_000_000,
            seed: 5,
            attacker: true,
            ..GenerateOptions::default()
        },
    );
    let text = ingest_with(&paths, &opts(2, 1 << 20));
    let digest = ingest_with(
        &paths,
        &mailscope::ingest::Options {
            message_ids: mailscope::parse::MessageIds::Digest,
            ..opts(2, 1 << 20)
        },
    );
    let (a, b) = (
        Accesses::build(&text.records, |_| true),
        Accesses::build(&digest.records, |_| true),
    );
    assert!(a.items.len() > 5_000, "{}", a.items.len());
    // The first row that differs, rather than thousands of rows.
    fn same<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: rows");
        if let Some((g, w)) = got.iter().zip(want).find(|(g, w)| g != w) {
            panic!("{what}: by digest\n{g:?}\nby text\n{w:?}");
        }
    }
    let s = sessions(&a);
    assert!(s.iter().any(|s| s.messages > 1));
    same(&sessions(&b), &s, "sessions");
    for by in [&Key::ALL[..], &[Key::Mailbox, Key::Ip], &[Key::Session]] {
        let rows = contexts(a.clone(), by);
        assert!(rows.iter().any(|r| r.messages > 1), "{by:?}");
        same(
            &contexts(b.clone(), by),
            &rows,
            &format!("contexts by {by:?}"),
        );
    }
}

/// Every sample, the demo tenant (a throttled mailbox, duplicates across shapes) and a
/// generated export of `size` bytes with an attacker, read on 2 threads.
fn samples_demo_and_generated(size: u64, seed: u64) -> Ingested {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = samples_and_generated(
        dir.path(),
        mailscope::generate::GenerateOptions {
            size,
            seed,
            attacker: true,
            ..mailscope::generate::GenerateOptions::default()
        },
    );
    let demo =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo/evidence");
    paths.extend(std::fs::read_dir(demo).unwrap().map(|e| e.unwrap().path()));
    ingest_with(&paths, &opts(2, 1 << 20))
}

/// The inventory counts runs of records in parallel and merges their tallies: any run
/// length gives the same inventory as one run, over every sample, the demo tenant (a throttled
/// mailbox, duplicates across shapes) and a generated export with an attacker.
#[test]
fn inventory_does_not_depend_on_how_the_records_are_split() {
    use mailscope::analyze::inventory::inventory_in_runs;
    let ing = samples_demo_and_generated(1_000_000, 11);
    let json = |run: usize| serde_json::to_string_pretty(&inventory_in_runs(&ing, run)).unwrap();
    let inv = inventory_in_runs(&ing, ing.records.len());
    let whole = serde_json::to_string_pretty(&inv).unwrap();
    assert!(
        inv.throttled_records > 0
            && inv.by_access_type.len() == 3
            && inv.mailboxes.len() > 10
            && !inv.mailboxes_without_mail_items_accessed.is_empty()
            && inv.by_operation.len() > 5,
        "{whole}"
    );
    for run in [1, 2, 7, 100, 1000] {
        assert_eq!(json(run), whole, "runs of {run}");
    }
}

/// The inventory's per-operation, per-access-type, per-user and per-mailbox figures and its
/// accounts without MailItemsAccessed records are what the records hold, counted the plain
/// way, over every sample, the demo tenant and a generated export.
#[test]
fn inventory_counts_what_the_records_hold() {
    // From this size the generator plants a throttled mailbox: with the demo's, two.
    let ing = samples_demo_and_generated(mailscope::generate::THROTTLE_MIN_SIZE, 12);
    let inv = inventory(&ing);
    let mut operations: BTreeMap<String, u64> = BTreeMap::new();
    let mut access_types: BTreeMap<String, u64> = BTreeMap::new();
    let mut users: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    // mailbox -> (MailItemsAccessed, bind, sync, unknown, throttled, first, last)
    type Figures<T> = (u64, u64, u64, u64, u64, T, T);
    let mut mailboxes: BTreeMap<String, Figures<i64>> = BTreeMap::new();
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    for r in &ing.records {
        *operations.entry(r.operation.to_string()).or_default() += 1;
        if !r.user.is_empty() {
            let u = users.entry(r.user.to_string()).or_default();
            u.0 += 1;
            u.1 += u64::from(r.mail.is_some());
        }
        if !r.mailbox.is_empty() {
            accounts.insert(r.mailbox.to_string());
        }
        if r.user.contains('@') {
            accounts.insert(r.user.to_string());
        }
        let Some(m) = r.mail.as_deref() else { continue };
        *access_types.entry(m.access.to_string()).or_default() += 1;
        let b = mailboxes
            .entry(r.mailbox.to_string())
            .or_insert((0, 0, 0, 0, 0, r.time, r.time));
        b.0 += 1;
        match m.access {
            AccessType::Bind => b.1 += 1,
            AccessType::Sync => b.2 += 1,
            AccessType::Unknown => b.3 += 1,
        }
        b.4 += u64::from(m.throttled);
        b.5 = b.5.min(r.time);
        b.6 = b.6.max(r.time);
    }
    let without: Vec<String> = accounts
        .into_iter()
        .filter(|a| !mailboxes.contains_key(a))
        .collect();
    assert_eq!(inv.by_operation, operations);
    assert_eq!(inv.by_access_type, access_types);
    let got_users: BTreeMap<String, (u64, u64)> = inv
        .users
        .iter()
        .map(|u| (u.user.clone(), (u.records, u.mail_items_accessed)))
        .collect();
    assert_eq!(got_users, users);
    assert_eq!(inv.users.len(), users.len(), "one row per user");
    let time = mailscope::parse::fields::format_time;
    let got_mailboxes: BTreeMap<String, Figures<String>> = inv
        .mailboxes
        .iter()
        .map(|m| {
            let f = (
                m.mail_items_accessed,
                m.bind,
                m.sync,
                m.unknown_access,
                m.throttled,
            );
            (
                m.mailbox.clone(),
                (
                    f.0,
                    f.1,
                    f.2,
                    f.3,
                    f.4,
                    m.first_time.clone(),
                    m.last_time.clone(),
                ),
            )
        })
        .collect();
    let want_mailboxes: BTreeMap<String, Figures<String>> = mailboxes
        .into_iter()
        .map(|(k, b)| (k, (b.0, b.1, b.2, b.3, b.4, time(b.5), time(b.6))))
        .collect();
    let throttled: u64 = want_mailboxes.values().map(|b| b.4).sum();
    let mia: u64 = want_mailboxes.values().map(|b| b.0).sum();
    let first = want_mailboxes.values().map(|b| b.5.clone()).min();
    let last = want_mailboxes.values().map(|b| b.6.clone()).max();
    assert_eq!(got_mailboxes, want_mailboxes);
    assert_eq!(
        (inv.throttled_records, inv.mail_items_accessed),
        (throttled, mia)
    );
    assert_eq!(
        (
            inv.mail_items_accessed_first_time,
            inv.mail_items_accessed_last_time
        ),
        (first, last)
    );
    assert_eq!(inv.mailboxes_without_mail_items_accessed, without);
    let throttled_mailboxes = inv.mailboxes.iter().filter(|m| m.throttled > 0).count();
    assert!(throttled_mailboxes > 1 && !without.is_empty() && users.len() > 100);
}

/// Reading without folders (what `stats` and `throttled` do) changes nothing the inventory
/// or the throttled windows and records report, over every sample and a generated export
/// (duplicates, a throttled mailbox, an attacker); and there were folders to drop.
#[test]
fn inventory_and_throttling_are_the_same_without_folders() {
    use mailscope::generate::{GenerateOptions, THROTTLE_MIN_SIZE};
    let dir = tempfile::tempdir().unwrap();
    let paths = samples_and_generated(
        dir.path(),
        GenerateOptions {
            size: THROTTLE_MIN_SIZE,
            seed: 3,
            attacker: true,
            throttle: true,
            ..GenerateOptions::default()
        },
    );
    let with = ingest_with(&paths, &opts(2, 1 << 20));
    let without = ingest_with(
        &paths,
        &mailscope::ingest::Options {
            folders: false,
            message_ids: mailscope::parse::MessageIds::Drop,
            ..opts(2, 1 << 20)
        },
    );
    let with_folders = |i: &Ingested| {
        i.records
            .iter()
            .filter_map(|r| r.mail.as_deref())
            .filter(|m| !m.folders.is_empty() || m.synced_folder.is_some())
            .count()
    };
    assert!(with_folders(&with) > 1_000, "{}", describe(&with));
    assert_eq!(with_folders(&without), 0);
    assert!(with.duplicates > 0 && inventory(&with).throttled_records > 0);
    let json = |i: &Ingested| serde_json::to_string_pretty(&inventory(i)).unwrap();
    assert_eq!(json(&without), json(&with));
    // What `stats` keeps of each record, as it is parsed: the same inventory.
    use mailscope::analyze::inventory::InventoryRecord;
    let inputs: Vec<_> = paths
        .iter()
        .cloned()
        .map(mailscope::input::InputPath::File)
        .collect();
    let stats_opts = mailscope::ingest::Options {
        folders: false,
        message_ids: mailscope::parse::MessageIds::Drop,
        ..opts(2, 1 << 20)
    };
    let kept = mailscope::ingest::ingest_as::<InventoryRecord>(&inputs, &stats_opts).unwrap();
    assert_eq!(kept.records.len(), with.records.len());
    assert_eq!(
        serde_json::to_string_pretty(&inventory(&kept)).unwrap(),
        json(&with)
    );
    // What `throttled` reads: the windows, and each throttled record's fields.
    use mailscope::analyze::throttle::windows;
    assert!(!windows(&with.records).is_empty());
    assert_eq!(windows(&without.records), windows(&with.records));
    let throttled = |i: &Ingested| -> Vec<String> {
        i.records
            .iter()
            .filter_map(|r| Some((r, r.mail.as_deref().filter(|m| m.throttled)?)))
            .map(|(r, m)| {
                let s = (
                    m.client_ip,
                    m.client_info,
                    m.session_id,
                    m.app_id,
                    m.client_app_id,
                );
                format!("{} {} {} {} {s:?}", r.mailbox, r.time, r.id, r.user)
            })
            .collect()
    };
    assert_eq!(throttled(&without), throttled(&with));
    // What `throttled` keeps of each record, as it is parsed: the same throttled records.
    use mailscope::analyze::throttle::ThrottleRecord;
    let kept = mailscope::ingest::ingest_as::<ThrottleRecord>(&inputs, &stats_opts).unwrap();
    let kept_throttled: Vec<&Record> = kept.records.iter().filter_map(|r| r.whole()).collect();
    let full_throttled: Vec<&Record> = without
        .records
        .iter()
        .filter(|r| r.mail.as_deref().is_some_and(|m| m.throttled))
        .collect();
    assert!(!full_throttled.is_empty());
    assert_eq!(kept_throttled, full_throttled);
    assert_eq!(
        windows(kept.records.iter().filter_map(|r| r.whole())),
        windows(&with.records)
    );
    // What `syncs` keeps of each record: the same sync records, whole.
    use mailscope::analyze::access::SyncRecord;
    let sync_opts = mailscope::ingest::Options {
        message_ids: mailscope::parse::MessageIds::Drop,
        ..opts(2, 1 << 20)
    };
    let kept = mailscope::ingest::ingest_as::<SyncRecord>(&inputs, &sync_opts).unwrap();
    let full = ingest_with(&paths, &sync_opts);
    let kept_syncs: Vec<&Record> = kept.records.iter().filter_map(|r| r.whole()).collect();
    let full_syncs: Vec<&Record> = full
        .records
        .iter()
        .filter(|r| {
            r.mail
                .as_deref()
                .is_some_and(|m| m.access == AccessType::Sync)
        })
        .collect();
    assert!(full_syncs.len() > 10, "{}", full_syncs.len());
    assert_eq!(kept_syncs, full_syncs);
}

fn only_record(name: &str) -> Record {
    let ing = ingest_file(&sample(name));
    assert_eq!(
        ing.records.len(),
        1,
        "{name} should hold one record:\n{}",
        describe(&ing)
    );
    ing.records[0].clone()
}

fn mail(r: &Record) -> &MailAccess {
    r.mail
        .as_deref()
        .unwrap_or_else(|| panic!("no MailAccess in {}", record_json(r)))
}

/// The office365itpros Bind record as every export shape of it must normalize.
pub fn office365itpros_bind() -> Record {
    let ip = "2001:bb6:5f4f:f058:4163:e14a:1332:27c7";
    Record {
        id: "f5493f9a-57ce-4859-94bd-fd2ad38d5680".into(),
        time: utc(2020, 4, 7, 23, 47, 30, 0),
        operation: "MailItemsAccessed".into(),
        user: "tony.hawks@sample.com".into(),
        mailbox: "tony.hawks@sample.com".into(),
        mail: Some(Box::new(MailAccess {
            access: AccessType::Bind,
            throttled: false,
            operation_count: 1,
            logon_type: Some(0),
            client_ip: ip.into(),
            client_ip_raw: ip.into(),
            client_info: "Client=OutlookService;Outlook-iOS/2.0;".into(),
            session_id: "1f99e672-8141-4a22-9aa0-96357297e843".into(),
            app_id: Sym::EMPTY,
            client_app_id: Sym::EMPTY,
            folders: vec![Folder {
                id: "LgAAAAB+7ILpFNx8TrktaK8VYWerAQBe9CuwLc2fTK7W46L1SAp9AAAA2lHHAAAB".into(),
                path: "\\Inbox".into(),
                items: vec![Item {
                    // Upper case in the record: compared (and kept) lowercased, no brackets.
                    internet_message_id:
                        "71ceaeec-6dc3-4452-839f-6db34dd95f95@db5eur01bg102.eop-eur01.prod.protection.outlook.com"
                            .into(),
                    size_bytes: None,
                }],
            }],
            synced_folder: None,
        })),
    }
}

#[test]
fn one_bind_record_in_five_export_shapes_normalizes_the_same() {
    let want = office365itpros_bind();
    for name in [
        "a-bind-office365itpros.json",
        "g-extractor-get-ual-JSON-SHAPE.json",
        "g-extractor-get-ual-JSONL-SHAPE.jsonl",
        "g-extractor-get-ual-SOFELK-or-AuditDataOnly-SHAPE.jsonl",
        "f-graph-auditlogquery-records-mailitemsaccessed-SHAPE.json",
    ] {
        let got = only_record(name);
        assert_eq!(
            got,
            want,
            "{name}: expected\n{}\ngot\n{}",
            record_json(&want),
            record_json(&got)
        );
    }
}

#[test]
fn throttled_record() {
    let got = only_record("c-throttled-DERIVED-from-a-bind-office365itpros.json");
    let mut want = office365itpros_bind();
    if let Some(m) = want.mail.as_mut() {
        m.throttled = true;
    }
    assert_eq!(
        got,
        want,
        "expected\n{}\ngot\n{}",
        record_json(&want),
        record_json(&got)
    );
}

const SIMULAND_INBOX: &str = "LgAAAAAM7KyTTmWeRac2KXBEz/7aAQARGHK+grzLTpRJraC1QR6kAAAAAAEMAAAB";

fn simuland_sync(id: &str, folders: Vec<Folder>) -> Record {
    Record {
        id: id.into(),
        time: utc(2021, 8, 2, 13, 40, 11, 0),
        operation: "MailItemsAccessed".into(),
        user: "pgustavo@simulandlabs.com".into(),
        mailbox: "pgustavo@simulandlabs.com".into(),
        mail: Some(Box::new(MailAccess {
            access: AccessType::Sync,
            throttled: false,
            operation_count: 1,
            logon_type: Some(0),
            client_ip: "1.2.3.4".into(),
            client_ip_raw: "1.2.3.4".into(),
            client_info: "Client=MSExchangeRPC".into(),
            session_id: "00000000-0000-0000-0000-000000005e55".into(),
            app_id: Sym::EMPTY,
            client_app_id: Sym::EMPTY,
            folders,
            synced_folder: Some(Box::new(Folder {
                id: SIMULAND_INBOX.into(),
                path: "\\Inbox".into(),
                items: vec![],
            })),
        })),
    }
}

#[test]
fn sync_from_item_parent_folder() {
    let got = only_record("b-sync-item-parentfolder-RECONSTRUCTED.json");
    let want = simuland_sync("00000000-0000-0000-0000-00000000b001", vec![]);
    assert_eq!(
        got,
        want,
        "expected\n{}\ngot\n{}",
        record_json(&want),
        record_json(&got)
    );
}

#[test]
fn sync_from_folders_without_items() {
    let got = only_record("b-sync-folders-variant-RECONSTRUCTED.json");
    let inbox = Folder {
        id: SIMULAND_INBOX.into(),
        path: "\\Inbox".into(),
        items: vec![],
    };
    let want = simuland_sync("00000000-0000-0000-0000-00000000b002", vec![inbox]);
    assert_eq!(
        got,
        want,
        "expected\n{}\ngot\n{}",
        record_json(&want),
        record_json(&got)
    );
    assert_eq!(mail(&got).items().count(), 0, "a sync lists no messages");
}

/// The InternetMessageIds of the Sentinel row, read with serde_json from its `Folders`
/// string and normalized here: brackets and white space stripped, lowercased.
fn sentinel_message_ids() -> Vec<String> {
    let row: serde_json::Value =
        serde_json::from_str(&sample_text("a-bind-sentinel-officeactivity-otrf.json"))
            .expect("JSON");
    let folders: serde_json::Value =
        serde_json::from_str(row["Folders"].as_str().expect("Folders is a string"))
            .expect("Folders JSON");
    folders[0]["FolderItems"]
        .as_array()
        .expect("FolderItems")
        .iter()
        .map(|i| {
            let raw = i["InternetMessageId"].as_str().expect("InternetMessageId");
            assert!(raw.starts_with('<') && raw.ends_with('>'), "{raw}");
            raw.trim_start_matches('<')
                .trim_end_matches('>')
                .to_lowercase()
        })
        .collect()
}

fn sentinel_expected() -> Record {
    let ids = sentinel_message_ids();
    assert_eq!(ids.len(), 7, "the Sentinel row lists 7 InternetMessageIds");
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 6, "two of them are the same message");
    Record {
        // OfficeId; the row has no Id.
        id: "699e0b10-1c53-403e-976f-ce0847a92b44".into(),
        // TimeGenerated.
        time: utc(2021, 8, 2, 13, 32, 7, 0),
        operation: "MailItemsAccessed".into(),
        user: "pgustavo@simulandlabs.com".into(),
        mailbox: "pgustavo@simulandlabs.com".into(),
        mail: Some(Box::new(MailAccess {
            // OperationProperties is a JSON string in Sentinel.
            access: AccessType::Bind,
            throttled: false,
            // No OperationCount: the listed items. The Defender row of the same access says
            // OperationCount 7 (see sentinel_operation_count_agrees_with_defender).
            operation_count: 7,
            // "Logon_Type": "Owner".
            logon_type: Some(0),
            // "Client_IPAddress".
            client_ip: "1.2.3.4".into(),
            client_ip_raw: "1.2.3.4".into(),
            client_info: "Client=REST;;".into(),
            session_id: Sym::EMPTY,
            app_id: "00000003-0000-0000-c000-000000000000".into(),
            client_app_id: "5a95e683-08ad-424e-a441-1d1aec52c02c".into(),
            // Items as the record lists them, the repeated message included: the record
            // says it was accessed twice (the access de-duplication collapses repeats).
            folders: vec![Folder {
                id: SIMULAND_INBOX.into(),
                path: "\\Inbox".into(),
                items: ids
                    .into_iter()
                    .map(|id| Item {
                        internet_message_id: id.into(),
                        size_bytes: None,
                    })
                    .collect(),
            }],
            synced_folder: None,
        })),
    }
}

#[test]
fn sentinel_officeactivity_row() {
    let got = only_record("a-bind-sentinel-officeactivity-otrf.json");
    let want = sentinel_expected();
    let m = mail(&got);
    assert!(
        m.items().any(|(_, i)| i.internet_message_id
            == "ab1cd23ef4567dac24353b8ad047ddeb0b1eb9@ab1cd23ef4567.abcdef12.prod.outlook.com"),
        "message ids are stored without brackets, lowercased: {}",
        record_json(&got)
    );
    assert_eq!(
        got,
        want,
        "expected\n{}\ngot\n{}",
        record_json(&want),
        record_json(&got)
    );
}

/// The Sentinel row has no OperationCount. It lists 7 FolderItems (two for one message);
/// the Defender CloudAppEvents row of the same access (a-bind-defender-cloudappevents-otrf.json,
/// same Id 699e0b10-...) says "OperationCount": 7, so the fallback must count listed items.
#[test]
fn sentinel_operation_count_agrees_with_defender() {
    let defender: serde_json::Value =
        serde_json::from_str(&sample_text("a-bind-defender-cloudappevents-otrf.json"))
            .expect("JSON");
    let same_access = defender["RawEventData"]["OperationCount"].as_u64();
    assert_eq!(same_access, Some(7));
    let got = only_record("a-bind-sentinel-officeactivity-otrf.json");
    assert_eq!(
        Some(mail(&got).operation_count),
        same_access,
        "operation_count of the Sentinel row: {}",
        record_json(&got)
    );
}

#[test]
fn defender_rows_lossy_mail_items_accessed_is_malformed_not_empty() {
    let name = "a-defender-cloudappevents-otrf-FULL.jsonl";
    let ing = ingest_file(&sample(name));
    let ops: BTreeMap<String, u64> = ing.records.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.operation.to_string()).or_default() += 1;
        m
    });
    let want_ops: BTreeMap<String, u64> = [
        ("LdapSearch", 5),
        ("Directory Services replication", 2),
        ("Add delegated permission grant.", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(
        ops,
        want_ops,
        "operations of the Defender rows\n{}",
        describe(&ing)
    );
    assert!(
        ing.records
            .iter()
            .all(|r| r.mail.is_none() && r.id != "699e0b10-1c53-403e-976f-ce0847a92b44"),
        "the lossy MailItemsAccessed row must not become an access without messages\n{}",
        describe(&ing)
    );
    let m = &ing.malformed_examples;
    assert_eq!(
        malformed_lines(&ing),
        vec![(8, "lossy-powershell".to_string())],
        "{}",
        describe(&ing)
    );
    assert!(
        m[0].path.ends_with(name) && m[0].why.contains("Folders") && m[0].why.contains("lost"),
        "the reason names the field and the loss: {}",
        m[0].location()
    );
}

#[test]
fn prophecy_raw_text_is_invalid_json_with_its_line() {
    let name = "a-bind-office365itpros-prophecy-raw.txt";
    let ing = ingest_file(&sample(name));
    assert_eq!(
        malformed_lines(&ing),
        vec![(2, "invalid-json".to_string())],
        "{}",
        describe(&ing)
    );
    assert!(ing.records.is_empty());
}

/// Regression: the record starts at byte 2 of the file (line 2); its unescaped `\I` is 1290
/// bytes into the record, and the reason points there, not at byte 0.
#[test]
fn invalid_json_reason_points_near_the_error() {
    let text = sample_text("a-bind-office365itpros-prophecy-raw.txt");
    let record_start = text.find('{').expect("{");
    let bad = text.find("\\I").expect("the unescaped \\I") - record_start;
    let ing = ingest_file(&sample("a-bind-office365itpros-prophecy-raw.txt"));
    let why = &ing.malformed_examples[0].why;
    let at: usize = why
        .split("near byte ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte offset in {why:?}"));
    assert!(
        at + 16 >= bad && at <= bad + 16,
        "the reason should point within 16 bytes of byte {bad} (the bad escape); got {why:?}"
    );
}

#[test]
fn purview_truncated_auditdata_is_reported() {
    let ing = ingest_file(&sample(
        "d-purview-portal-export-2022-sofelk257-TRUNCATED.txt",
    ));
    assert_eq!(
        malformed_lines(&ing),
        vec![(2, "truncated".to_string())],
        "{}",
        describe(&ing)
    );
    assert!(
        ing.malformed_examples[0].why.contains("AuditData"),
        "the reason names the field: {}",
        ing.malformed_examples[0].location()
    );
}

#[test]
fn search_ual_au_locale_uses_auditdata_time_and_wrapper_identity() {
    let got = only_record("d-search-ual-exportcsv-AU-locale-fixture.csv");
    let want = Record {
        // AuditData has no Id: the wrapper's Identity column.
        id: "8b236c9f-f890-4078-97e1-5e8d8abe4680".into(),
        // AuditData's CreationTime, not the d/M/yyyy wrapper "3/12/2025 7:31:34 AM".
        time: utc(2025, 12, 3, 7, 31, 34, 0),
        operation: "MailItemsAccessed".into(),
        user: "claire@oculus.info".into(),
        mailbox: Sym::EMPTY,
        mail: Some(Box::new(MailAccess {
            // No OperationProperties.
            access: AccessType::Unknown,
            throttled: false,
            operation_count: 1,
            logon_type: None,
            client_ip: "110.175.56.190".into(),
            client_ip_raw: "110.175.56.190".into(),
            client_info: "Client=OWA;Action=ViaProxy".into(),
            session_id: Sym::EMPTY,
            app_id: Sym::EMPTY,
            client_app_id: Sym::EMPTY,
            folders: vec![],
            synced_folder: None,
        })),
    };
    assert_eq!(
        got,
        want,
        "expected\n{}\ngot\n{}",
        record_json(&want),
        record_json(&got)
    );
}

#[test]
fn purview_full_csv_counts_match_an_independent_reading() {
    let path = sample("d-purview-portal-export-2023-huntressctf-FULL.csv");
    let ing = ingest_file(&path);
    let inv = inventory(&ing);

    // Independent: the csv crate, the Operation column and the AuditData CreationTime.
    let by_operation = csv_column_counts(&path, "Operation");
    let mut rdr = csv::Reader::from_path(&path).expect("CSV");
    let mut times = Vec::new();
    let mut ids = BTreeSet::new();
    for row in rdr.deserialize::<BTreeMap<String, String>>() {
        let row = row.expect("CSV row");
        let audit: serde_json::Value =
            serde_json::from_str(&row["AuditData"]).expect("AuditData JSON");
        times.push(
            audit["CreationTime"]
                .as_str()
                .expect("CreationTime")
                .to_string(),
        );
        ids.insert(row["RecordId"].to_lowercase());
    }
    times.sort();
    assert_eq!(times.len(), 219);
    assert_eq!(by_operation.values().sum::<u64>(), 219);

    assert_eq!(
        (
            inv.records,
            inv.mail_items_accessed,
            inv.other_operations,
            inv.duplicates,
            inv.malformed
        ),
        (219, 0, 219, 0, 0),
        "(records, mail_items_accessed, other_operations, duplicates, malformed)\n{}",
        describe(&ing)
    );
    assert_eq!(
        inv.by_operation, by_operation,
        "by_operation vs the CSV's Operation column"
    );
    assert_eq!(
        (inv.first_time.clone(), inv.last_time.clone()),
        (
            Some(format!("{}Z", times[0])),
            Some(format!("{}Z", times[218]))
        ),
        "first/last time vs AuditData CreationTime"
    );
    let got_ids: BTreeSet<String> = ing.records.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(got_ids, ids, "record ids vs the RecordId column");
    assert_eq!(ing.files[0].shape, "purview-portal-csv");
}

#[test]
fn management_api_content_blob() {
    let ing = ingest_file(&sample("e-management-api-content-blob-response.json"));
    let got: Vec<(String, i64, String, String)> = ing
        .records
        .iter()
        .map(|r| ((&r.id).into(), r.time, r.operation.into(), r.user.into()))
        .collect();
    let admin = "admin@contoso.onmicrosoft.com".to_string();
    let want = vec![
        (
            "80c76bd2-9d81-4c57-a97a-accfc3443dca".to_string(),
            utc(2015, 6, 29, 20, 3, 19, 0),
            "PasswordLogonInitialAuthUsingPassword".to_string(),
            admin.clone(),
        ),
        (
            "4e655d3f-35fa-42e0-b050-264b2d255c7a".to_string(),
            utc(2015, 6, 29, 20, 3, 34, 0),
            "PasswordLogonInitialAuthUsingPassword".to_string(),
            admin.clone(),
        ),
        (
            "b567caf0-088e-4c1c-a4ea-633a1e3d66c8".to_string(),
            utc(2015, 6, 29, 20, 4, 55, 0),
            "Add User.".to_string(),
            admin,
        ),
    ];
    assert_eq!(got, want, "{}", describe(&ing));
}

#[test]
fn exchange_item_records_are_other_operations() {
    let ing = ingest_file(&sample(
        "b-exchangeitem-item-parentfolder-elastic-beats.jsonl",
    ));
    let got: Vec<(String, String, String, bool)> = ing
        .records
        .iter()
        .map(|r| {
            (
                r.operation.into(),
                r.user.into(),
                r.mailbox.into(),
                r.mail.is_some(),
            )
        })
        .collect();
    let want = vec![
        (
            "ModifyFolderPermissions".to_string(),
            "S-1-5-18".to_string(),
            "allcompany.4529848321.eqpfynvc@testsiem.onmicrosoft.com".to_string(),
            false,
        ),
        (
            "Create".to_string(),
            "S-1-5-18".to_string(),
            "siemtest@testsiem.onmicrosoft.com".to_string(),
            false,
        ),
    ];
    assert_eq!(got, want, "{}", describe(&ing));
}

/// A Graph page holds many records; a malformed one is reported at the line its own object
/// starts on (3), not at the page's first line, so that in a page of 1,000 records every
/// error points to its record.
#[test]
fn graph_page_record_errors_point_at_the_record() {
    let name = "f-graph-auditlogquery-records-doc-response.json";
    let text = sample_text(name);
    let line = text
        .lines()
        .position(|l| l.contains("\"@odata.type\": \"#microsoft.graph.security.auditLogRecord\""))
        .expect("record") as u64;
    // The record's `{` is on the line before its first key.
    let ing = ingest_file(&sample(name));
    assert_eq!(
        malformed_lines(&ing),
        vec![(line, "bad-time".to_string())],
        "{}",
        describe(&ing)
    );
}

/// Records as PowerShell's `Format-List` writes them on a console `width` cells wide: each
/// name padded to the longest, then ` : ` and the value, which wraps onto lines that begin
/// with as many spaces (at any character: the wrap of a culture without word wrap); a blank
/// line before and after each record.
fn format_list(records: &[Vec<(&str, String)>], width: usize) -> String {
    let mut out = String::new();
    for fields in records {
        let pad = fields.iter().map(|(n, _)| n.len()).max().unwrap_or(0) + 3;
        let room = width.saturating_sub(pad).max(1);
        out.push_str("\r\n");
        for (name, value) in fields {
            let chars: Vec<char> = value.chars().collect();
            let mut pieces = chars.chunks(room).map(|c| c.iter().collect::<String>());
            let first = pieces.next().unwrap_or_default();
            out.push_str(&format!("{name:<0$} : {first}\r\n", pad - 3));
            for more in pieces {
                out.push_str(&format!("{:pad$}{more}\r\n", ""));
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// A Search-MailboxAuditLog -ShowDetails Export-Csv row (the header sample, with the values of
/// the reconstructed list sample): message ids only in AggregatedRecordFoldersData,
/// OperationProperties as `Name:Value` text, LogonType as a name, and LastAccessed as the only
/// time, in locale text: ambiguous without --date-order, 4 January with mdy. The same record
/// in the list view (`Format-List`, wrapped) gives the same record.
#[test]
fn search_mailboxauditlog_csv_row_with_date_order() {
    let header = sample_text("i-search-mailboxauditlog-showdetails-exportcsv-header.csv");
    let cols: Vec<String> = header
        .trim()
        .split(',')
        .map(|c| c.trim_matches('"').to_string())
        .collect();
    let value = |c: &str| -> String {
        match c {
            "Operation" => "MailItemsAccessed".into(),
            "OperationResult" => "Succeeded".into(),
            "LogonType" | "InternalLogonType" => "Owner".into(),
            "ClientIPAddress" => "[2001:db8::7]:443".into(),
            "ClientInfoString" => "Client=OWA;Action=ViaProxy;UserAgent=Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)".into(),
            "MailboxOwnerUPN" => "Admin@Contoso.example".into(),
            "SessionId" => "83cfdb36-f76f-4f64-aafd-8092c3c5c630".into(),
            "OperationProperties" => "MailAccessType:Bind IsThrottled:False".into(),
            "AuditOperationsCountInAggregatedRecord" => "2".into(),
            "AggregatedRecordFoldersData" => r#"[{"Id":"LgAAAABLy1EVJMgjR08x3DbRqCQZAQBoehgC2DSJT5aSH/QIKem4AAAAAAEMAAAB","Path":"\\Inbox","FolderItems":[{"InternetMessageId":"<SN2PR00MB01571C097EE2C3C01A5F3469B58E0@SN2PR00MB0157.namprd00.prod.outlook.com>"},{"InternetMessageId":"<SN2PR00MB01577327C464992FC9DCC85EB58E0@SN2PR00MB0157.namprd00.prod.outlook.com>"}]}]"#.into(),
            "LastAccessed" => "1/4/2019 3:15:00 PM".into(),
            "Identity" => "AAMkADBjNGF1NTM4LW3NTktNGJjMS1iYj15".into(),
            "IsValid" => "True".into(),
            "ObjectState" => "New".into(),
            _ => String::new(),
        }
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(&cols).unwrap();
    w.write_record(cols.iter().map(|c| value(c))).unwrap();
    let bytes = w.into_inner().unwrap();
    let dir = tempdir();
    let path = write(dir.path(), "mailboxauditlog.csv", &bytes);
    // The same record in the list view, as `Format-List` writes it on a console 120 cells
    // wide: names padded to the longest, ` : `, long values wrapped onto padded lines.
    let list = format_list(
        &[cols.iter().map(|c| (c.as_str(), value(c))).collect()],
        120,
    );
    assert!(list.lines().count() > cols.len(), "a value wraps:\n{list}");
    assert!(
        list.contains("x64) \r\n"),
        "the client string wraps right after a space, which must stay:\n{list}"
    );
    let listed = write(dir.path(), "mailboxauditlog.txt", list.as_bytes());

    let ing = ingest_file(&path);
    assert_eq!(
        malformed_lines(&ing),
        vec![(2, "bad-time".to_string())],
        "{}",
        describe(&ing)
    );
    assert!(
        ing.malformed_examples[0].why.contains("--date-order"),
        "{}",
        describe(&ing)
    );

    let from_list = ingest_file(&listed);
    assert_eq!(
        malformed_lines(&from_list),
        vec![(2, "bad-time".to_string())],
        "{}",
        describe(&from_list)
    );
    assert_eq!(from_list.files[0].shape, "search-mailboxauditlog-list");

    let mut o = opts(2, 4 << 20);
    o.date_order = Some(mailscope::parse::fields::DateOrder::MonthFirst);
    let ing = ingest_with(&[path], &o);
    assert_eq!(ing.records.len(), 1, "{}", describe(&ing));
    let from_list = ingest_with(&[listed], &o);
    assert_eq!(from_list.records, ing.records, "{}", describe(&from_list));
    let r = &ing.records[0];
    let m = r.mail.as_deref().unwrap();
    assert_eq!(
        mailscope::parse::fields::format_time(r.time),
        "2019-01-04T15:15:00Z"
    );
    assert_eq!(r.mailbox, "admin@contoso.example");
    assert_eq!(m.access, mailscope::model::AccessType::Bind);
    assert_eq!((m.logon_type, m.operation_count), (Some(0), 2));
    assert_eq!(m.client_ip, "2001:db8::7");
    let ids: Vec<&str> = m
        .items()
        .map(|(_, i)| i.internet_message_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "sn2pr00mb01571c097ee2c3c01a5f3469b58e0@sn2pr00mb0157.namprd00.prod.outlook.com",
            "sn2pr00mb01577327c464992fc9dcc85eb58e0@sn2pr00mb0157.namprd00.prod.outlook.com"
        ]
    );
    assert_eq!(r.id, "aamkadbjngf1ntm4lw3ntktngjjms1iyj15");
}
