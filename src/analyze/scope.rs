//! The exposure rules (`mailscope scope`): from the evidence and the attacker's indicators to
//! which mailboxes, folders and messages were exposed, when, and on what evidence.
//!
//! 1. Attacker context: the MailItemsAccessed records that match any indicator; with session
//!    expansion, every record of a session that an indicator matched.
//! 2. Throttling: a throttled record whose 24-hour unaudited window overlaps the attacker's
//!    period in a mailbox exposes the whole mailbox in that window. The period is the
//!    attacker's first to last record there, extended to the compromise the investigator
//!    knows from other evidence (`--compromised-from`, `--compromised-to`). Windows of the
//!    mailbox outside it are listed as cautions, without raising the level: binds are not
//!    audited in them, so a record that would show the attacker there cannot exist.
//! 3. Sync in attacker context: the folder is exposed in full; the mailbox is probably exposed
//!    in full.
//! 4. Bind in attacker context: exactly the listed messages.
//!
//! See: ../shared/docs/forensics.md, "The investigation (the four steps, in order)".

use super::access::{Accesses, join_set};
use super::filter::Indicator;
use super::messages::{MessageRow, messages};
use super::throttle::{Window, windows};
use crate::model::{AccessType, Nanos, Record, RecordId};
use crate::parse::fields::format_time;
use ahash::AHashSet;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// An indicator with the words that say where it came from (`--ip 203.0.113.66`,
/// `attacker.txt:3 203.0.113.0/24`).
#[derive(Clone, Debug)]
pub struct Labeled {
    pub label: String,
    pub indicator: Indicator,
}

#[derive(Clone, Debug, Default)]
pub struct ScopeOptions {
    pub indicators: Vec<Labeled>,
    pub from: Option<Nanos>,
    pub to: Option<Nanos>,
    /// Only these mailboxes (empty: all).
    pub mailboxes: Vec<String>,
    pub expand_sessions: bool,
    /// When other evidence (sign-in logs, the password reset, the revocation of sessions)
    /// shows the attacker had access: the attacker's period in each of their mailboxes is
    /// extended to it before unaudited windows are matched against it.
    pub compromised_from: Option<Nanos>,
    pub compromised_to: Option<Nanos>,
}

/// A session that the pivot added, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SessionPivot {
    pub session_id: String,
    /// The indicator that matched a record of the session first.
    pub matched_by: String,
    /// The first record it matched.
    pub via_record: String,
    pub records_matched: u64,
    /// Records of the session that no indicator matched, added by the pivot.
    pub records_added: u64,
    pub mailboxes: Vec<String>,
    pub client_ips: Vec<String>,
}

/// How much of a mailbox is exposed, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Attacker activity, but no message, folder or unaudited window.
    None,
    /// Exactly the messages bound in the attacker's context.
    Messages,
    /// Whole folders synced in the attacker's context.
    Folders,
    /// The whole mailbox, in at least one unaudited (throttled) window.
    Mailbox,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Messages => "messages",
            Level::Folders => "folders",
            Level::Mailbox => "mailbox",
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Reason {
    /// `throttled`, `sync` or `bind`.
    pub rule: &'static str,
    pub detail: String,
    pub record_ids: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Period {
    pub start: String,
    pub end: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MailboxExposure {
    pub mailbox: String,
    pub level: Level,
    /// A sync in the attacker's context: treat the mailbox as probably exposed in full.
    pub probably_entire_mailbox: bool,
    /// The attacker's first to last record in the mailbox.
    pub attacker_period: Period,
    /// The period an unaudited window must overlap to expose the mailbox: `attacker_period`,
    /// extended to `--compromised-from` and `--compromised-to` when they are given.
    pub access_period: Period,
    pub attacker_records: u64,
    pub sessions: Vec<String>,
    pub client_ips: Vec<String>,
    pub messages: u64,
    pub folders: u64,
    pub unaudited_windows: u64,
    /// Unaudited windows of the mailbox outside `access_period` (they do not raise the level).
    pub unaudited_windows_outside: u64,
    pub reasons: Vec<Reason>,
    /// What the level does not count but the investigator must weigh (`throttled-outside`).
    pub cautions: Vec<Reason>,
    /// `attacker_period` as times.
    #[serde(skip)]
    pub period: (Nanos, Nanos),
}

/// A folder synced in the attacker's context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderExposure {
    pub mailbox: String,
    pub folder: String,
    pub synced_at: Nanos,
    pub session_id: String,
    pub client_ip: String,
    pub record_id: String,
}

pub struct ScopeResult<'r> {
    /// MailItemsAccessed records in the attacker's context, sorted by (time, id).
    pub attacker: Vec<&'r Record>,
    /// Which indicator matched each directly matched record (by record id).
    pub matched_by: BTreeMap<&'r RecordId, &'r str>,
    pub pivots: Vec<SessionPivot>,
    pub mailboxes: Vec<MailboxExposure>,
    pub folders: Vec<FolderExposure>,
    /// The unaudited windows that overlap the attacker's (access) period in their mailbox.
    pub windows: Vec<Window>,
    /// The other unaudited windows of the attacker's mailboxes.
    pub windows_outside: Vec<Window>,
    pub messages: Vec<MessageRow>,
    pub accesses_raw: u64,
    pub accesses: u64,
    /// Accounts in the evidence (mailbox owners, and users that are UPNs) with no
    /// MailItemsAccessed record for their mailbox: maybe not audited for it, so the report
    /// cannot tell what was read there.
    pub without_mail_items_accessed: Vec<String>,
}

impl ScopeResult<'_> {
    /// Every unaudited window of the attacker's mailboxes by mailbox and start, with whether
    /// it overlaps the attacker's period there (counts for the level) or is a caution.
    pub fn all_windows(&self) -> Vec<(&Window, bool)> {
        let mut all: Vec<(&Window, bool)> = self.windows.iter().map(|w| (w, true)).collect();
        all.extend(self.windows_outside.iter().map(|w| (w, false)));
        all.sort_by(|a, b| (&a.0.mailbox, a.0.start).cmp(&(&b.0.mailbox, b.0.start)));
        all
    }
}

fn first_match<'a>(inds: &'a [Labeled], r: &Record) -> Option<&'a str> {
    inds.iter()
        .find(|l| l.indicator.matches(r))
        .map(|l| l.label.as_str())
}

pub fn scope<'r, 'o>(records: &'r [Record], opts: &'o ScopeOptions) -> ScopeResult<'r>
where
    'o: 'r,
{
    let in_scope = |r: &Record| {
        r.mail.is_some()
            && opts.from.is_none_or(|f| r.time >= f)
            && opts.to.is_none_or(|t| r.time <= t)
            && (opts.mailboxes.is_empty() || opts.mailboxes.iter().any(|m| r.mailbox == *m))
    };
    let candidates: Vec<&Record> = records.iter().filter(|r| in_scope(r)).collect();

    // 1. Records that an indicator matches.
    let mut matched_by: BTreeMap<&RecordId, &str> = BTreeMap::new();
    let mut pivots: BTreeMap<String, SessionPivot> = BTreeMap::new();
    let mut attacker_ids: AHashSet<&RecordId> = AHashSet::new();
    for r in &candidates {
        let Some(label) = first_match(&opts.indicators, r) else {
            continue;
        };
        matched_by.insert(&r.id, label);
        attacker_ids.insert(&r.id);
        let m = r.mail.as_deref().expect("candidates are MailItemsAccessed");
        if opts.expand_sessions && !m.session_id.is_empty() {
            // Session ids are told apart without regard to case, as the filters match them.
            let p = pivots
                .entry(m.session_id.to_ascii_lowercase())
                .or_insert_with(|| SessionPivot {
                    session_id: m.session_id.to_string(),
                    matched_by: label.to_string(),
                    via_record: r.id.to_string(),
                    records_matched: 0,
                    records_added: 0,
                    mailboxes: Vec::new(),
                    client_ips: Vec::new(),
                });
            p.records_matched += 1;
        }
    }
    // 2. Session expansion: every record of a matched session.
    if opts.expand_sessions && !pivots.is_empty() {
        for r in &candidates {
            let m = r.mail.as_deref().expect("candidates are MailItemsAccessed");
            if m.session_id.is_empty() {
                continue;
            }
            if let Some(p) = pivots.get_mut(&m.session_id.to_ascii_lowercase()) {
                if attacker_ids.insert(&r.id) {
                    p.records_added += 1;
                }
                p.mailboxes.push(r.mailbox.to_string());
                p.client_ips.push(m.client_ip.to_string());
            }
        }
    }
    let attacker: Vec<&Record> = candidates
        .iter()
        .copied()
        .filter(|r| attacker_ids.contains(&r.id))
        .collect();
    let pivots: Vec<SessionPivot> = pivots
        .into_values()
        .map(|mut p| {
            p.mailboxes = split_set(&p.mailboxes);
            p.client_ips = split_set(&p.client_ips);
            p
        })
        .collect();

    // 3. The attacker's period in each mailbox.
    let mut periods: BTreeMap<&str, (Nanos, Nanos)> = BTreeMap::new();
    for r in &attacker {
        let e = periods.entry(&r.mailbox).or_insert((r.time, r.time));
        e.0 = e.0.min(r.time);
        e.1 = e.1.max(r.time);
    }
    // The period is the attacker's records' own: `--from` and `--to` only limit which records
    // are looked at, so a bound that leaves out no record changes nothing.

    // The period an unaudited window must overlap: the attacker's records there, extended to
    // the compromise known from other evidence.
    let access_period = |&(s, e): &(Nanos, Nanos)| {
        (
            opts.compromised_from.map_or(s, |f| s.min(f)),
            opts.compromised_to.map_or(e, |t| e.max(t)),
        )
    };

    // 4. Throttling: the merged windows of the attacker's mailboxes (every throttled record,
    // whoever was throttled, and whatever the time bounds, so that a window is reported whole),
    // those that overlap the access period there apart from the others.
    let throttled = records.iter().filter(|r| {
        r.mail.as_deref().is_some_and(|m| m.throttled) && periods.contains_key(r.mailbox.as_str())
    });
    let (wins, wins_outside): (Vec<Window>, Vec<Window>) =
        windows(throttled).into_iter().partition(|w| {
            let (s, e) = access_period(&periods[w.mailbox.as_str()]);
            w.end >= s && w.start <= e
        });

    // 5. Syncs in the attacker's context.
    let mut folders: Vec<FolderExposure> = attacker
        .iter()
        .filter_map(|r| {
            let m = r.mail.as_deref()?;
            (m.access == AccessType::Sync).then(|| FolderExposure {
                mailbox: r.mailbox.to_string(),
                folder: m
                    .synced_folder
                    .as_ref()
                    .map_or_else(String::new, |f| f.path.to_string()),
                synced_at: r.time,
                session_id: m.session_id.to_string(),
                client_ip: m.client_ip.to_string(),
                record_id: r.id.to_string(),
            })
        })
        .collect();
    folders.sort_by(|a, b| {
        (&a.mailbox, a.synced_at, &a.record_id).cmp(&(&b.mailbox, b.synced_at, &b.record_id))
    });

    // 6. Binds in the attacker's context: exactly those messages.
    let acc = Accesses::build(records, |r| attacker_ids.contains(&r.id) && in_scope(r));
    let msgs = messages(&acc);
    let accesses_raw = acc.items.len() as u64;
    let accesses = acc.items.iter().filter(|a| a.kept).count() as u64;

    // 7. Per mailbox: level and reasons.
    let mut mailboxes = Vec::new();
    for (&mailbox, &(start, end)) in &periods {
        let recs: Vec<&&Record> = attacker.iter().filter(|r| r.mailbox == mailbox).collect();
        let (from, to) = access_period(&(start, end));
        let mut reasons = Vec::new();
        let mb_windows: Vec<&Window> = wins.iter().filter(|w| w.mailbox == mailbox).collect();
        for w in &mb_windows {
            let extended = if w.end >= start && w.start <= end {
                ""
            } else {
                " (it overlaps the attacker's period only as --compromised-from/--compromised-to \
                 extend it)"
            };
            reasons.push(Reason {
                rule: "throttled",
                detail: format!(
                    "{} throttled record(s): bind activity was not audited from {} to {}{extended}; \
                     every message in the mailbox is treated as exposed in that window",
                    w.record_ids.len(),
                    format_time(w.start),
                    format_time(w.end)
                ),
                record_ids: w.record_ids.clone(),
            });
        }
        let cautions: Vec<Reason> = wins_outside
            .iter()
            .filter(|w| w.mailbox == mailbox)
            .map(|w| outside_caution(w, (from, to)))
            .collect();
        let mb_folders: Vec<&FolderExposure> =
            folders.iter().filter(|f| f.mailbox == mailbox).collect();
        for f in &mb_folders {
            reasons.push(Reason {
                rule: "sync",
                detail: format!(
                    "folder {} synced to a desktop client in the attacker's context at {} \
                     (session {}, IP {}): the folder is exposed in full and the mailbox is \
                     probably exposed in full",
                    if f.folder.is_empty() {
                        "(unnamed)"
                    } else {
                        &f.folder
                    },
                    format_time(f.synced_at),
                    if f.session_id.is_empty() {
                        "-"
                    } else {
                        &f.session_id
                    },
                    if f.client_ip.is_empty() {
                        "-"
                    } else {
                        &f.client_ip
                    },
                ),
                record_ids: vec![f.record_id.clone()],
            });
        }
        let mb_msgs = msgs.iter().filter(|m| m.mailbox == mailbox).count() as u64;
        let bind_ids: Vec<String> = recs
            .iter()
            .filter(|r| {
                r.mail
                    .as_deref()
                    .is_some_and(|m| m.access != AccessType::Sync)
            })
            .map(|r| r.id.to_string())
            .collect();
        if !bind_ids.is_empty() {
            let kept = acc
                .items
                .iter()
                .filter(|a| a.kept && acc.ctx(a).mailbox == mailbox)
                .count();
            reasons.push(Reason {
                rule: "bind",
                detail: format!(
                    "{mb_msgs} message(s) opened in the attacker's context ({kept} access(es) \
                     after the one-hour de-duplication, in {} bind record(s))",
                    bind_ids.len()
                ),
                record_ids: bind_ids,
            });
        }
        let level = if !mb_windows.is_empty() {
            Level::Mailbox
        } else if !mb_folders.is_empty() {
            Level::Folders
        } else if mb_msgs > 0 {
            Level::Messages
        } else {
            Level::None
        };
        mailboxes.push(MailboxExposure {
            mailbox: mailbox.to_string(),
            level,
            probably_entire_mailbox: !mb_folders.is_empty() || !mb_windows.is_empty(),
            attacker_period: Period {
                start: format_time(start),
                end: format_time(end),
            },
            access_period: Period {
                start: format_time(from),
                end: format_time(to),
            },
            attacker_records: recs.len() as u64,
            sessions: split_set(
                &recs
                    .iter()
                    .filter_map(|r| r.mail.as_deref().map(|m| m.session_id.to_string()))
                    .collect::<Vec<_>>(),
            ),
            client_ips: split_set(
                &recs
                    .iter()
                    .filter_map(|r| r.mail.as_deref().map(|m| m.client_ip.to_string()))
                    .collect::<Vec<_>>(),
            ),
            messages: mb_msgs,
            folders: mb_folders.len() as u64,
            unaudited_windows: mb_windows.len() as u64,
            unaudited_windows_outside: cautions.len() as u64,
            reasons,
            cautions,
            period: (start, end),
        });
    }
    // Most exposed first, then by name.
    mailboxes.sort_by(|a, b| b.level.cmp(&a.level).then(a.mailbox.cmp(&b.mailbox)));
    ScopeResult {
        without_mail_items_accessed: without_mail_items_accessed(records),
        attacker,
        matched_by,
        pivots,
        mailboxes,
        folders,
        windows: wins,
        windows_outside: wins_outside,
        messages: msgs,
        accesses_raw,
        accesses,
    }
}

/// The caution for an unaudited window of an attacker's mailbox that does not overlap their
/// period there (`from`..`to`): how far from it, and what to check.
fn outside_caution(w: &Window, (from, to): (Nanos, Nanos)) -> Reason {
    let (gap, side) = if w.start > to {
        (w.start - to, "after the end of the attacker's period")
    } else {
        (from - w.end, "before the start of the attacker's period")
    };
    Reason {
        rule: "throttled-outside",
        detail: format!(
            "bind activity was not audited from {} to {}, {} {side} ({}): the level does not \
             count it, but a window hides the records that would show the attacker in it; if \
             other evidence (sign-in logs) shows the attacker had access then, give it as \
             --compromised-from/--compromised-to and every message of the mailbox is treated \
             as exposed in the window",
            format_time(w.start),
            format_time(w.end),
            format_gap(gap),
            format_time(if w.start > to { to } else { from }),
        ),
        record_ids: w.record_ids.clone(),
    }
}

/// A positive duration in words: `3 minutes`, `5 hours 2 minutes`, `2 days 4 hours`.
pub fn format_gap(d: Nanos) -> String {
    let minutes = d / 60_000_000_000;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let unit = |n: i64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (days, hours) {
        (0, 0) if d < 60_000_000_000 => unit(d / 1_000_000_000, "second"),
        (0, 0) => unit(mins, "minute"),
        (0, _) if mins == 0 => unit(hours, "hour"),
        (0, _) => format!("{} {}", unit(hours, "hour"), unit(mins, "minute")),
        (_, 0) => unit(days, "day"),
        _ => format!("{} {}", unit(days, "day"), unit(hours, "hour")),
    }
}

fn without_mail_items_accessed(records: &[Record]) -> Vec<String> {
    let audited: AHashSet<&str> = records
        .iter()
        .filter(|r| r.mail.is_some())
        .map(|r| r.mailbox.as_str())
        .collect();
    // As `stats` counts them: every mailbox, and the users that are UPNs.
    let accounts = records
        .iter()
        .flat_map(|r| {
            let upn = Some(r.user.as_str()).filter(|u| u.contains('@'));
            std::iter::once(r.mailbox.as_str()).chain(upn)
        })
        .filter(|a| !a.is_empty() && !audited.contains(a));
    accounts
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .map(String::from)
        .collect()
}

fn split_set(v: &[String]) -> Vec<String> {
    let joined = join_set(v.iter().map(String::as_str));
    if joined.is_empty() {
        Vec::new()
    } else {
        joined.split(';').map(String::from).collect()
    }
}
