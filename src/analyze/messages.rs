//! `messages` (and `lookup`): the messages that were read, one row per (mailbox,
//! InternetMessageId), with when, how often (after the one-hour de-duplication), and from
//! which sessions and addresses.

use super::access::{Access, Accesses, Context, join_set};
use crate::model::Nanos;
use crate::sym::Sym;
use rayon::prelude::*;

/// The `;`-joined values of one column of a row: most messages are read in one folder, one
/// session, from one address by one user, and then the value is the interned one (nothing
/// copied); otherwise the distinct values joined in text order (see [`join_set`]). Compared
/// and shown by its text.
#[derive(Clone, Debug)]
pub enum Joined {
    One(Sym),
    Many(String),
}

impl std::ops::Deref for Joined {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Joined::One(s) => s.as_str(),
            Joined::Many(s) => s,
        }
    }
}

impl PartialEq for Joined {
    fn eq(&self, other: &Joined) -> bool {
        **self == **other
    }
}
impl Eq for Joined {}

impl Joined {
    /// The values `f` gives for each of `items`: one value, or their distinct texts joined.
    fn of<T>(items: impl Iterator<Item = T> + Clone, f: impl Fn(T) -> Sym) -> Joined {
        let mut all = items.clone().map(&f);
        let one = all.next().unwrap_or(Sym::EMPTY);
        if all.all(|v| v == one) {
            Joined::One(one)
        } else {
            Joined::Many(join_set(items.map(|t| f(t).as_str())))
        }
    }

    pub fn cell(&self) -> crate::output::rows::Cell {
        match self {
            Joined::One(s) => crate::output::rows::Cell::Sym(*s),
            Joined::Many(s) => crate::output::rows::Cell::text(s),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    pub mailbox: Sym,
    /// Normalized id, without brackets; print as `<id>`.
    pub internet_message_id: Sym,
    /// Folder paths it was read in (`;`-separated).
    pub folder: Joined,
    pub size_bytes: Option<u64>,
    pub first_access: Nanos,
    pub last_access: Nanos,
    /// Accesses after the one-hour de-duplication, and before it.
    pub accesses: u64,
    pub accesses_raw: u64,
    pub sessions: Joined,
    pub client_ips: Joined,
    pub users: Joined,
}

/// One (mailbox, message)'s row from its accesses.
fn row<'a>(acc: &Accesses<'_>, items: impl Iterator<Item = &'a Access> + Clone) -> MessageRow {
    let first = items.clone().next().expect("a group has an access");
    let c = acc.ctx(first);
    let texts = |f: fn(&Context) -> Sym| Joined::of(items.clone(), |a| f(acc.ctx(a)));
    MessageRow {
        mailbox: c.mailbox,
        internet_message_id: first.message,
        folder: texts(|c| c.folder),
        size_bytes: items.clone().filter_map(Access::size).max(),
        first_access: items.clone().map(|a| a.time).min().unwrap_or_default(),
        last_access: items.clone().map(|a| a.time).max().unwrap_or_default(),
        accesses: items.clone().filter(|a| a.kept).count() as u64,
        accesses_raw: items.clone().count() as u64,
        sessions: texts(|c| c.session_id),
        client_ips: texts(|c| c.client_ip),
        users: texts(|c| c.user),
    }
}

/// The accesses grouped by (mailbox, message), the groups in output order (mailbox, first
/// access, id). Each group's row is made when it is asked for ([`MessageGroups::row`]), so
/// that a command writing a million rows a batch at a time never holds them all.
///
/// The accesses are grouped in parallel: sorted by the stored hashes of the mailbox and the
/// message (their texts are read only where two keys' hashes are equal), so that each
/// (mailbox, message) is one run; the runs are put in output order by their first access.
/// What is kept is 12 bytes per access and group: the accesses' indexes in run order, and
/// each group's run.
pub struct MessageGroups<'a> {
    acc: &'a Accesses<'a>,
    /// Indexes into `acc.items`, each group's together.
    order: Vec<u32>,
    /// Each group's part of `order`, in output order.
    groups: Vec<(u32, u32)>,
}

impl<'a> MessageGroups<'a> {
    pub fn new(acc: &'a Accesses<'a>) -> Self {
        let key = |i: u32| {
            let a = &acc.items[i as usize];
            (acc.ctx(a).mailbox, a.message)
        };
        let mut order: Vec<(u64, u64, u32)> = acc
            .items
            .par_iter()
            .enumerate()
            .map(|(i, a)| (acc.ctx(a).mailbox.hash_value(), a.message_hash, i as u32))
            .collect();
        order.par_sort_unstable_by_key(|&(mailbox, message, _)| (mailbox, message));
        // Keys whose hashes are equal but which differ (a collision, hardly ever) are ordered
        // by their text, so that each key is one run; their hashes are noted.
        let mut collided: Vec<(u64, u64)> = order
            .par_chunk_by_mut(|a, b| (a.0, a.1) == (b.0, b.1))
            .filter(|run| run.iter().any(|&(_, _, i)| key(i) != key(run[0].2)))
            .map(|run| {
                run.sort_unstable_by_key(|a| key(a.2));
                (run[0].0, run[0].1)
            })
            .collect();
        collided.sort_unstable();
        // Each run: its (mailbox, first access, message), the output order, and its place.
        // Texts are compared again only where hashes collided: elsewhere equal hashes are
        // one key (just checked), and comparing the texts of every neighbour a second time
        // (two reads of memory far apart each) took 0.1 s of the 0.29 s from the sort to the
        // runs on 2 GB.
        let runs: Vec<&[(u64, u64, u32)]> = order
            .par_chunk_by(|a, b| {
                (a.0, a.1) == (b.0, b.1)
                    && (collided.binary_search(&(a.0, a.1)).is_err() || key(a.2) == key(b.2))
            })
            .collect();
        let mut sorted: Vec<(Sym, Nanos, Sym, u32)> = runs
            .par_iter()
            .enumerate()
            .map(|(r, run)| {
                let (mailbox, message) = key(run[0].2);
                let first = run
                    .iter()
                    .map(|&(_, _, i)| acc.items[i as usize].time)
                    .min();
                (mailbox, first.unwrap_or_default(), message, r as u32)
            })
            .collect();
        sorted.par_sort_unstable();
        let mut end = 0u32;
        let bounds: Vec<(u32, u32)> = runs
            .iter()
            .map(|run| {
                let start = end;
                end += run.len() as u32;
                (start, end)
            })
            .collect();
        let groups = sorted
            .par_iter()
            .map(|&(.., r)| bounds[r as usize])
            .collect();
        let order = order.par_iter().map(|&(_, _, i)| i).collect();
        MessageGroups { acc, order, groups }
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The row of the `i`th group in output order.
    pub fn row(&self, i: usize) -> MessageRow {
        let (start, end) = self.groups[i];
        let run = &self.order[start as usize..end as usize];
        row(self.acc, run.iter().map(|&j| &self.acc.items[j as usize]))
    }
}

/// One row per (mailbox, message), sorted by mailbox, first access and id (see
/// [`MessageGroups`]).
pub fn messages(acc: &Accesses<'_>) -> Vec<MessageRow> {
    let groups = MessageGroups::new(acc);
    (0..groups.len())
        .into_par_iter()
        .map(|i| groups.row(i))
        .collect()
}

/// Prints a normalized id the way investigators and message trace write it.
pub fn bracketed(id: &str) -> String {
    format!("<{id}>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccessType;
    use std::collections::BTreeMap;

    /// The rows by the plain definition: the accesses grouped by the text of (mailbox,
    /// message), in (mailbox, first access, message) order.
    fn oracle(acc: &Accesses<'_>) -> Vec<MessageRow> {
        let mut groups: BTreeMap<(&str, &str), Vec<&Access>> = BTreeMap::new();
        for a in &acc.items {
            let key = (acc.ctx(a).mailbox.as_str(), a.message.as_str());
            groups.entry(key).or_default().push(a);
        }
        let set = |g: &[&Access], f: fn(&Context) -> Sym| {
            let mut v: Vec<&str> = g.iter().map(|a| f(acc.ctx(a)).as_str()).collect();
            v.retain(|s| !s.is_empty());
            v.sort_unstable();
            v.dedup();
            Joined::Many(v.join(";"))
        };
        let mut rows: Vec<MessageRow> = groups
            .into_values()
            .map(|g| MessageRow {
                mailbox: acc.ctx(g[0]).mailbox,
                internet_message_id: g[0].message,
                folder: set(&g, |c| c.folder),
                size_bytes: g.iter().filter_map(|a| a.size()).max(),
                first_access: g.iter().map(|a| a.time).min().unwrap(),
                last_access: g.iter().map(|a| a.time).max().unwrap(),
                accesses: g.iter().filter(|a| a.kept).count() as u64,
                accesses_raw: g.len() as u64,
                sessions: set(&g, |c| c.session_id),
                client_ips: set(&g, |c| c.client_ip),
                users: set(&g, |c| c.user),
            })
            .collect();
        rows.sort_by(|a, b| {
            (
                a.mailbox.as_str(),
                a.first_access,
                a.internet_message_id.as_str(),
            )
                .cmp(&(
                    b.mailbox.as_str(),
                    b.first_access,
                    b.internet_message_id.as_str(),
                ))
        });
        rows
    }

    proptest::proptest! {
        /// Grouping in parallel by hashes gives the plain definition's rows, on 1 to 3
        /// threads, also when different messages share a hash (forced: four messages, two
        /// hashes) and when one message is read in several contexts, folders and sessions.
        #[test]
        fn rows_are_the_plain_grouping(
            raw in proptest::collection::vec(
                (0usize..4, 0usize..4, 0i64..100, proptest::option::of(0u64..5), proptest::bool::ANY),
                1..60,
            )
        ) {
            let [m1, m2] = [Sym::new("ceo@x"), Sym::new("cfo@x")];
            let context = |mailbox, folder: &str, session: &str, ip: &str| Context {
                mailbox,
                user: Sym::new("attacker@x"),
                client_ip: Sym::new(ip),
                client_info: Sym::EMPTY,
                session_id: Sym::new(session),
                logon_type: Some(0),
                access: AccessType::Bind,
                folder: Sym::new(folder),
            };
            let contexts = vec![
                context(m1, "\\Inbox", "s1", "203.0.113.1"),
                context(m1, "\\Sent Items", "s2", "203.0.113.2"),
                context(m2, "\\Inbox", "s1", "203.0.113.1"),
                context(m2, "", "", ""),
            ];
            let ids = ["a@x", "b@x", "c@x", "d@x"].map(Sym::new_unshared);
            let items: Vec<Access> = raw
                .iter()
                .enumerate()
                .map(|(rec, &(ctx, m, minute, size, kept))| {
                    let mut a = Access::new(rec as u32, ctx as u32, 0, ids[m], size, minute * 60);
                    a.message_hash = [7, 7, 9, 9][m];
                    a.kept = kept;
                    a
                })
                .collect();
            let acc = Accesses {
                records: Vec::new(),
                contexts,
                fulls: Vec::new(),
                record_contexts: Vec::new(),
                items,
            };
            let want = oracle(&acc);
            for threads in 1..=3 {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let got = pool.install(|| messages(&acc));
                proptest::prop_assert_eq!(&got, &want, "{} threads", threads);
            }
        }
    }
}
