//! The forensic rules, on records built from the real sample shapes.

use super::access::Accesses;
use super::contexts::{Key, contexts};
use super::filter::{Filter, IpNet};
use super::messages::messages;
use super::sessions::sessions;
use super::testutil::*;
use super::throttle::windows;
use crate::parse::fields::{format_time, parse_iso_time};

fn all(_: &crate::model::Record) -> bool {
    true
}

#[test]
fn repeats_within_the_hour_collapse_and_after_it_count() {
    let s = "s1";
    let recs = records(&[
        bind(
            "a",
            "2024-05-06T10:00:00",
            "1.2.3.4",
            s,
            "\\Inbox",
            &["<M1@x>"],
        ),
        // 59m59s after the kept one: collapses into it.
        bind(
            "b",
            "2024-05-06T10:59:59",
            "1.2.3.4",
            s,
            "\\Inbox",
            &["m1@X"],
        ),
        // 60m01s after the kept one (10:00): a new access.
        bind(
            "c",
            "2024-05-06T11:00:01",
            "1.2.3.4",
            s,
            "\\Inbox",
            &["m1@x"],
        ),
        // 59m after the second kept one: collapses.
        bind(
            "d",
            "2024-05-06T11:59:01",
            "1.2.3.4",
            s,
            "\\Inbox",
            &["m1@x"],
        ),
    ]);
    let acc = Accesses::build(&recs, all);
    let kept: Vec<String> = acc
        .items
        .iter()
        .filter(|a| a.kept)
        .map(|a| format_time(a.time))
        .collect();
    assert_eq!(kept, ["2024-05-06T10:00:00Z", "2024-05-06T11:00:01Z"]);
    let m = messages(&acc);
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].accesses, m[0].accesses_raw), (2, 4));
    assert_eq!(format_time(m[0].last_access), "2024-05-06T11:59:01Z");
}

#[test]
fn the_window_counts_from_the_last_kept_occurrence_not_the_last_seen() {
    // 10:00 kept; 10:40 and 11:20 are each within an hour of the previous occurrence, but
    // 11:20 is 80 minutes after the last kept one (10:00): kept.
    let recs = records(&[
        bind(
            "a",
            "2024-05-06T10:00:00",
            "1.2.3.4",
            "s",
            "\\Inbox",
            &["m@x"],
        ),
        bind(
            "b",
            "2024-05-06T10:40:00",
            "1.2.3.4",
            "s",
            "\\Inbox",
            &["m@x"],
        ),
        bind(
            "c",
            "2024-05-06T11:20:00",
            "1.2.3.4",
            "s",
            "\\Inbox",
            &["m@x"],
        ),
    ]);
    let acc = Accesses::build(&recs, all);
    assert_eq!(acc.items.iter().filter(|a| a.kept).count(), 2);
}

#[test]
fn the_same_message_in_two_contexts_is_two_accesses() {
    let recs = records(&[
        bind(
            "a",
            "2024-05-06T10:00:00",
            "1.2.3.4",
            "owner",
            "\\Inbox",
            &["m@x"],
        ),
        bind(
            "b",
            "2024-05-06T10:05:00",
            "203.0.113.9",
            "attacker",
            "\\Inbox",
            &["m@x"],
        ),
        // Same session and IP but another folder: another context too.
        bind(
            "c",
            "2024-05-06T10:06:00",
            "1.2.3.4",
            "owner",
            "\\Archive",
            &["m@x"],
        ),
    ]);
    let acc = Accesses::build(&recs, all);
    let m = messages(&acc);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].accesses, 3);
    assert_eq!(&*m[0].sessions, "attacker;owner");
    assert_eq!(&*m[0].client_ips, "1.2.3.4;203.0.113.9");
    assert_eq!(&*m[0].folder, "\\Archive;\\Inbox");
    let ctx = contexts(acc, &Key::ALL);
    assert_eq!(ctx.len(), 3);
    assert!(ctx.iter().all(|c| c.accesses == 1 && c.messages == 1));
}

#[test]
fn one_session_from_two_addresses_is_two_session_rows() {
    let recs = records(&[
        bind(
            "a",
            "2024-05-06T10:00:00",
            "203.0.113.9:5000",
            "s",
            "\\Inbox",
            &["m1@x"],
        ),
        bind(
            "b",
            "2024-05-06T10:30:00",
            "[2001:db8::9]:443",
            "s",
            "\\Inbox",
            &["m2@x"],
        ),
    ]);
    let acc = Accesses::build(&recs, all);
    let rows = sessions(&acc);
    let ips: Vec<&str> = rows.iter().map(|r| r.client_ip.as_str()).collect();
    assert_eq!(ips, ["203.0.113.9", "2001:db8::9"]);
    assert!(rows.iter().all(|r| r.session_id == "s" && r.messages == 1));
    // Grouped by session alone, it is one context with both messages.
    let by_session = contexts(acc, &[Key::Session]);
    assert_eq!(by_session.len(), 1);
    assert_eq!((by_session[0].records, by_session[0].messages), (2, 2));
}

#[test]
fn ip_filters_match_every_notation_and_cidrs() {
    let recs = records(&[
        bind(
            "a",
            "2024-05-06T10:00:00",
            "[2001:db8::1]:443",
            "s",
            "\\Inbox",
            &["m1@x"],
        ),
        bind(
            "b",
            "2024-05-06T10:00:00",
            "203.0.113.9:51234",
            "s",
            "\\Inbox",
            &["m2@x"],
        ),
        bind(
            "c",
            "2024-05-06T10:00:00",
            "::ffff:198.51.100.7",
            "s",
            "\\Inbox",
            &["m3@x"],
        ),
    ]);
    let ids = |nets: &[&str]| -> Vec<String> {
        let f = Filter {
            ips: nets.iter().map(|n| IpNet::parse(n).unwrap()).collect(),
            ..Filter::default()
        };
        recs.iter()
            .filter(|r| f.matches(r))
            .map(|r| r.id.to_string())
            .collect()
    };
    assert_eq!(ids(&["2001:db8::1"]), ["a"]);
    assert_eq!(ids(&["2001:db8::/32"]), ["a"]);
    assert_eq!(ids(&["203.0.113.9"]), ["b"]);
    assert_eq!(ids(&["203.0.113.0/24"]), ["b"]);
    assert_eq!(ids(&["198.51.100.7"]), ["c"]);
    assert_eq!(ids(&["203.0.113.0/24", "2001:db8::/32"]), ["a", "b"]);
    assert!(ids(&["10.0.0.0/8"]).is_empty());
}

#[test]
fn throttled_windows_merge_when_they_overlap() {
    let t = |id: &str, time: &str| throttled(bind(id, time, "1.2.3.4", "s", "\\Inbox", &["m@x"]));
    let recs = records(&[
        t("a", "2024-05-06T10:00:00"),
        t("b", "2024-05-07T09:00:00"), // inside the first window: merged, end moves
        t("c", "2024-05-09T00:00:00"), // after it: a window of its own
        bind(
            "d",
            "2024-05-06T11:00:00",
            "1.2.3.4",
            "s",
            "\\Inbox",
            &["m@x"],
        ),
    ]);
    let w = windows(&recs);
    let got: Vec<(String, String, usize)> = w
        .iter()
        .map(|w| (format_time(w.start), format_time(w.end), w.record_ids.len()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "2024-05-06T10:00:00Z".into(),
                "2024-05-08T09:00:00Z".into(),
                2
            ),
            (
                "2024-05-09T00:00:00Z".into(),
                "2024-05-10T00:00:00Z".into(),
                1
            ),
        ]
    );
}

#[test]
fn sync_records_give_folders_not_accesses() {
    let read = |name: &str| {
        let text = std::fs::read_to_string(format!(
            "{}/../shared/samples/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let recs = records(&[
        read("b-sync-item-parentfolder-RECONSTRUCTED.json"),
        read("b-sync-folders-variant-RECONSTRUCTED.json"),
    ]);
    for r in &recs {
        let m = r.mail.as_deref().unwrap();
        assert_eq!(m.access, crate::model::AccessType::Sync);
        assert_eq!(m.synced_folder.as_ref().unwrap().path, "\\Inbox");
    }
    let acc = Accesses::build(&recs, all);
    assert!(acc.items.is_empty());
    let s = sessions(&acc);
    assert_eq!(
        (s.len(), s[0].sync_records, s[0].synced_folders.as_str()),
        (1, 2, "\\Inbox")
    );
    assert!(
        contexts(acc, &Key::ALL).is_empty(),
        "contexts are bind accesses"
    );
}

#[test]
fn results_do_not_depend_on_record_order() {
    let mut vs = Vec::new();
    for i in 0..200 {
        let t = parse_iso_time("2024-05-06T00:00:00").unwrap() + (i * 7 % 50) * 600_000_000_000;
        vs.push(bind(
            &format!("r{i}"),
            &format_time(t),
            if i % 3 == 0 {
                "1.2.3.4"
            } else {
                "[2001:db8::1]:1"
            },
            &format!("s{}", i % 4),
            if i % 5 == 0 {
                "\\Inbox"
            } else {
                "\\Sent Items"
            },
            &[&format!("m{}@x", i % 13), &format!("m{}@x", i % 7)],
        ));
    }
    let a = records(&vs);
    vs.reverse();
    let mut b: Vec<_> = vs.iter().map(record).collect();
    b.rotate_left(17); // not even sorted
    let (aa, ab) = (Accesses::build(&a, all), Accesses::build(&b, all));
    assert_eq!(messages(&aa), messages(&ab));
    assert_eq!(contexts(aa, &Key::ALL), contexts(ab, &Key::ALL));
}

#[test]
fn gaps_are_said_in_words() {
    use crate::analyze::scope::format_gap;
    let s = 1_000_000_000i64;
    for (d, want) in [
        (s, "1 second"),
        (59 * s, "59 seconds"),
        (60 * s, "1 minute"),
        (3 * 60 * s + 59 * s, "3 minutes"),
        (3_600 * s, "1 hour"),
        (2 * 3_600 * s + 60 * s, "2 hours 1 minute"),
        (24 * 3_600 * s, "1 day"),
        (50 * 3_600 * s + 59 * 60 * s, "2 days 2 hours"),
    ] {
        assert_eq!(format_gap(d), want, "{d}");
    }
}
