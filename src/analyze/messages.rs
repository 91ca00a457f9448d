//! `messages` (and `lookup`): the messages that were read, one row per (mailbox,
//! InternetMessageId), with when, how often (after the one-hour de-duplication), and from
//! which sessions and addresses.

use super::access::{Accesses, join_set};
use crate::model::Nanos;
use crate::sym::Sym;
use ahash::AHashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    pub mailbox: String,
    /// Normalized id, without brackets; print as `<id>`.
    pub internet_message_id: String,
    /// Folder paths it was read in (`;`-separated).
    pub folder: String,
    pub size_bytes: Option<u64>,
    pub first_access: Nanos,
    pub last_access: Nanos,
    /// Accesses after the one-hour de-duplication, and before it.
    pub accesses: u64,
    pub accesses_raw: u64,
    pub sessions: String,
    pub client_ips: String,
    pub users: String,
}

#[derive(Default)]
struct Agg {
    folders: Vec<Sym>,
    size: Option<u64>,
    first: Option<Nanos>,
    last: Nanos,
    accesses: u64,
    raw: u64,
    sessions: Vec<Sym>,
    ips: Vec<Sym>,
    users: Vec<Sym>,
}

pub fn messages(acc: &Accesses<'_>) -> Vec<MessageRow> {
    let mut groups: AHashMap<(Sym, Sym), Agg> = AHashMap::new();
    for it in &acc.items {
        let c = acc.ctx(it);
        let a = groups.entry((c.mailbox, it.message)).or_default();
        a.folders.push(c.folder);
        a.size = a.size.max(it.size());
        a.first = Some(a.first.map_or(it.time, |t| t.min(it.time)));
        a.last = a.last.max(it.time);
        a.accesses += it.kept as u64;
        a.raw += 1;
        a.sessions.push(c.session_id);
        a.ips.push(c.client_ip);
        a.users.push(c.user);
    }
    let mut rows: Vec<MessageRow> = groups
        .into_iter()
        .map(|((mailbox, id), a)| MessageRow {
            mailbox: mailbox.into(),
            internet_message_id: id.into(),
            folder: join_set(a.folders.iter().map(|s| s.as_str())),
            size_bytes: a.size,
            first_access: a.first.unwrap_or_default(),
            last_access: a.last,
            accesses: a.accesses,
            accesses_raw: a.raw,
            sessions: join_set(a.sessions.iter().map(|s| s.as_str())),
            client_ips: join_set(a.ips.iter().map(|s| s.as_str())),
            users: join_set(a.users.iter().map(|s| s.as_str())),
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.mailbox, a.first_access, &a.internet_message_id).cmp(&(
            &b.mailbox,
            b.first_access,
            &b.internet_message_id,
        ))
    });
    rows
}

/// Prints a normalized id the way investigators and message trace write it.
pub fn bracketed(id: &str) -> String {
    format!("<{id}>")
}
