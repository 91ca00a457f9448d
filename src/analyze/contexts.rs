//! `contexts`: bind accesses aggregated per access context (Microsoft's eight properties plus
//! AppId and ClientAppId), or per fewer keys (`--by`).

use super::access::{Access, Accesses};
use crate::model::{AccessType, Nanos, Record};
use ahash::{AHashMap, AHashSet};
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

    fn value(self, r: &Record, folder: &str) -> String {
        let Some(m) = r.mail.as_deref() else {
            return String::new();
        };
        match self {
            Key::Mailbox => r.mailbox.clone(),
            Key::User => r.user.clone(),
            Key::Ip => m.client_ip.clone(),
            Key::Client => m.client_info.clone(),
            Key::Session => m.session_id.clone(),
            Key::Logon => m.logon_type_name(),
            Key::Access => m.access.to_string(),
            Key::Folder => folder.to_string(),
            Key::App => m.app_id.clone(),
            Key::ClientApp => m.client_app_id.clone(),
        }
    }
}

/// One context's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextRow {
    /// The values of the grouping keys, in `--by` order.
    pub key: Vec<String>,
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

#[derive(Default)]
struct Agg<'r> {
    first: Option<Nanos>,
    last: Option<Nanos>,
    records: u64,
    operations: u64,
    accesses_raw: u64,
    accesses: u64,
    messages: AHashMap<(&'r str, &'r str), u64>,
    folders: AHashSet<&'r str>,
}

impl<'r> Agg<'r> {
    fn merge(&mut self, o: Agg<'r>) {
        self.first = match (self.first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = self.last.max(o.last);
        self.records += o.records;
        self.operations += o.operations;
        self.accesses_raw += o.accesses_raw;
        self.accesses += o.accesses;
        for (k, v) in o.messages {
            let e = self.messages.entry(k).or_default();
            *e = (*e).max(v);
        }
        self.folders.extend(o.folders);
    }
}

type Groups<'r> = AHashMap<Vec<String>, Agg<'r>>;

fn merge_groups<'r>(mut a: Groups<'r>, b: Groups<'r>) -> Groups<'r> {
    if a.len() < b.len() {
        return merge_groups(b, a);
    }
    for (k, v) in b {
        a.entry(k).or_default().merge(v);
    }
    a
}

fn is_bind_like(r: &Record) -> bool {
    r.mail
        .as_deref()
        .is_some_and(|m| m.access != AccessType::Sync)
}

/// Aggregates the bind accesses of `acc` per context, grouped by `by`.
pub fn contexts(acc: &Accesses<'_>, by: &[Key]) -> Vec<ContextRow> {
    let key_of = |r: &Record, folder: &str| -> Vec<String> {
        by.iter().map(|k| k.value(r, folder)).collect()
    };
    // Records: each counts once in every group one of its folders falls into.
    let from_records = acc
        .records
        .par_iter()
        .filter(|r| is_bind_like(r))
        .fold(Groups::default, |mut g, r| {
            let r: &Record = r;
            let m = r
                .mail
                .as_deref()
                .expect("bind-like records have a mail part");
            let pairs: Vec<(Vec<String>, &str)> = if m.folders.is_empty() {
                vec![(key_of(r, ""), "")]
            } else {
                m.folders
                    .iter()
                    .map(|f| (key_of(r, &f.path), f.path.as_str()))
                    .collect()
            };
            for (k, f) in &pairs {
                if !f.is_empty() {
                    g.entry(k.clone()).or_default().folders.insert(f);
                }
            }
            let mut keys: Vec<Vec<String>> = pairs.into_iter().map(|p| p.0).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let a = g.entry(k).or_default();
                a.first = Some(a.first.map_or(r.time, |t| t.min(r.time)));
                a.last = a.last.max(Some(r.time));
                a.records += 1;
                a.operations += m.operation_count;
            }
            g
        })
        .reduce(Groups::default, merge_groups);
    let from_items = acc
        .items
        .par_iter()
        .fold(Groups::default, |mut g, it: &Access| {
            let r = acc.record(it);
            let a = g.entry(key_of(r, it.ctx.folder)).or_default();
            a.accesses_raw += 1;
            a.accesses += it.kept as u64;
            let e = a.messages.entry((it.ctx.mailbox, it.message)).or_default();
            *e = (*e).max(it.size.unwrap_or(0));
            a.folders.insert(it.ctx.folder);
            g
        })
        .reduce(Groups::default, merge_groups);
    let all = merge_groups(from_records, from_items);
    let mut rows: Vec<ContextRow> = all
        .into_iter()
        .map(|(key, a)| ContextRow {
            key,
            first_seen: a.first.unwrap_or_default(),
            last_seen: a.last.unwrap_or_default(),
            records: a.records,
            operations: a.operations,
            accesses_raw: a.accesses_raw,
            accesses: a.accesses,
            messages: a.messages.len() as u64,
            folders: a.folders.len() as u64,
            bytes: a.messages.values().sum(),
        })
        .collect();
    rows.sort_by(|a, b| (a.first_seen, &a.key).cmp(&(b.first_seen, &b.key)));
    rows
}
