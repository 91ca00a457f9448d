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

/// The runs of `acc.items` that share (context, message): the de-duplication leaves each
/// key's occurrences together.
fn runs(items: &[Access]) -> impl Iterator<Item = &[Access]> {
    items.chunk_by(Access::same_key)
}

/// `items` cut into about `pieces` pieces of whole runs (see [`runs`]), each with the index of
/// its first access.
fn whole_runs(items: &[Access], pieces: usize) -> Vec<(usize, &[Access])> {
    let mut start = 0;
    run_ends(items, pieces, Access::same_key)
        .into_iter()
        .map(|end| {
            let piece = (start, &items[start..end]);
            start = end;
            piece
        })
        .collect()
}

/// Aggregates the bind accesses of `acc` per context, grouped by `by`.
pub fn contexts(acc: &Accesses<'_>, by: &[Key]) -> Vec<ContextRow> {
    let operations = |rec: u32| {
        acc.records[rec as usize]
            .mail
            .as_deref()
            .expect("accesses hold MailItemsAccessed records")
            .operation_count
    };
    let fulls = &acc.fulls;
    let rec_full = || {
        acc.record_contexts
            .iter()
            .map(|&(rec, _, full)| (rec, full))
    };
    // Per run of one (context, message): its accesses per full context (almost always one:
    // the records of a run differ at most in their app ids).
    struct Part {
        full: u32,
        raw: u64,
        kept: u64,
        size: u64,
    }
    // (index of the run's first access, part), from pieces of whole runs in parallel.
    // Kept per piece (not concatenated): one copy of the parts, not two.
    let pieces: Vec<Vec<(usize, Part)>> = whole_runs(&acc.items, rayon::current_num_threads() * 4)
        .into_par_iter()
        .map(|(mut at, piece)| {
            let mut parts: Vec<(usize, Part)> = Vec::new();
            for run in runs(piece) {
                let first = parts.len();
                for it in run {
                    let f = it.full;
                    let i = match parts[first..].iter().position(|(_, p)| p.full == f) {
                        Some(i) => first + i,
                        None => {
                            let part = Part {
                                full: f,
                                raw: 0,
                                kept: 0,
                                size: 0,
                            };
                            parts.push((at, part));
                            parts.len() - 1
                        }
                    };
                    let p = &mut parts[i].1;
                    p.raw += 1;
                    p.kept += it.kept as u64;
                    p.size = p.size.max(it.size().unwrap_or(0));
                }
                at += run.len();
            }
            parts
        })
        .collect();
    // Group of each full context.
    let mut group_ids: AHashMap<Vec<Sym>, u32> = AHashMap::new();
    let mut groups: Vec<Vec<Sym>> = Vec::new();
    // Grouped by every key, each full context is its own group: no lookup needed.
    let identity = Key::ALL.iter().all(|k| by.contains(k));
    let group_of: Vec<u32> = fulls
        .iter()
        .enumerate()
        .map(|(i, &(ctx, app, capp))| {
            let c = &acc.contexts[ctx as usize];
            let key: Vec<Sym> = by.iter().map(|k| k.value(c, app, capp)).collect();
            if identity {
                groups.push(key);
                return i as u32;
            }
            *group_ids.entry(key.clone()).or_insert_with(|| {
                groups.push(key);
                (groups.len() - 1) as u32
            })
        })
        .collect();
    let mut counts = vec![Counts::default(); groups.len()];
    // Records: once per group, however many of its folders fall into it.
    let mut last: Option<(u32, u32)> = None;
    let mut rec_groups: Vec<(u32, u32)> = rec_full()
        .map(|(rec, f)| (rec, group_of[f as usize]))
        .collect();
    rec_groups.par_sort_unstable();
    for &(rec, g) in &rec_groups {
        if last == Some((rec, g)) {
            continue;
        }
        last = Some((rec, g));
        counts[g as usize].record(acc.records[rec as usize].time, operations(rec));
    }
    // Folders: the distinct non-empty folders of each group.
    let mut group_folders: Vec<(u32, Sym)> = rec_full()
        .filter_map(|(_, f)| {
            let folder = acc.contexts[fulls[f as usize].0 as usize].folder;
            (!folder.is_empty()).then_some((group_of[f as usize], folder))
        })
        .collect();
    group_folders.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.hash_order(&b.1)));
    group_folders.dedup();
    let mut folders = vec![0u64; groups.len()];
    for &(g, _) in &group_folders {
        folders[g as usize] += 1;
    }
    // Messages: each distinct (mailbox, message) of a group once, with its largest size.
    // Grouped by every key, a part is already one (group, message): a group is one full
    // context, which fixes the context and so the mailbox, and a run is one message.
    let mut sizes: AHashMap<(u32, Sym, Sym), u64> = AHashMap::new();
    for (first, p) in pieces.iter().flatten() {
        let g = group_of[p.full as usize];
        let c = &mut counts[g as usize];
        c.accesses_raw += p.raw;
        c.accesses += p.kept;
        if identity {
            c.messages += 1;
            c.bytes += p.size;
            continue;
        }
        let it = &acc.items[*first];
        let e = sizes
            .entry((g, acc.ctx(it).mailbox, it.message))
            .or_default();
        *e = (*e).max(p.size);
    }
    for ((g, _, _), size) in sizes {
        let c = &mut counts[g as usize];
        c.messages += 1;
        c.bytes += size;
    }
    let mut rows: Vec<ContextRow> = groups
        .into_iter()
        .zip(counts)
        .zip(folders)
        .map(|((key, c), f)| ContextRow {
            key,
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
