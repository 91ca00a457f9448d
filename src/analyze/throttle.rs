//! Throttling: a record with `IsThrottled` = `True` means Exchange stopped auditing bind
//! activity for that mailbox for 24 hours. Every message in the mailbox is to be treated as
//! exposed in that window. Windows of one mailbox that overlap or touch are merged.
//! See: ../shared/docs/forensics.md, "Throttling".

use crate::analyze::inventory::{Fields, Inventoried, InventoryRecord};
use crate::ingest::Kept;
use crate::model::{Nanos, Record, RecordId};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// How long auditing of binds stops after a throttled record.
pub const UNAUDITED: Nanos = 24 * 3_600 * 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub mailbox: String,
    pub start: Nanos,
    pub end: Nanos,
    /// Ids of the throttled records that opened the window, in time order.
    pub record_ids: Vec<String>,
}

/// What `throttled` keeps of each unique record (see [`Kept`]): a throttled
/// MailItemsAccessed record whole, since the command filters and lists those; any other as
/// the 64 bytes `stats` keeps ([`InventoryRecord`]), which hold all that orders it among
/// copies of its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThrottleRecord {
    /// Boxed: throttled records are few, and the others then take 64 bytes, not 72.
    Throttled(Box<Record>),
    Other(InventoryRecord),
}

impl ThrottleRecord {
    /// The record, when it is a throttled one.
    pub fn throttled(&self) -> Option<&Record> {
        match self {
            ThrottleRecord::Throttled(r) => Some(r),
            ThrottleRecord::Other(_) => None,
        }
    }

    /// The prefix of `Record`'s fields both forms hold, in `Record`'s order.
    fn key(&self) -> (&RecordId, Fields) {
        match self {
            ThrottleRecord::Throttled(r) => (&r.id, r.fields()),
            ThrottleRecord::Other(k) => (&k.id, k.fields),
        }
    }
}

/// `Record`'s order: by the fields both forms hold, then, between two throttled records (the
/// only ones whose keys can be equal, as the throttled flag is in the key), by the rest.
impl Ord for ThrottleRecord {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key()
            .cmp(&other.key())
            .then_with(|| match (self, other) {
                (ThrottleRecord::Throttled(a), ThrottleRecord::Throttled(b)) => a.cmp(b),
                _ => Ordering::Equal,
            })
    }
}

impl PartialOrd for ThrottleRecord {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Kept for ThrottleRecord {
    fn from_record(r: Record) -> Self {
        if r.mail.as_deref().is_some_and(|m| m.throttled) {
            ThrottleRecord::Throttled(Box::new(r))
        } else {
            ThrottleRecord::Other(InventoryRecord::from_record(r))
        }
    }
    fn id(&self) -> &RecordId {
        self.key().0
    }
    fn time(&self) -> Nanos {
        self.key().1.time
    }
}

/// The merged unaudited windows of the throttled records among `records`.
pub fn windows<'r>(records: impl IntoIterator<Item = &'r Record>) -> Vec<Window> {
    let mut by_mailbox: BTreeMap<&str, Vec<(Nanos, &RecordId)>> = BTreeMap::new();
    for r in records {
        if r.mail.as_deref().is_some_and(|m| m.throttled) {
            by_mailbox
                .entry(&r.mailbox)
                .or_default()
                .push((r.time, &r.id));
        }
    }
    let mut out = Vec::new();
    for (mailbox, mut hits) in by_mailbox {
        hits.sort();
        let mut cur: Option<Window> = None;
        for (t, id) in hits {
            match cur.as_mut() {
                Some(w) if t <= w.end => {
                    w.end = w.end.max(t + UNAUDITED);
                    w.record_ids.push(id.to_string());
                }
                _ => {
                    out.extend(cur.take());
                    cur = Some(Window {
                        mailbox: mailbox.to_string(),
                        start: t,
                        end: t + UNAUDITED,
                        record_ids: vec![id.to_string()],
                    });
                }
            }
        }
        out.extend(cur);
    }
    out
}

#[cfg(test)]
mod kept_tests {
    use super::*;
    use crate::analyze::testutil::copy_of_one_id;

    proptest::proptest! {
        /// What `throttled` keeps of two copies of one record id is ordered like the copies
        /// whenever it differs, so de-duplication keeps the same copy either way; a throttled
        /// copy is kept whole, any other as its 64 bytes.
        #[test]
        fn throttle_records_are_ordered_like_records(
            a in proptest::array::uniform7(0usize..6),
            b in proptest::array::uniform7(0usize..6),
        ) {
            let (a, b) = (copy_of_one_id(a), copy_of_one_id(b));
            let (ka, kb) = (ThrottleRecord::from_record(a.clone()), ThrottleRecord::from_record(b.clone()));
            if ka != kb {
                proptest::prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            }
            let throttled = a.mail.as_deref().is_some_and(|m| m.throttled);
            proptest::prop_assert_eq!(ka.throttled(), throttled.then_some(&a));
            proptest::prop_assert_eq!((ka.id(), ka.time()), (&a.id, a.time));
        }
    }

    /// Two throttled copies that differ only where the kept key does not look (the client
    /// IP) are ordered by the rest of the record, like the records.
    #[test]
    fn throttled_copies_are_ordered_by_the_whole_record() {
        let a = copy_of_one_id([0, 0, 0, 0, 0, 1, 0]);
        let b = copy_of_one_id([0, 0, 0, 0, 0, 1, 1]);
        assert!(a.mail.as_deref().is_some_and(|m| m.throttled) && a != b);
        let (ka, kb) = (
            ThrottleRecord::from_record(a.clone()),
            ThrottleRecord::from_record(b.clone()),
        );
        assert_eq!(ka.cmp(&kb), a.cmp(&b));
        assert_eq!(kb.cmp(&ka), b.cmp(&a));
        assert_ne!(a.cmp(&b), Ordering::Equal);
    }

    /// Throttled records are boxed, so the others take what `stats` keeps.
    #[test]
    fn throttle_record_is_64_bytes() {
        assert_eq!(std::mem::size_of::<ThrottleRecord>(), 64);
    }
}
