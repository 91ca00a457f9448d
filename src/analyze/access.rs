//! Accesses and the one-hour de-duplication.
//!
//! An access is one message listed in a bind record: (mailbox, InternetMessageId) read in a
//! context. The context is Microsoft's key, the eight properties ClientIPAddress,
//! ClientInfoString, ParentFolder, LogonType, MailAccessType, MailboxUPN, User and SessionId.
//! Repeats of one access within 60 minutes of the last kept occurrence collapse into it.
//! See: ../shared/docs/forensics.md, "De-duplication within one hour".
//!
//! Accesses are collected in parallel and sorted in parallel by key and time (context id,
//! numbered in parallel in order of first occurrence, then the message's stored hash: no text
//! is hashed or compared, except to separate two messages whose hashes collide); the rule is
//! then one pass over each key's time-sorted occurrences. Because it sees every occurrence of
//! a key in time order, the result does not depend on input order, chunking or thread count.
//! The state is 48 bytes per listed message (measured in the README); occurrences of a key
//! from several partial results merge by concatenation and a re-sort, so the same state could
//! be merged across machines.

use crate::distinct::first_occurrence_ids;
use crate::flat::flat_collect;
use crate::model::{AccessType, MailAccess, Nanos, Record};
use crate::sym::Sym;
use rayon::prelude::*;

/// The records `syncs` keeps whole: sync MailItemsAccessed records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsSync;

impl crate::analyze::inventory::Select for IsSync {
    fn select_mail(access: AccessType, _: bool) -> bool {
        access == AccessType::Sync
    }
}

/// What `syncs` keeps of each unique record: the sync ones whole, and the key of any other
/// (see [`Selected`](crate::analyze::inventory::Selected)).
pub type SyncRecord = crate::analyze::inventory::Selected<IsSync>;

/// Repeats of an access within this long after the last kept occurrence collapse into it.
pub const DEDUP_WINDOW: Nanos = 3_600 * 1_000_000_000;

/// Microsoft's context key for an access (the eight properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Context {
    pub mailbox: Sym,
    pub user: Sym,
    pub client_ip: Sym,
    pub client_info: Sym,
    pub session_id: Sym,
    pub logon_type: Option<u8>,
    pub access: AccessType,
    pub folder: Sym,
}

/// One message listed in a bind record.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    /// Index of the record in [`Accesses::records`].
    pub rec: u32,
    /// Index of the access context in [`Accesses::contexts`].
    pub ctx: u32,
    /// Index of the context with the record's AppId and ClientAppId in [`Accesses::fulls`].
    pub full: u32,
    pub message: Sym,
    /// `message`'s stored hash, beside it so sorting never reads the interned text.
    pub message_hash: u64,
    /// `SizeInBytes` + 1, 0 when the record gives none (see [`Access::size`]): 8 bytes
    /// instead of an `Option`'s 16, and ordered like the `Option`.
    size_plus_one: u64,
    pub time: Nanos,
    /// False when the access repeats a kept one within the hour.
    pub kept: bool,
}

impl Access {
    pub fn new(
        rec: u32,
        ctx: u32,
        full: u32,
        message: Sym,
        size: Option<u64>,
        time: Nanos,
    ) -> Self {
        Access {
            rec,
            ctx,
            full,
            message,
            message_hash: message.hash_value(),
            size_plus_one: size.map_or(0, |s| s.saturating_add(1)),
            time,
            kept: true,
        }
    }

    /// The message's size as the record gives it.
    pub fn size(&self) -> Option<u64> {
        self.size_plus_one.checked_sub(1)
    }

    /// Whether `self` and `other` are occurrences of one key (context, message): the numbers
    /// first, so the message text is read only when they agree.
    pub fn same_key(&self, other: &Access) -> bool {
        self.ctx == other.ctx
            && self.message_hash == other.message_hash
            && self.message == other.message
    }
}

/// The MailItemsAccessed records a command looks at, and their listed messages. Only flat
/// vectors: dropping it is a few frees (commands drop it before building their output).
#[derive(Clone)]
pub struct Accesses<'r> {
    /// MailItemsAccessed records that passed the filter, sorted by (time, id).
    pub records: Vec<&'r Record>,
    /// The distinct access contexts, interned.
    pub contexts: Vec<Context>,
    /// The distinct (context, AppId, ClientAppId), interned: the rows of `contexts`.
    pub fulls: Vec<(u32, Sym, Sym)>,
    /// Every (record, context, full context) triple: a bind record is in one context per
    /// folder it names (the folder is part of the context); a record that names none is in one
    /// context with an empty folder. Sorted and distinct, so each record's are together.
    pub record_contexts: Vec<(u32, u32, u32)>,
    /// Every message listed by a non-sync record, de-duplicated (see `kept`), in a stable
    /// order (context, message, time).
    pub items: Vec<Access>,
}

/// The mail part of a record the accesses stage selected (MailItemsAccessed records only).
pub(crate) fn mail(r: &Record) -> &MailAccess {
    r.mail
        .as_deref()
        .expect("selected records are MailItemsAccessed")
}

/// The folder of each context a record is in: one per folder of a bind record, an empty one
/// for a bind record that names none, none for a sync record.
fn context_folders(m: &MailAccess) -> impl Iterator<Item = Sym> + '_ {
    let bind = m.access != AccessType::Sync;
    let none = (bind && m.folders.is_empty()).then_some(Sym::EMPTY);
    let named = if bind { &m.folders[..] } else { &[] };
    none.into_iter().chain(named.iter().map(|f| f.path))
}

/// The context of record `r` (mail part `m`) in `folder`.
pub(crate) fn context_of(r: &Record, m: &MailAccess, folder: Sym) -> Context {
    Context {
        mailbox: r.mailbox,
        user: r.user,
        client_ip: m.client_ip,
        client_info: m.client_info,
        session_id: m.session_id,
        logon_type: m.logon_type,
        access: m.access,
        folder,
    }
}

impl<'r> Accesses<'r> {
    /// Collects the MailItemsAccessed records that pass `keep` and de-duplicates their accesses.
    pub fn build(records: &'r [Record], keep: impl Fn(&Record) -> bool + Sync) -> Self {
        let selected: Vec<&Record> = records
            .par_iter()
            .filter(|r| r.mail.is_some() && keep(r))
            .collect();
        // The contexts of each record (see `context_folders`), flat and in record order:
        // record i's are keys[key_at[i]..key_at[i + 1]].
        let counts: Vec<u32> = selected
            .par_iter()
            .map(|r| context_folders(mail(r)).count() as u32)
            .collect();
        let mut key_at: Vec<u32> = Vec::with_capacity(selected.len() + 1);
        key_at.push(0);
        key_at.extend(counts.iter().scan(0u32, |total, &n| {
            *total += n;
            Some(*total)
        }));
        let keys: Vec<(Context, Sym, Sym)> = flat_collect(
            &selected,
            |rec, _| counts[rec] as usize,
            |_, r| {
                let m = mail(r);
                context_folders(m).map(move |f| (context_of(r, m, f), m.app_id, m.client_app_id))
            },
        );
        // Ids in order of first occurrence (records are in a stable order, so ids are too):
        // full contexts first, then the contexts of the distinct full contexts, taken in
        // full-id order. That gives the contexts the ids of numbering them over all keys: a
        // context's first key is also the first key of its full context.
        let (full_of, full_firsts) = first_occurrence_ids(&keys, |&k| k);
        let (ctx_of_full, ctx_firsts) = first_occurrence_ids(&full_firsts, |&i| keys[i as usize].0);
        let contexts: Vec<Context> = ctx_firsts
            .iter()
            .map(|&f| keys[full_firsts[f as usize] as usize].0)
            .collect();
        let fulls: Vec<(u32, Sym, Sym)> = full_firsts
            .iter()
            .zip(&ctx_of_full)
            .map(|(&i, &ctx)| (ctx, keys[i as usize].1, keys[i as usize].2))
            .collect();
        drop(keys);
        let folder_ctx: Vec<(u32, u32)> = full_of
            .par_iter()
            .map(|&full| (fulls[full as usize].0, full))
            .collect();
        let record_folders =
            |rec: usize| &folder_ctx[key_at[rec] as usize..key_at[rec + 1] as usize];
        let mut record_contexts: Vec<(u32, u32, u32)> = flat_collect(
            &selected,
            |rec, _| counts[rec] as usize,
            |rec, _| {
                record_folders(rec)
                    .iter()
                    .map(move |&(ctx, full)| (rec as u32, ctx, full))
            },
        );
        record_contexts.par_sort_unstable();
        record_contexts.dedup();
        // A record's accesses: the messages of each folder, in the folder's context (a bind
        // record without folders and a sync record have none).
        let folders_in_contexts =
            |rec: usize, r: &'r Record| mail(r).folders.iter().zip(record_folders(rec));
        let mut items: Vec<Access> = flat_collect(
            &selected,
            |rec, r| {
                folders_in_contexts(rec, r)
                    .map(|(f, _)| f.items.len())
                    .sum()
            },
            |rec, &r| {
                folders_in_contexts(rec, r).flat_map(move |(f, &(ctx, full))| {
                    f.items.iter().map(move |it| {
                        let m = it.internet_message_id;
                        Access::new(rec as u32, ctx, full, m, it.size_bytes, r.time)
                    })
                })
            },
        );
        items.par_sort_unstable_by(access_order);
        dedup_sorted(&mut items);
        Accesses {
            records: selected,
            contexts,
            fulls,
            record_contexts,
            items,
        }
    }

    pub fn record(&self, a: &Access) -> &'r Record {
        self.records[a.rec as usize]
    }

    pub fn ctx(&self, a: &Access) -> &Context {
        &self.contexts[a.ctx as usize]
    }
}

/// The order of accesses: by context, the message's stored hash, time and record; numbers
/// only, so sorting never reads a message's text. A key's occurrences are then together and
/// in time order, unless two different messages of one context share a 64-bit hash, which
/// [`order_hash_collisions`] then puts right.
fn access_order(a: &Access, b: &Access) -> std::cmp::Ordering {
    (a.ctx, a.message_hash, a.time, a.rec).cmp(&(b.ctx, b.message_hash, b.time, b.rec))
}

/// After sorting by [`access_order`]: a run of one (context, hash) that holds more than one
/// message text (a hash collision) is re-sorted by (text, time, record), so every key's
/// occurrences are together and in time order, whatever the input order.
fn order_hash_collisions(sorted: &mut [Access]) {
    for run in sorted.chunk_by_mut(|a, b| a.ctx == b.ctx && a.message_hash == b.message_hash) {
        let first = run[0].message;
        if run[1..].iter().any(|a| a.message != first) {
            run.sort_unstable_by(|a, b| {
                (a.message, a.time, a.rec).cmp(&(b.message, b.time, b.rec))
            });
        }
    }
}

/// Sorts accesses by (context, message, time, record) and applies the one-hour rule to each
/// key's occurrences: an occurrence is kept when it comes more than [`DEDUP_WINDOW`] after
/// the last kept one. Two records of the same key at the same time are one access.
pub fn dedup_shard(shard: &mut [Access]) {
    shard.sort_unstable_by(access_order);
    dedup_sorted(shard);
}

/// The one-hour rule over accesses sorted by [`access_order`] (what [`Accesses::build`] and
/// [`dedup_shard`] share), in parallel over pieces that never split a (context, hash) run:
/// both steps look at one such run at a time.
fn dedup_sorted(sorted: &mut [Access]) {
    let same = |a: &Access, b: &Access| a.ctx == b.ctx && a.message_hash == b.message_hash;
    let ends = run_ends(sorted, rayon::current_num_threads() * 4, same);
    let mut pieces = Vec::with_capacity(ends.len());
    let mut rest = sorted;
    let mut start = 0;
    for end in ends {
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(end - start);
        rest = tail;
        start = end;
        pieces.push(piece);
    }
    pieces.into_par_iter().for_each(|piece| {
        order_hash_collisions(piece);
        mark_kept(piece);
    });
}

/// Where to cut `items` into about `pieces` pieces without splitting a run of neighbours for
/// which `same` holds: the end of each piece, the last one `items.len()`.
pub fn run_ends<T>(items: &[T], pieces: usize, same: impl Fn(&T, &T) -> bool) -> Vec<usize> {
    let step = items.len().div_ceil(pieces.max(1)).max(1);
    let mut ends = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let mut end = (start + step).min(items.len());
        while end < items.len() && same(&items[end - 1], &items[end]) {
            end += 1;
        }
        ends.push(end);
        start = end;
    }
    ends
}

/// The one-hour rule over accesses sorted by [`access_order`].
fn mark_kept(sorted: &mut [Access]) {
    let mut last_kept: Option<Access> = None;
    for a in sorted.iter_mut() {
        a.kept = match &last_kept {
            Some(k) if k.same_key(a) => a.time - k.time > DEDUP_WINDOW,
            _ => true,
        };
        if a.kept {
            last_kept = Some(*a);
        }
    }
}

/// Sorted, distinct values joined with `;` (for cells that list sessions, IPs, folders).
pub fn join_set<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = values.into_iter().filter(|s| !s.is_empty()).collect();
    v.sort_unstable();
    v.dedup();
    v.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes round-trip, unknown ones included, and order like `Option<u64>`.
    #[test]
    fn sizes_round_trip_in_eight_bytes() {
        let m = Sym::new("<a@x>");
        let sizes = [None, Some(0), Some(1), Some(415_089), Some(u64::MAX - 1)];
        for s in sizes {
            assert_eq!(Access::new(0, 0, 0, m, s, 0).size(), s);
        }
        for w in sizes.windows(2) {
            let a = Access::new(0, 0, 0, m, w[0], 0);
            let b = Access::new(0, 0, 0, m, w[1], 0);
            assert!(a.size_plus_one < b.size_plus_one);
        }
        assert_eq!(std::mem::size_of::<Access>(), 48);
    }

    proptest::proptest! {
        /// The one-hour pass in parallel pieces marks exactly what one pass over all the
        /// sorted accesses marks, with 1 to 4 threads; hash collisions (forced: three messages
        /// share two hashes) and runs longer than a piece included.
        #[test]
        fn one_hour_pass_in_pieces_is_the_sequential_pass(
            raw in proptest::collection::vec((0u32..3, 0usize..3, 0i64..300), 0..400)
        ) {
            let messages = ["a@x", "b@x", "c@x"].map(Sym::new_unshared);
            let min = 60 * 1_000_000_000;
            let mut sorted: Vec<Access> = raw
                .iter()
                .enumerate()
                .map(|(rec, &(ctx, m, minute))| Access {
                    message_hash: [7, 7, 9][m],
                    ..Access::new(rec as u32, ctx, 0, messages[m], None, minute * min)
                })
                .collect();
            sorted.sort_unstable_by(access_order);
            let mut want = sorted.clone();
            order_hash_collisions(&mut want);
            mark_kept(&mut want);
            let want: Vec<(u32, bool)> = want.iter().map(|a| (a.rec, a.kept)).collect();
            for threads in 1..=4 {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut got = sorted.clone();
                pool.install(|| dedup_sorted(&mut got));
                let got: Vec<(u32, bool)> = got.iter().map(|a| (a.rec, a.kept)).collect();
                proptest::prop_assert_eq!(&got, &want, "{} threads", threads);
            }
        }
    }

    /// Two different messages of one context whose hashes collide (forced here) still get the
    /// one-hour rule each on their own, in whatever order the accesses come.
    #[test]
    fn hash_collisions_keep_messages_apart() {
        let min = 60 * 1_000_000_000;
        let access = |rec: u32, message: &str, minute: i64| Access {
            message_hash: 42,
            ..Access::new(rec, 0, 0, Sym::new_unshared(message), None, minute * min)
        };
        let accesses = [
            access(0, "a@x", 0),
            access(1, "b@x", 10),
            access(2, "a@x", 30),
            access(3, "b@x", 80),
        ];
        for rotate in 0..accesses.len() {
            let mut v = accesses.to_vec();
            v.rotate_left(rotate);
            dedup_shard(&mut v);
            let mut kept: Vec<(u32, bool)> = v.iter().map(|a| (a.rec, a.kept)).collect();
            kept.sort_unstable();
            assert_eq!(kept, [(0, true), (1, true), (2, false), (3, true)]);
        }
    }
}
