//! `sessions`: one row per (mailbox, user, session, client IP, client): the list in which
//! an investigator spots the attacker. See: ../shared/docs/forensics.md, the practitioners'
//! workflow (sessions first, then their messages).

use super::access::{Accesses, join_set};
use crate::model::{AccessType, Nanos};
use crate::sym::Sym;
use ahash::{AHashMap, AHashSet};

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

#[derive(Default)]
struct Agg<'r> {
    first: Option<Nanos>,
    last: Nanos,
    records: u64,
    bind_operations: u64,
    sync_records: u64,
    messages: AHashSet<Sym>,
    accesses: u64,
    synced: Vec<&'r str>,
    logons: Vec<String>,
    apps: Vec<&'r str>,
}

type Key = (Sym, Sym, Sym, Sym, Sym);

pub fn sessions(acc: &Accesses<'_>) -> Vec<SessionRow> {
    let mut groups: AHashMap<Key, Agg> = AHashMap::new();
    for r in &acc.records {
        let Some(m) = r.mail.as_deref() else { continue };
        let key = (r.mailbox, r.user, m.session_id, m.client_ip, m.client_info);
        let a = groups.entry(key).or_default();
        a.first = Some(a.first.map_or(r.time, |t| t.min(r.time)));
        a.last = a.last.max(r.time);
        a.records += 1;
        match m.access {
            AccessType::Sync => {
                a.sync_records += 1;
                if let Some(f) = &m.synced_folder {
                    a.synced.push(&f.path);
                }
            }
            _ => a.bind_operations += m.operation_count,
        }
        a.logons.push(m.logon_type_name());
        a.apps.push(&m.app_id);
    }
    for it in &acc.items {
        let c = acc.ctx(it);
        let key = (c.mailbox, c.user, c.session_id, c.client_ip, c.client_info);
        if let Some(a) = groups.get_mut(&key) {
            a.messages.insert(it.message);
            a.accesses += it.kept as u64;
        }
    }
    let mut rows: Vec<SessionRow> = groups
        .into_iter()
        .map(|((mailbox, user, session, ip, client), a)| SessionRow {
            mailbox: mailbox.into(),
            user: user.into(),
            session_id: session.into(),
            client_ip: ip.into(),
            client_info: client.into(),
            first_seen: a.first.unwrap_or_default(),
            last_seen: a.last,
            records: a.records,
            bind_operations: a.bind_operations,
            sync_records: a.sync_records,
            messages: a.messages.len() as u64,
            accesses: a.accesses,
            synced_folders: join_set(a.synced),
            logon_types: join_set(a.logons.iter().map(String::as_str)),
            app_ids: join_set(a.apps),
        })
        .collect();
    rows.sort_by(|a, b| {
        (
            a.first_seen,
            &a.mailbox,
            &a.user,
            &a.session_id,
            &a.client_ip,
            &a.client_info,
        )
            .cmp(&(
                b.first_seen,
                &b.mailbox,
                &b.user,
                &b.session_id,
                &b.client_ip,
                &b.client_info,
            ))
    });
    rows
}
