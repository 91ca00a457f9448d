//! The evidence inventory (`mailscope stats`): what was read, what it holds, and what is
//! missing or suspicious, before any investigation starts.

use crate::ingest::{FileReport, Ingested, Kept, MalformedAt};
use crate::model::{AccessType, Nanos, Record, RecordId};
use crate::parse::fields::format_time;
use crate::sym::Sym;
use ahash::{AHashMap, AHashSet};
use serde::Serialize;
use std::collections::BTreeMap;

/// Record counts that mean an export was probably cut at a tool's limit.
/// See: ../shared/docs/formats.md, "Damaged input" (5,000 and 50,000 rows).
pub const EXPORT_CAPS: [u64; 2] = [5_000, 50_000];

#[derive(Debug, Serialize)]
pub struct MailboxSummary {
    pub mailbox: String,
    pub mail_items_accessed: u64,
    pub bind: u64,
    pub sync: u64,
    pub unknown_access: u64,
    pub throttled: u64,
    pub first_time: String,
    pub last_time: String,
}

#[derive(Debug, Serialize)]
pub struct UserSummary {
    pub user: String,
    pub records: u64,
    pub mail_items_accessed: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct CapSign {
    /// `file` (records in one input file) or `hour` (unique records in one UTC hour).
    pub scope: String,
    pub what: String,
    pub records: u64,
}

#[derive(Debug, Serialize)]
pub struct Inventory {
    /// All records read: `mail_items_accessed + other_operations + duplicates + malformed`.
    pub records: u64,
    pub mail_items_accessed: u64,
    pub other_operations: u64,
    pub duplicates: u64,
    pub malformed: u64,
    /// Unique well-formed records per operation name (MailItemsAccessed included).
    pub by_operation: BTreeMap<String, u64>,
    /// Unique MailItemsAccessed records per `MailAccessType` (Bind, Sync, Unknown).
    pub by_access_type: BTreeMap<String, u64>,
    pub throttled_records: u64,
    pub malformed_by_kind: BTreeMap<String, u64>,
    /// The first malformed records of each kind, with their place.
    pub malformed_examples: Vec<MalformedAt>,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub mail_items_accessed_first_time: Option<String>,
    pub mail_items_accessed_last_time: Option<String>,
    pub mailboxes: Vec<MailboxSummary>,
    pub users: Vec<UserSummary>,
    /// Accounts seen in the evidence (as mailbox owner or as a UPN user) with no
    /// MailItemsAccessed record for their mailbox: maybe not audited.
    pub mailboxes_without_mail_items_accessed: Vec<String>,
    pub capped_export_signs: Vec<CapSign>,
    pub files: Vec<FileReport>,
    pub notes: Vec<String>,
}

/// The fields of a record the inventory reads, in `Record`'s order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fields {
    pub time: Nanos,
    pub operation: Sym,
    pub user: Sym,
    pub mailbox: Sym,
    /// MailItemsAccessed records only: how the mail was read, and `IsThrottled`.
    pub mail: Option<(AccessType, bool)>,
}

/// A record the inventory can read.
pub trait Inventoried {
    fn fields(&self) -> Fields;
}

impl Inventoried for Record {
    fn fields(&self) -> Fields {
        Fields {
            time: self.time,
            operation: self.operation,
            user: self.user,
            mailbox: self.mailbox,
            mail: self.mail.as_deref().map(|m| (m.access, m.throttled)),
        }
    }
}

/// What `stats` keeps of each unique record (see [`Kept`]): its id and the fields the
/// inventory reads, 64 bytes, made as each record is parsed. Its fields are a prefix of
/// `Record`'s, in their order, so it is ordered like the records it comes from, and the
/// copy of a duplicated id that is kept is the one the full records would keep.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InventoryRecord {
    pub id: RecordId,
    pub fields: Fields,
}

impl Kept for InventoryRecord {
    /// None of its fields is part of the access context.
    fn needs_context(_: AccessType, _: bool) -> bool {
        false
    }
    fn from_record(r: Record) -> Self {
        InventoryRecord {
            fields: r.fields(),
            id: r.id,
        }
    }
    fn id(&self) -> &RecordId {
        &self.id
    }
    fn time(&self) -> Nanos {
        self.fields.time
    }
}

impl Inventoried for InventoryRecord {
    fn fields(&self) -> Fields {
        self.fields
    }
}

fn span(first: Option<Nanos>, last: Option<Nanos>) -> (Option<String>, Option<String>) {
    (first.map(format_time), last.map(format_time))
}

/// Per mailbox (MailItemsAccessed records only): records by access type, throttled, span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MailboxTally {
    mia: u64,
    by_access: [u64; 3],
    throttled: u64,
    first: Nanos,
    last: Nanos,
}

/// What the inventory counts of a run of records. Keyed by `Sym` (hashed by its stored hash,
/// compared by pointer): no text is read per record. Runs are counted in parallel and merged
/// by adding, so the counts do not depend on how the records were split.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    by_operation: AHashMap<Sym, u64>,
    /// MailItemsAccessed records per mailbox (their totals, throttled count and span are the
    /// sums over the mailboxes).
    mailboxes: AHashMap<Sym, MailboxTally>,
    /// Per user: records, MailItemsAccessed records.
    users: AHashMap<Sym, (u64, u64)>,
    /// Mailboxes named by any record.
    all_mailboxes: AHashSet<Sym>,
    per_hour: AHashMap<i64, u64>,
}

fn add_all<K: std::hash::Hash + Eq, V>(
    into: &mut AHashMap<K, V>,
    from: AHashMap<K, V>,
    merge: impl Fn(&mut V, V),
) {
    for (k, v) in from {
        match into.entry(k) {
            std::collections::hash_map::Entry::Occupied(mut e) => merge(e.get_mut(), v),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
}

impl Tally {
    fn add(&mut self, r: Fields) {
        *self.by_operation.entry(r.operation).or_default() += 1;
        *self
            .per_hour
            .entry(r.time.div_euclid(3_600_000_000_000))
            .or_default() += 1;
        self.all_mailboxes.insert(r.mailbox);
        let u = self.users.entry(r.user).or_default();
        u.0 += 1;
        u.1 += r.mail.is_some() as u64;
        let Some((access, is_throttled)) = r.mail else {
            return;
        };
        let mb = self.mailboxes.entry(r.mailbox).or_insert(MailboxTally {
            mia: 0,
            by_access: [0; 3],
            throttled: 0,
            first: r.time,
            last: r.time,
        });
        mb.mia += 1;
        mb.by_access[access as usize] += 1;
        mb.throttled += is_throttled as u64;
        mb.first = mb.first.min(r.time);
        mb.last = mb.last.max(r.time);
    }

    fn merge(mut self, other: Tally) -> Tally {
        add_all(&mut self.by_operation, other.by_operation, |a, b| *a += b);
        add_all(&mut self.per_hour, other.per_hour, |a, b| *a += b);
        add_all(&mut self.users, other.users, |a, b| {
            a.0 += b.0;
            a.1 += b.1;
        });
        add_all(&mut self.mailboxes, other.mailboxes, |a, b| {
            a.mia += b.mia;
            for (x, y) in a.by_access.iter_mut().zip(b.by_access) {
                *x += y;
            }
            a.throttled += b.throttled;
            a.first = a.first.min(b.first);
            a.last = a.last.max(b.last);
        });
        self.all_mailboxes.extend(other.all_mailboxes);
        self
    }
}

/// `map`'s entries in the text order of their keys.
fn by_text<V>(map: AHashMap<Sym, V>) -> Vec<(Sym, V)> {
    let mut v: Vec<(Sym, V)> = map.into_iter().collect();
    v.sort_unstable_by_key(|a| a.0);
    v
}

pub fn inventory<T: Inventoried + Sync>(ing: &Ingested<T>) -> Inventory {
    // Runs of at least 64k records: few enough tallies that merging them costs little
    // whatever the number of distinct users and mailboxes.
    let run = (ing.records.len() / (4 * rayon::current_num_threads())).max(1 << 16);
    inventory_in_runs(ing, run)
}

/// [`inventory`], counting runs of `run` records in parallel and merging their tallies
/// (`inventory` chooses the length; tests choose short runs, to check that the result does
/// not depend on it).
pub fn inventory_in_runs<T: Inventoried + Sync>(ing: &Ingested<T>, run: usize) -> Inventory {
    use rayon::prelude::*;
    let tally = ing
        .records
        .par_chunks(run.max(1))
        .map(|rs| {
            let mut t = Tally::default();
            for r in rs {
                t.add(r.fields());
            }
            t
        })
        .reduce(Tally::default, Tally::merge);
    let mbs = || tally.mailboxes.values();
    let mia: u64 = mbs().map(|m| m.mia).sum();
    let throttled: u64 = mbs().map(|m| m.throttled).sum();
    let (mia_first, mia_last) = (mbs().map(|m| m.first).min(), mbs().map(|m| m.last).max());
    let by_access: BTreeMap<String, u64> =
        [AccessType::Bind, AccessType::Sync, AccessType::Unknown]
            .into_iter()
            .map(|a| (a, mbs().map(|m| m.by_access[a as usize]).sum::<u64>()))
            .filter(|&(_, n)| n > 0)
            .map(|(a, n)| (a.to_string(), n))
            .collect();
    let by_operation: BTreeMap<&str, u64> = tally
        .by_operation
        .iter()
        .map(|(k, &v)| (k.as_str(), v))
        .collect();
    let per_hour: BTreeMap<i64, u64> = tally.per_hour.into_iter().collect();
    // Accounts seen (mailboxes, and users that are UPNs) with no MailItemsAccessed record.
    let mut without: Vec<Sym> = tally
        .all_mailboxes
        .iter()
        .chain(tally.users.keys().filter(|u| u.contains('@')))
        .filter(|a| !a.is_empty() && !tally.mailboxes.contains_key(*a))
        .copied()
        .collect();
    without.sort_unstable();
    without.dedup();
    let without: Vec<String> = without.iter().map(|a| a.to_string()).collect();
    let users: Vec<UserSummary> = by_text(tally.users)
        .into_iter()
        .filter(|(u, _)| !u.is_empty())
        .map(|(u, (records, mia))| UserSummary {
            user: u.to_string(),
            records,
            mail_items_accessed: mia,
        })
        .collect();
    let mailboxes: Vec<MailboxSummary> = by_text(tally.mailboxes)
        .into_iter()
        .map(|(m, t)| MailboxSummary {
            mailbox: m.to_string(),
            mail_items_accessed: t.mia,
            bind: t.by_access[AccessType::Bind as usize],
            sync: t.by_access[AccessType::Sync as usize],
            unknown_access: t.by_access[AccessType::Unknown as usize],
            throttled: t.throttled,
            first_time: format_time(t.first),
            last_time: format_time(t.last),
        })
        .collect();

    let mut caps = Vec::new();
    for f in &ing.files {
        if EXPORT_CAPS.contains(&f.records) {
            caps.push(CapSign {
                scope: "file".into(),
                what: f.path.clone(),
                records: f.records,
            });
        }
    }
    for (hour, n) in &per_hour {
        if EXPORT_CAPS.contains(n) {
            caps.push(CapSign {
                scope: "hour".into(),
                what: format_time(hour * 3_600_000_000_000),
                records: *n,
            });
        }
    }

    let (first_time, last_time) = span(
        ing.records.first().map(|r| r.fields().time),
        ing.records.last().map(|r| r.fields().time),
    );
    let (mia_first_s, mia_last_s) = span(mia_first, mia_last);
    let unique = ing.records.len() as u64;
    let mut notes = vec![
        "records with the same record id (Id/RecordId/Identity/OfficeId) are counted once, \
         wherever and however often they appear"
            .to_string(),
        "times are the records' own UTC times (AuditData CreationTime); export wrapper dates \
         are used only when a record has none"
            .to_string(),
    ];
    if !without.is_empty() {
        notes.push(
            "accounts with no MailItemsAccessed record may not be audited for it (E5/Audit \
             Premium until 2023, now E3 when enabled per mailbox): an empty result is not \
             proof of no access"
                .to_string(),
        );
    }
    if !caps.is_empty() {
        notes.push(
            "a file or hour holding exactly 5,000 or 50,000 records suggests an export cut at \
             a tool's limit: re-export that window in smaller pieces"
                .to_string(),
        );
    }
    Inventory {
        records: ing.read,
        mail_items_accessed: mia,
        other_operations: unique - mia,
        duplicates: ing.duplicates,
        malformed: ing.malformed_total(),
        by_operation: by_operation
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        by_access_type: by_access,
        throttled_records: throttled,
        malformed_by_kind: ing
            .malformed
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        malformed_examples: ing.malformed_examples.clone(),
        first_time,
        last_time,
        mail_items_accessed_first_time: mia_first_s,
        mail_items_accessed_last_time: mia_last_s,
        mailboxes,
        users,
        mailboxes_without_mail_items_accessed: without,
        capped_export_signs: caps,
        files: ing.files.clone(),
        notes,
    }
}

/// Which records a command keeps whole (see [`Selected`]): MailItemsAccessed records chosen
/// by their access type and throttled flag, which the parser reads before the access context,
/// so that it can leave the context out of the others (see [`Kept::needs_context`]).
pub trait Select {
    /// Whether a MailItemsAccessed record with this access type and throttled flag is kept
    /// whole.
    fn select_mail(access: AccessType, throttled: bool) -> bool;

    fn select(r: &Record) -> bool {
        r.mail
            .as_deref()
            .is_some_and(|m| Self::select_mail(m.access, m.throttled))
    }
}

/// What a command that reads only some records in full (`throttled`: the throttled ones,
/// `syncs`: the sync ones) keeps of each unique record (see [`Kept`]): those records whole,
/// boxed, and any other as the 64 bytes `stats` keeps ([`InventoryRecord`]), which hold all
/// that orders it among copies of its id. 64 bytes either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selected<S> {
    Whole(Box<Record>, std::marker::PhantomData<S>),
    Key(InventoryRecord),
}

impl<S> Selected<S> {
    /// The record, when it is one kept whole.
    pub fn whole(&self) -> Option<&Record> {
        match self {
            Selected::Whole(r, _) => Some(r),
            Selected::Key(_) => None,
        }
    }

    /// The prefix of `Record`'s fields both forms hold, in `Record`'s order.
    fn key(&self) -> (&RecordId, Fields) {
        match self {
            Selected::Whole(r, _) => (&r.id, r.fields()),
            Selected::Key(k) => (&k.id, k.fields),
        }
    }
}

/// `Record`'s order: by the fields both forms hold, then, between two records kept whole, by
/// the rest. A whole record and a key are never equal in the key: what selects a record (its
/// access type, its throttled flag) is part of the key.
impl<S: Eq> Ord for Selected<S> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key()
            .cmp(&other.key())
            .then_with(|| match (self, other) {
                (Selected::Whole(a, _), Selected::Whole(b, _)) => a.cmp(b),
                _ => std::cmp::Ordering::Equal,
            })
    }
}

impl<S: Eq> PartialOrd for Selected<S> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<S: Select + Eq + Send + Sync> Kept for Selected<S> {
    /// Only the records kept whole.
    fn needs_context(access: AccessType, throttled: bool) -> bool {
        S::select_mail(access, throttled)
    }
    fn from_record(r: Record) -> Self {
        if S::select(&r) {
            Selected::Whole(Box::new(r), std::marker::PhantomData)
        } else {
            Selected::Key(InventoryRecord::from_record(r))
        }
    }
    fn id(&self) -> &RecordId {
        self.key().0
    }
    fn time(&self) -> Nanos {
        self.key().1.time
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::access::IsSync;
    use crate::analyze::testutil::copy_of_one_id as copy;
    use crate::analyze::throttle::IsThrottled;

    /// `K` kept of copies `a` and `b` of one id: ordered like them whenever it differs, so
    /// de-duplication keeps the same copy either way; with their id and time.
    fn kept_agrees<K: Kept + std::fmt::Debug>(a: &Record, b: &Record) -> K {
        let (ka, kb) = (K::from_record(a.clone()), K::from_record(b.clone()));
        if ka != kb {
            assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?}\n{b:?}");
        }
        assert_eq!((ka.id(), ka.time()), (&a.id, a.time));
        ka
    }

    /// [`kept_agrees`] for `Selected<S>`, which holds the record whole exactly when `S`
    /// selects it.
    fn selected_agrees<S: Select + Eq + Send + Sync + std::fmt::Debug>(a: &Record, b: &Record) {
        let ka: Selected<S> = kept_agrees(a, b);
        assert_eq!(ka.whole(), S::select(a).then_some(a));
    }

    proptest::proptest! {
        /// What `stats` (the fields the inventory reads), `throttled` and `syncs` (the
        /// throttled or sync records whole, any other as its 64 bytes) keep of two copies of
        /// one id is ordered like the copies.
        #[test]
        fn kept_forms_are_ordered_like_records(
            a in proptest::array::uniform7(0usize..6),
            b in proptest::array::uniform7(0usize..6),
        ) {
            let (a, b) = (copy(a), copy(b));
            let ka: InventoryRecord = kept_agrees(&a, &b);
            proptest::prop_assert_eq!(ka.fields(), a.fields());
            selected_agrees::<IsThrottled>(&a, &b);
            selected_agrees::<IsSync>(&a, &b);
        }
    }

    proptest::proptest! {
        /// Tallies merge in either order into the tally of all their records: the inventory
        /// does not depend on how its records are split into runs, or in what order the runs
        /// are merged.
        #[test]
        fn tallies_merge_into_the_tally_of_all(
            choices in proptest::collection::vec(proptest::array::uniform7(0usize..6), 1..12),
            at in 0usize..12,
        ) {
            let rs: Vec<Record> = choices.into_iter().map(copy).collect();
            let at = at.min(rs.len());
            let tally = |rs: &[Record]| {
                let mut t = Tally::default();
                for r in rs {
                    t.add(r.fields());
                }
                t
            };
            let (a, b) = rs.split_at(at);
            proptest::prop_assert_eq!(tally(a).merge(tally(b)), tally(&rs));
            proptest::prop_assert_eq!(tally(b).merge(tally(a)), tally(&rs));
        }
    }

    /// Two copies kept whole that differ only where the key does not look (the client IP)
    /// are ordered by the rest of the record, like the records: throttled copies, sync
    /// copies.
    #[test]
    fn copies_kept_whole_are_ordered_by_the_whole_record() {
        let throttled = [copy([0, 0, 0, 0, 0, 1, 0]), copy([0, 0, 0, 0, 0, 1, 1])];
        let sync = [copy([0, 0, 0, 0, 1, 0, 0]), copy([0, 0, 0, 0, 1, 0, 1])];
        assert!(IsThrottled::select(&throttled[0]) && IsSync::select(&sync[0]));
        for [a, b] in [&throttled, &sync] {
            assert_ne!(a.cmp(b), std::cmp::Ordering::Equal);
            selected_agrees::<IsThrottled>(a, b);
            selected_agrees::<IsThrottled>(b, a);
            selected_agrees::<IsSync>(a, b);
            selected_agrees::<IsSync>(b, a);
        }
    }

    /// `stats` keeps nothing of the access context, so its parser leaves the context out,
    /// except in a record without an id, whose id is a digest of its whole content: two
    /// id-less records that differ only in the client IP stay two records, as in every other
    /// command, and each keeps the id the full record has.
    #[test]
    fn records_without_an_id_keep_their_context_for_their_digest() {
        use crate::analyze::testutil::bind;
        use crate::ingest::{Options, ingest, ingest_as};
        use crate::input::InputPath;
        let t = "2024-05-06T08:00:00";
        let lines = [
            bind("", t, "203.0.113.1", "s1", "\\Inbox", &["<a@x>"]),
            bind("", t, "203.0.113.2", "s1", "\\Inbox", &["<a@x>"]),
            bind(
                "7e57da7a-0000-4000-8000-000000000001",
                t,
                "203.0.113.3",
                "s2",
                "\\Inbox",
                &[],
            ),
        ]
        .map(|v| v.to_string())
        .join("\n");
        let inputs = [InputPath::Memory {
            name: "mem".into(),
            bytes: std::sync::Arc::new(lines.into_bytes()),
        }];
        let opts = Options {
            threads: 1,
            hash: false,
            ..Options::default()
        };
        let full = ingest(&inputs, &opts).unwrap();
        let kept = ingest_as::<InventoryRecord>(&inputs, &opts).unwrap();
        assert_eq!((full.records.len(), full.duplicates), (3, 0));
        let made: Vec<InventoryRecord> = full
            .records
            .iter()
            .cloned()
            .map(InventoryRecord::from_record)
            .collect();
        assert_eq!((kept.records, kept.duplicates), (made, 0));
    }

    /// The kept forms are the size the README gives per record.
    #[test]
    fn kept_forms_are_64_bytes() {
        assert_eq!(std::mem::size_of::<InventoryRecord>(), 64);
        assert_eq!(std::mem::size_of::<Selected<IsThrottled>>(), 64);
        assert_eq!(std::mem::size_of::<Selected<IsSync>>(), 64);
    }
}
