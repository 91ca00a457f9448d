//! `sessions`: one row per (mailbox, user, session, client IP, client): the list in which
//! an investigator spots the attacker. See: ../shared/docs/forensics.md, the practitioners'
//! workflow (sessions first, then their messages).

use super::access::{Accesses, join_set, mail};
use crate::distinct::first_occurrence_ids;
use crate::model::{AccessType, Nanos, Record, logon_type_label};
use crate::sym::Sym;
use rayon::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub mailbox: String,
    pub user: String,
    pub session_id: String,
    pub client_ip: String,
    pub client_info: String,
    pub first_seen: Nanos,
    pub last_seen: Nanos,
    /// MailItemsAccessed records of every access type.
    pub records: u64,
    /// Sum of `OperationCount` over the bind records.
    pub bind_operations: u64,
    pub sync_records: u64,
    /// Distinct messages read in binds.
    pub messages: u64,
    /// Message accesses after the one-hour de-duplication.
    pub accesses: u64,
    /// Folders synced (`;`-separated).
    pub synced_folders: String,
    pub logon_types: String,
    pub app_ids: String,
}

/// A session: (mailbox, user, session id, client IP, client string).
type Key = (Sym, Sym, Sym, Sym, Sym);

/// A session's figures that are counts and times.
#[derive(Clone, Copy, Default)]
struct Figures {
    first: Nanos,
    last: Nanos,
    records: u64,
    bind_operations: u64,
    sync_records: u64,
    messages: u64,
    accesses: u64,
}

/// The values of one property per session, `;`-joined in text order (see [`join_set`]):
/// `pairs` is (session, value), in any order.
fn joined(sessions: usize, mut pairs: Vec<(u32, Sym)>) -> Vec<String> {
    pairs.par_sort_unstable_by_key(|&(s, v)| (s, v.hash_value()));
    pairs.dedup();
    let mut out = vec![String::new(); sessions];
    for run in pairs.chunk_by(|a, b| a.0 == b.0) {
        out[run[0].0 as usize] = join_set(run.iter().map(|(_, v)| v.as_str()));
    }
    out
}

/// One row per (mailbox, user, session, client IP, client), sorted by first seen and then
/// that key.
///
/// The sessions are numbered in parallel (see [`first_occurrence_ids`]); the records then add
/// to their session's counters, and the messages are counted per session by sorting the
/// accesses by (session, message hash): no map is looked up per record or access.
pub fn sessions(acc: &Accesses<'_>) -> Vec<SessionRow> {
    let key = |r: &&Record| -> Key {
        let m = mail(r);
        (r.mailbox, r.user, m.session_id, m.client_ip, m.client_info)
    };
    let (session_of, firsts) = first_occurrence_ids(&acc.records, key);
    let n = firsts.len();
    let mut figures = vec![
        Figures {
            first: Nanos::MAX,
            last: Nanos::MIN,
            ..Figures::default()
        };
        n
    ];
    let (mut synced, mut logons, mut apps) = (Vec::new(), Vec::new(), Vec::new());
    for (r, &s) in acc.records.iter().zip(&session_of) {
        let m = mail(r);
        let f = &mut figures[s as usize];
        f.first = f.first.min(r.time);
        f.last = f.last.max(r.time);
        f.records += 1;
        match m.access {
            AccessType::Sync => {
                f.sync_records += 1;
                if let Some(folder) = &m.synced_folder {
                    synced.push((s, folder.path));
                }
            }
            _ => f.bind_operations += m.operation_count,
        }
        logons.push((s, m.logon_type));
        apps.push((s, m.app_id));
    }
    // Distinct messages and kept accesses per session: the accesses sorted by (session,
    // message hash); messages whose hashes are equal are told apart by their text.
    let mut read: Vec<(u32, u64, Sym, bool)> = acc
        .items
        .par_iter()
        .map(|a| {
            (
                session_of[a.rec as usize],
                a.message_hash,
                a.message,
                a.kept,
            )
        })
        .collect();
    read.par_sort_unstable_by_key(|&(s, h, ..)| (s, h));
    for run in read.chunk_by_mut(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let f = &mut figures[run[0].0 as usize];
        f.accesses += run.iter().filter(|a| a.3).count() as u64;
        f.messages += if run.iter().all(|a| a.2 == run[0].2) {
            1
        } else {
            run.sort_unstable_by_key(|a| a.2);
            run.chunk_by(|a, b| a.2 == b.2).count() as u64
        };
    }
    drop(read);
    let synced = joined(n, synced);
    let apps = joined(n, apps);
    // Named (interned) once per distinct (session, logon type), not once per record.
    logons.par_sort_unstable();
    logons.dedup();
    let logons = joined(
        n,
        logons
            .into_iter()
            .map(|(s, t)| (s, Sym::new(&logon_type_label(t))))
            .collect(),
    );
    // Output order: first seen, then the key.
    let mut order: Vec<(Nanos, Key, u32)> = firsts
        .par_iter()
        .enumerate()
        .map(|(s, &r)| (figures[s].first, key(&acc.records[r as usize]), s as u32))
        .collect();
    order.par_sort_unstable();
    order
        .par_iter()
        .map(|&(_, (mailbox, user, session, ip, client), s)| {
            let s = s as usize;
            let f = figures[s];
            SessionRow {
                mailbox: mailbox.into(),
                user: user.into(),
                session_id: session.into(),
                client_ip: ip.into(),
                client_info: client.into(),
                first_seen: f.first,
                last_seen: f.last,
                records: f.records,
                bind_operations: f.bind_operations,
                sync_records: f.sync_records,
                messages: f.messages,
                accesses: f.accesses,
                synced_folders: synced[s].clone(),
                logon_types: logons[s].clone(),
                app_ids: apps[s].clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Folder, Item, MailAccess, logon_type_label};
    use std::collections::{BTreeMap, BTreeSet};

    /// The rows by the plain definition: records and accesses grouped by the text of the key,
    /// distinct messages by their text.
    fn oracle(acc: &Accesses<'_>) -> Vec<SessionRow> {
        type Text = (String, String, String, String, String);
        let text =
            |k: Key| -> Text { (k.0.into(), k.1.into(), k.2.into(), k.3.into(), k.4.into()) };
        let key_of = |r: &Record| {
            let m = mail(r);
            text((r.mailbox, r.user, m.session_id, m.client_ip, m.client_info))
        };
        let mut rows: BTreeMap<Text, (SessionRow, [BTreeSet<String>; 4])> = BTreeMap::new();
        for r in &acc.records {
            let m = mail(r);
            let k = key_of(r);
            let (row, sets) = rows.entry(k.clone()).or_insert_with(|| {
                let row = SessionRow {
                    mailbox: k.0,
                    user: k.1,
                    session_id: k.2,
                    client_ip: k.3,
                    client_info: k.4,
                    first_seen: r.time,
                    last_seen: r.time,
                    records: 0,
                    bind_operations: 0,
                    sync_records: 0,
                    messages: 0,
                    accesses: 0,
                    synced_folders: String::new(),
                    logon_types: String::new(),
                    app_ids: String::new(),
                };
                (row, Default::default())
            });
            row.first_seen = row.first_seen.min(r.time);
            row.last_seen = row.last_seen.max(r.time);
            row.records += 1;
            if m.access == AccessType::Sync {
                row.sync_records += 1;
                sets[0].extend(m.synced_folder.as_ref().map(|f| f.path.to_string()));
            } else {
                row.bind_operations += m.operation_count;
            }
            sets[1].insert(logon_type_label(m.logon_type).into_owned());
            sets[2].insert(m.app_id.to_string());
        }
        for a in &acc.items {
            let (row, sets) = rows.get_mut(&key_of(acc.record(a))).unwrap();
            row.accesses += a.kept as u64;
            sets[3].insert(a.message.to_string());
        }
        let mut rows: Vec<SessionRow> = rows
            .into_values()
            .map(|(mut row, sets)| {
                let join = |s: &BTreeSet<String>| join_set(s.iter().map(String::as_str));
                row.synced_folders = join(&sets[0]);
                row.logon_types = join(&sets[1]);
                row.app_ids = join(&sets[2]);
                row.messages = sets[3].len() as u64;
                row
            })
            .collect();
        rows.sort_by(|a, b| {
            let k = |r: &SessionRow| {
                (
                    r.first_seen,
                    r.mailbox.clone(),
                    r.user.clone(),
                    r.session_id.clone(),
                    r.client_ip.clone(),
                    r.client_info.clone(),
                )
            };
            k(a).cmp(&k(b))
        });
        rows
    }

    proptest::proptest! {
        /// Numbering the sessions and sorting the accesses gives the plain definition's rows,
        /// on 1 to 3 threads, also when different messages share a hash (forced: four
        /// messages, two hashes) and when a session syncs, binds, and uses several logon
        /// types and app ids.
        #[test]
        fn rows_are_the_plain_grouping(
            raw in proptest::collection::vec(
                (0usize..2, 0usize..2, 0usize..2, 0usize..4, 0usize..4, 0i64..100),
                1..40,
            )
        ) {
            let syms = |v: [&str; 2]| v.map(Sym::new);
            let (ips, sessions_ids, apps) = (
                syms(["203.0.113.1", "198.51.100.2"]),
                syms(["s1", "s2"]),
                syms(["", "app"]),
            );
            let ids = ["a@x", "b@x", "c@x", "d@x"].map(Sym::new_unshared);
            let records: Vec<Record> = raw
                .iter()
                .enumerate()
                .map(|(i, &(ip, session, app, m, kind, minute))| {
                    let sync = kind == 3;
                    let folder = |items| Folder { id: Sym::EMPTY, path: Sym::new("\\Inbox"), items };
                    let items = vec![Item { internet_message_id: ids[m], size_bytes: None }];
                    Record {
                        id: crate::model::RecordId::new(&format!("r{i}")),
                        time: minute * 60_000_000_000,
                        operation: Sym::new("MailItemsAccessed"),
                        user: Sym::new("u@x"),
                        mailbox: Sym::new("u@x"),
                        mail: Some(Box::new(MailAccess {
                            access: if sync { AccessType::Sync } else { AccessType::Bind },
                            throttled: false,
                            operation_count: 1 + kind as u64,
                            logon_type: Some(kind as u8 % 2),
                            client_ip: ips[ip],
                            client_ip_raw: ips[ip],
                            client_info: Sym::EMPTY,
                            session_id: sessions_ids[session],
                            app_id: apps[app],
                            client_app_id: Sym::EMPTY,
                            folders: if sync { Vec::new() } else { vec![folder(items)] },
                            synced_folder: sync.then(|| Box::new(folder(Vec::new()))),
                        })),
                    }
                })
                .collect();
            let mut acc = Accesses::build(&records, |_| true);
            for a in &mut acc.items {
                a.message_hash = if a.message == ids[0] || a.message == ids[1] { 7 } else { 9 };
            }
            let want = oracle(&acc);
            for threads in 1..=3 {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let got = pool.install(|| sessions(&acc));
                proptest::prop_assert_eq!(&got, &want, "{} threads", threads);
            }
        }
    }
}
