//! `contexts`: bind accesses aggregated per access context (Microsoft's eight properties plus
//! AppId and ClientAppId), or per fewer keys (`--by`).
//!
//! Aggregation runs in two steps: per full context (an interned context id plus the two app
//! ids, no string is copied or hashed per access) in parallel with an associative merge, then
//! a projection of the few full contexts onto the requested keys.

use super::access::{Access, Accesses, Context, run_ends};
use crate::model::{Nanos, logon_type_label};
use crate::sym::Sym;
use ahash::AHashMap;
use rayon::prelude::*;

/// A property a context can be grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Key {
    Mailbox,
    User,
    Ip,
    Client,
    Session,
    Logon,
    Access,
    Folder,
    App,
    ClientApp,
}

impl Key {
    pub const ALL: [Key; 10] = [
        Key::Mailbox,
        Key::User,
        Key::Ip,
        Key::Client,
        Key::Session,
        Key::Logon,
        Key::Access,
        Key::Folder,
        Key::App,
        Key::ClientApp,
    ];

    pub fn column(self) -> &'static str {
        match self {
            Key::Mailbox => "mailbox",
            Key::User => "user",
            Key::Ip => "client_ip",
            Key::Client => "client_info",
            Key::Session => "session_id",
            Key::Logon => "logon_type",
            Key::Access => "access",
            Key::Folder => "folder",
            Key::App => "app_id",
            Key::ClientApp => "client_app_id",
        }
    }

    fn value(self, c: &Context, app: Sym, client_app: Sym) -> Sym {
        match self {
            Key::Mailbox => c.mailbox,
            Key::User => c.user,
            Key::Ip => c.client_ip,
            Key::Client => c.client_info,
            Key::Session => c.session_id,
            Key::Logon => Sym::new(&logon_type_label(c.logon_type)),
            Key::Access => Sym::new(c.access.as_str()),
            Key::Folder => c.folder,
            Key::App => app,
            Key::ClientApp => client_app,
        }
    }
}

/// One context's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextRow {
    /// The values of the grouping keys, in `--by` order.
    pub key: Vec<Sym>,
    pub first_seen: Nanos,
    pub last_seen: Nanos,
    /// Bind records in the context.
    pub records: u64,
    /// Sum of their `OperationCount`.
    pub operations: u64,
    /// Listed messages, before and after the one-hour de-duplication.
    pub accesses_raw: u64,
    pub accesses: u64,
    /// Distinct messages (mailbox, InternetMessageId).
    pub messages: u64,
    pub folders: u64,
    /// Sum of the sizes of the distinct messages (largest size seen for each).
    pub bytes: u64,
}

/// Plain counters of one group: merging is adding.
#[derive(Clone, Copy, Default)]
struct Counts {
    first: Option<Nanos>,
    last: Option<Nanos>,
    records: u64,
    operations: u64,
    accesses_raw: u64,
    accesses: u64,
    messages: u64,
    bytes: u64,
}

impl Counts {
    fn record(&mut self, time: Nanos, operations: u64) {
        self.first = Some(self.first.map_or(time, |t| t.min(time)));
        self.last = self.last.max(Some(time));
        self.records += 1;
        self.operations += operations;
    }
}

/// Access figures of one group, or of one group within one run (then `bytes` is the run's
/// largest size).
#[derive(Clone, Copy, Default)]
struct Sums {
    raw: u64,
    kept: u64,
    messages: u64,
    bytes: u64,
}

/// A (group, mailbox, message) one context saw, with the largest size it saw; `hash` is the
/// message's stored hash, beside it so that sorting reads a message's text only to tell apart
/// two messages whose hashes agree.
#[derive(Clone, Copy)]
struct GroupMessage {
    group: u32,
    hash: u64,
    mailbox: Sym,
    message: Sym,
    size: u64,
}

impl GroupMessage {
    fn order(&self, other: &Self) -> std::cmp::Ordering {
        (self.group, self.hash)
            .cmp(&(other.group, other.hash))
            .then_with(|| self.mailbox.hash_order(&other.mailbox))
            .then_with(|| self.message.cmp(&other.message))
    }

    fn same(&self, other: &Self) -> bool {
        self.group == other.group
            && self.hash == other.hash
            && self.mailbox == other.mailbox
            && self.message == other.message
    }
}

/// Adds to each group's counts its distinct (mailbox, message) entries, each once with its
/// largest size, however many contexts saw it.
fn count_messages(mut messages: Vec<GroupMessage>, counts: &mut [Counts]) {
    // Sorted by numbers only (group, the message's hash, the mailbox's hash), so the sort never
    // reads a message's text; a run of equal numbers is then almost always copies of one
    // (mailbox, message), and is ordered by text only when it is not (a hash collision).
    let numbers = |m: &GroupMessage| (m.group, m.hash, m.mailbox.hash_value());
    messages.par_sort_unstable_by_key(numbers);
    for run in messages.chunk_by_mut(|a, b| numbers(a) == numbers(b)) {
        if run[1..].iter().any(|m| !m.same(&run[0])) {
            run.sort_unstable_by(GroupMessage::order);
        }
        for copies in run.chunk_by(GroupMessage::same) {
            let c = &mut counts[copies[0].group as usize];
            c.messages += 1;
            c.bytes += copies.iter().map(|m| m.size).max().unwrap_or(0);
        }
    }
}

/// What one piece of whole runs adds: sums per (context, group), and, unless each group is
/// one full context, each (group, mailbox, message) it saw with the largest size.
#[derive(Default)]
struct Piece {
    sums: Vec<(u32, Sums)>,
    messages: Vec<GroupMessage>,
}

/// Sums per group, in order of first sight: looked up in order while there are a few (a
/// context falls into a few groups, a run almost always into one), through a map beyond that
/// (a context read by many apps), so no input makes the lookups quadratic.
#[derive(Default)]
struct GroupSums {
    list: Vec<(u32, Sums)>,
    index: AHashMap<u32, usize>,
}

impl GroupSums {
    const SCAN: usize = 8;

    fn entry(&mut self, group: u32) -> &mut Sums {
        let found = if self.list.len() <= Self::SCAN {
            self.list.iter().position(|(g, _)| *g == group)
        } else {
            if self.index.is_empty() {
                self.index = self
                    .list
                    .iter()
                    .enumerate()
                    .map(|(i, (g, _))| (*g, i))
                    .collect();
            }
            self.index.get(&group).copied()
        };
        let i = found.unwrap_or_else(|| {
            self.list.push((group, Sums::default()));
            if !self.index.is_empty() {
                self.index.insert(group, self.list.len() - 1);
            }
            self.list.len() - 1
        });
        &mut self.list[i].1
    }

    /// Moves the entries out (appended to `out`) and starts empty.
    fn drain_into(&mut self, out: &mut Vec<(u32, Sums)>) {
        out.append(&mut self.list);
        self.index.clear();
    }
}

/// The runs of `acc.items` that share (context, message): the de-duplication leaves each
/// key's occurrences together.
fn runs(items: &[Access]) -> impl Iterator<Item = &[Access]> {
    items.chunk_by(Access::same_key)
}

/// `items` cut into about `pieces` pieces of whole runs (see [`runs`]).
fn whole_runs(items: &[Access], pieces: usize) -> Vec<&[Access]> {
    let mut start = 0;
    run_ends(items, pieces, Access::same_key)
        .into_iter()
        .map(|end| {
            let piece = &items[start..end];
            start = end;
            piece
        })
        .collect()
}

/// Aggregates the bind accesses of `acc` per context, grouped by `by`. Takes the accesses so
/// that each of their vectors is freed as soon as it has been summed: the rows are built in
/// the memory the listed messages held.
pub fn contexts(acc: Accesses<'_>, by: &[Key]) -> Vec<ContextRow> {
    let Accesses {
        records,
        contexts,
        fulls,
        record_contexts,
        items,
    } = acc;
    let operations = |rec: u32| {
        records[rec as usize]
            .mail
            .as_deref()
            .expect("accesses hold MailItemsAccessed records")
            .operation_count
    };
    let key_of = |full: u32| -> Vec<Sym> {
        let (ctx, app, capp) = fulls[full as usize];
        let c = &contexts[ctx as usize];
        by.iter().map(|k| k.value(c, app, capp)).collect()
    };
    // Group of each full context, and each group's first full context (its key is built from
    // that one when the rows are).
    // Grouped by every key, each full context is its own group: no lookup needed.
    let identity = Key::ALL.iter().all(|k| by.contains(k));
    let (group_of, group_first): (Vec<u32>, Vec<u32>) = if identity {
        let all: Vec<u32> = (0..fulls.len() as u32).collect();
        (all.clone(), all)
    } else {
        let mut group_ids: AHashMap<Vec<Sym>, u32> = AHashMap::new();
        let mut group_first: Vec<u32> = Vec::new();
        let group_of = (0..fulls.len() as u32)
            .map(|full| {
                *group_ids.entry(key_of(full)).or_insert_with(|| {
                    group_first.push(full);
                    (group_first.len() - 1) as u32
                })
            })
            .collect();
        (group_of, group_first)
    };
    // The access figures of each group, from pieces of whole runs in parallel. Accesses are
    // sorted by context, so a piece sums the groups of one context at a time (a context falls
    // into a few groups: its full contexts differ only in their app ids) and keeps one entry
    // per (context, group), not one per run.
    let pieces: Vec<Piece> = whole_runs(&items, rayon::current_num_threads() * 4)
        .into_par_iter()
        .map(|piece| {
            let mut out = Piece::default();
            // The groups of the current context, and of the current run.
            let mut context = GroupSums::default();
            let mut run_groups = GroupSums::default();
            let mut current = None;
            for run in runs(piece) {
                let ctx = run[0].ctx;
                if current != Some(ctx) {
                    context.drain_into(&mut out.sums);
                    current = Some(ctx);
                }
                for it in run {
                    let sums = run_groups.entry(group_of[it.full as usize]);
                    sums.raw += 1;
                    sums.kept += it.kept as u64;
                    sums.bytes = sums.bytes.max(it.size().unwrap_or(0));
                }
                run_groups.index.clear();
                for (g, r) in run_groups.list.drain(..) {
                    let sums = context.entry(g);
                    sums.raw += r.raw;
                    sums.kept += r.kept;
                    // Grouped by every key, a run's group is one (group, message): a group is
                    // one full context, which fixes the context and so the mailbox, and a run
                    // is one message. Otherwise one message can fall into a group from
                    // several contexts: counted once below, with its largest size.
                    if identity {
                        sums.messages += 1;
                        sums.bytes += r.bytes;
                    } else {
                        out.messages.push(GroupMessage {
                            group: g,
                            hash: run[0].message_hash,
                            mailbox: contexts[ctx as usize].mailbox,
                            message: run[0].message,
                            size: r.bytes,
                        });
                    }
                }
            }
            context.drain_into(&mut out.sums);
            out
        })
        .collect();
    drop(items);
    let groups = group_first.len();
    let mut counts = vec![Counts::default(); groups];
    // Records: once per group, however many of its folders fall into it. The record contexts
    // are sorted by record, so each record's groups are a short run of their own.
    let mut rec_groups: Vec<u32> = Vec::new();
    for run in record_contexts.chunk_by(|a, b| a.0 == b.0) {
        let rec = run[0].0;
        rec_groups.clear();
        rec_groups.extend(run.iter().map(|&(_, _, f)| group_of[f as usize]));
        rec_groups.sort_unstable();
        rec_groups.dedup();
        for &g in &rec_groups {
            counts[g as usize].record(records[rec as usize].time, operations(rec));
        }
    }
    // Folders: the distinct non-empty folders of each group. Grouped by every key, a group is
    // one full context and so one folder.
    let folder_of_full = |f: u32| contexts[fulls[f as usize].0 as usize].folder;
    let folders: Vec<u64> = if identity {
        (0..groups as u32)
            .map(|f| u64::from(!folder_of_full(f).is_empty()))
            .collect()
    } else {
        let mut group_folders: Vec<(u32, Sym)> = record_contexts
            .iter()
            .filter_map(|&(_, _, f)| {
                let folder = folder_of_full(f);
                (!folder.is_empty()).then_some((group_of[f as usize], folder))
            })
            .collect();
        group_folders.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.hash_order(&b.1)));
        group_folders.dedup();
        let mut folders = vec![0u64; groups];
        for &(g, _) in &group_folders {
            folders[g as usize] += 1;
        }
        folders
    };
    drop(record_contexts);
    // Access figures, summed per (context, group) by the pieces.
    let (sums, messages): (Vec<_>, Vec<_>) =
        pieces.into_iter().map(|p| (p.sums, p.messages)).unzip();
    for (g, s) in sums.into_iter().flatten() {
        let c = &mut counts[g as usize];
        c.accesses_raw += s.raw;
        c.accesses += s.kept;
        c.messages += s.messages;
        c.bytes += s.bytes;
    }
    // Messages: each distinct (mailbox, message) of a group once, with its largest size: the
    // pieces' entries sorted in parallel, so that each one's copies from several contexts are
    // together.
    count_messages(crate::flat::concat(messages), &mut counts);
    let mut rows: Vec<ContextRow> = group_first
        .into_par_iter()
        .zip(counts)
        .zip(folders)
        .map(|((full, c), f)| ContextRow {
            key: key_of(full),
            first_seen: c.first.unwrap_or_default(),
            last_seen: c.last.unwrap_or_default(),
            records: c.records,
            operations: c.operations,
            accesses_raw: c.accesses_raw,
            accesses: c.accesses,
            messages: c.messages,
            folders: f,
            bytes: c.bytes,
        })
        .collect();
    // Keys are distinct, so no two rows compare equal: the unstable sort (no buffer of the
    // rows' size) gives the one order.
    rows.par_sort_unstable_by(|a, b| (a.first_seen, &a.key).cmp(&(b.first_seen, &b.key)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::access::context_of;
    use crate::analyze::testutil::{bind, records};
    use crate::parse::fields::{format_time, parse_iso_time};
    use std::collections::BTreeMap;

    /// A group's accesses before and after the one-hour rule, and the largest size of each
    /// of its (mailbox, message).
    type Plain = (u64, u64, BTreeMap<(Sym, Sym), u64>);

    /// accesses_raw, accesses, messages and bytes of each group, counted the plain way: every
    /// access of `acc.items` looked at on its own, distinct messages in a map.
    fn oracle(acc: &Accesses<'_>, by: &[Key]) -> BTreeMap<Vec<Sym>, (u64, u64, u64, u64)> {
        let mut figures: BTreeMap<Vec<Sym>, Plain> = BTreeMap::new();
        for it in &acc.items {
            let (ctx, app, capp) = acc.fulls[it.full as usize];
            let c = &acc.contexts[ctx as usize];
            let key: Vec<Sym> = by.iter().map(|k| k.value(c, app, capp)).collect();
            let e = figures.entry(key).or_default();
            e.0 += 1;
            e.1 += it.kept as u64;
            let size = e.2.entry((c.mailbox, it.message)).or_default();
            *size = (*size).max(it.size().unwrap_or(0));
        }
        figures
            .into_iter()
            .map(|(k, (raw, kept, msgs))| {
                let bytes = msgs.values().sum();
                (k, (raw, kept, msgs.len() as u64, bytes))
            })
            .collect()
    }

    /// Runs `check` on the accesses of `recs` built on 1, 2 and 3 threads.
    fn on_1_to_3_threads(
        recs: &[crate::model::Record],
        check: impl Fn(Accesses<'_>, usize) -> Result<(), proptest::test_runner::TestCaseError> + Sync,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        for threads in 1..=3 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| check(Accesses::build(recs, |_| true), threads))?;
        }
        Ok(())
    }

    /// Messages whose hashes agree are still told apart by their text, whatever the order of
    /// the entries (the stored hashes are set by hand here: real ones seldom collide).
    #[test]
    fn messages_with_equal_hashes_are_distinct() {
        let entry = |group, mailbox, message, size| GroupMessage {
            group,
            hash: 7,
            mailbox: Sym::new(mailbox),
            message: Sym::new_unshared(message),
            size,
        };
        let mut entries = vec![
            entry(0, "a@x", "m1", 10),
            entry(0, "a@x", "m2", 20),
            entry(0, "a@x", "m1", 30),
            entry(0, "b@x", "m1", 40),
            entry(1, "a@x", "m2", 50),
            entry(0, "a@x", "m2", 5),
        ];
        for turn in 0..entries.len() {
            entries.rotate_left(1);
            let mut counts = vec![Counts::default(); 2];
            count_messages(entries.clone(), &mut counts);
            let got: Vec<(u64, u64)> = counts.iter().map(|c| (c.messages, c.bytes)).collect();
            // group 0: (a, m1) 30, (a, m2) 20, (b, m1) 40; group 1: (a, m2) 50
            assert_eq!(got, [(3, 90), (1, 50)], "turn {turn}");
        }
    }

    /// Record figures of a group: its records (each with its operation count), non-empty
    /// folders and times.
    type PlainRecords = (
        BTreeMap<u32, u64>,
        std::collections::BTreeSet<Sym>,
        Vec<Nanos>,
    );

    /// records, operations, folders, first_seen and last_seen of each group, counted the plain
    /// way from the selected records themselves: each (record, folder) put in its group.
    fn record_oracle(
        acc: &Accesses<'_>,
        by: &[Key],
    ) -> BTreeMap<Vec<Sym>, (u64, u64, u64, Nanos, Nanos)> {
        let mut figures: BTreeMap<Vec<Sym>, PlainRecords> = BTreeMap::new();
        for (i, r) in acc.records.iter().enumerate() {
            let m = r.mail.as_deref().unwrap();
            let folders: Vec<Sym> = if m.folders.is_empty() {
                vec![Sym::EMPTY]
            } else {
                m.folders.iter().map(|f| f.path).collect()
            };
            for folder in folders {
                let c = context_of(r, m, folder);
                let key: Vec<Sym> = by
                    .iter()
                    .map(|k| k.value(&c, m.app_id, m.client_app_id))
                    .collect();
                let e = figures.entry(key).or_default();
                e.0.insert(i as u32, m.operation_count);
                if !folder.is_empty() {
                    e.1.insert(folder);
                }
                e.2.push(r.time);
            }
        }
        figures
            .into_iter()
            .map(|(k, (recs, folders, times))| {
                let first = times.iter().copied().min().unwrap();
                let last = times.iter().copied().max().unwrap();
                let ops = recs.values().sum();
                (
                    k,
                    (recs.len() as u64, ops, folders.len() as u64, first, last),
                )
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The record figures of every group (records once however many of their folders fall
        /// into it, operations, distinct non-empty folders, first and last time) are the plain
        /// count's, grouped by every key or by fewer; records with one to three folders, some
        /// with an empty path; 1 to 3 threads.
        #[test]
        fn record_figures_are_the_plain_count(
            raw in proptest::collection::vec(
                (0usize..3, 0usize..3, 0i64..300, 1u64..5, proptest::collection::vec(0usize..4, 1..4)),
                1..40,
            )
        ) {
            const PATHS: [&str; 4] = ["\\Inbox", "\\Archive", "\\Sent Items", ""];
            let start = parse_iso_time("2024-05-06T00:00:00").unwrap();
            let vs: Vec<serde_json::Value> = raw
                .iter()
                .enumerate()
                .map(|(i, (session, app, minute, ops, folders))| {
                    let time = format_time(start + minute * 60_000_000_000);
                    let mut v = bind(&format!("r{i}"), &time, "1.2.3.4", &format!("s{session}"), "", &[]);
                    v["AppId"] = serde_json::json!(format!("app{app}"));
                    v["OperationCount"] = serde_json::json!(ops);
                    v["Folders"] = folders
                        .iter()
                        .enumerate()
                        .map(|(j, &f)| serde_json::json!({
                            "Id": format!("f{f}"),
                            "Path": PATHS[f],
                            "FolderItems": [{"InternetMessageId": format!("m{i}.{j}@x"), "SizeInBytes": 10}],
                        }))
                        .collect();
                    v
                })
                .collect();
            on_1_to_3_threads(&records(&vs), |acc, threads| {
                for by in [&Key::ALL[..], &[Key::Mailbox], &[Key::Session], &[Key::Folder, Key::App]] {
                    let got: BTreeMap<Vec<Sym>, (u64, u64, u64, Nanos, Nanos)> = contexts(acc.clone(), by)
                        .into_iter()
                        .map(|r| (r.key, (r.records, r.operations, r.folders, r.first_seen, r.last_seen)))
                        .collect();
                    proptest::prop_assert_eq!(&got, &record_oracle(&acc, by), "by {:?}, {} threads", by, threads);
                }
                Ok(())
            })?;
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The access figures of every group are the plain count's, grouped by every key or
        /// by fewer; with up to 20 apps reading in one context (past the in-order lookup of
        /// `GroupSums`), repeated messages of different sizes, and 1 to 3 threads.
        #[test]
        fn access_figures_are_the_plain_count(
            raw in proptest::collection::vec(
                (0usize..2, 0usize..20, 0i64..300, proptest::collection::vec((0usize..6, 0u64..4), 1..4)),
                1..60,
            )
        ) {
            let start = parse_iso_time("2024-05-06T00:00:00").unwrap();
            let vs: Vec<serde_json::Value> = raw
                .iter()
                .enumerate()
                .map(|(i, (session, app, minute, msgs))| {
                    let names: Vec<String> = msgs.iter().map(|(m, _)| format!("m{m}@x")).collect();
                    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                    let time = format_time(start + minute * 60_000_000_000);
                    let mut v = bind(&format!("r{i}"), &time, "1.2.3.4", &format!("s{session}"), "\\Inbox", &refs);
                    v["AppId"] = serde_json::json!(format!("app{app}"));
                    for (j, (_, size)) in msgs.iter().enumerate() {
                        v["Folders"][0]["FolderItems"][j]["SizeInBytes"] = serde_json::json!(1000 + size);
                    }
                    v
                })
                .collect();
            on_1_to_3_threads(&records(&vs), |acc, threads| {
                for by in [&Key::ALL[..], &[Key::Mailbox], &[Key::Session], &[Key::App, Key::Ip]] {
                    let got: BTreeMap<Vec<Sym>, (u64, u64, u64, u64)> = contexts(acc.clone(), by)
                        .into_iter()
                        .map(|r| (r.key, (r.accesses_raw, r.accesses, r.messages, r.bytes)))
                        .collect();
                    proptest::prop_assert_eq!(&got, &oracle(&acc, by), "by {:?}, {} threads", by, threads);
                }
                Ok(())
            })?;
        }
    }
}
