//! Throttling: a record with `IsThrottled` = `True` means Exchange stopped auditing bind
//! activity for that mailbox for 24 hours. Every message in the mailbox is to be treated as
//! exposed in that window. Windows of one mailbox that overlap or touch are merged.
//! See: ../shared/docs/forensics.md, "Throttling".

use crate::analyze::inventory::{Select, Selected};
use crate::model::{Nanos, Record, RecordId};
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

/// The records `throttled` keeps whole: throttled MailItemsAccessed records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsThrottled;

impl Select for IsThrottled {
    fn select_mail(_: crate::model::AccessType, throttled: bool) -> bool {
        throttled
    }
}

/// What `throttled` keeps of each unique record: the throttled ones whole, since the command
/// filters and lists them, and the key of any other (see [`Selected`]).
pub type ThrottleRecord = Selected<IsThrottled>;

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
