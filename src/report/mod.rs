//! The exposure report (`mailscope scope --out DIR`): what counsel and regulators receive.
//!
//! DIR holds `summary.json` (inputs with SHA-256, indicators, window, rules applied, per-mailbox
//! level, reasons and cautions, totals, trace coverage), `messages.csv`, `folders.csv`, `unaudited.csv`
//! and `report.html` (one self-contained file). The same inputs give byte-identical files; the
//! only run-dependent value is the labelled generation time, left out with `--no-timestamp`.

pub mod html;

use crate::analyze::scope::{Labeled, ScopeOptions, ScopeResult};
use crate::ingest::Ingested;
use crate::input::trace::Trace;
use crate::model::Nanos;
use crate::output::rows::{Cell, MESSAGE_COLUMNS, Rows, message_cells};
use crate::output::{Format, Output};
use crate::parse::fields::format_time;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The rules the report applies, as it states them.
/// See: ../shared/docs/forensics.md and Microsoft's MailItemsAccessed investigation guide.
pub const RULES: [&str; 7] = [
    "Record de-duplication: one record id (Id/RecordId/Identity/OfficeId) is one record, wherever and however often it appears in the inputs.",
    "Access context: an access is (mailbox, InternetMessageId) in a context of ClientIPAddress, ClientInfoString, ParentFolder, LogonType, MailAccessType, MailboxUPN, User and SessionId; Exchange writes a separate record whenever one of them differs.",
    "One-hour de-duplication: repeats of one access within 60 minutes of the last kept occurrence collapse into it; raw and de-duplicated counts are both given.",
    "Attacker context: the MailItemsAccessed records that match any indicator; with session expansion, every record of a session that an indicator matched.",
    "Throttling: a mailbox with more than 1,000 MailItemsAccessed records in 24 hours stops auditing binds for 24 hours; a throttled record whose 24-hour window overlaps the attacker's period in a mailbox (their first to last record there, extended to the compromise period the investigator gives from other evidence) exposes every message of that mailbox in the window; the mailbox's other windows are listed as cautions, since they hide the records that would show the attacker in them.",
    "Sync in the attacker's context: a desktop client took the whole folder, which is exposed in full; the mailbox is treated as probably exposed in full.",
    "Bind in the attacker's context: exactly the InternetMessageIds the records list are exposed.",
];

/// What the evidence cannot show, as the report states it.
pub const LIMITS: [&str; 5] = [
    "Sync is recorded only for desktop Outlook clients (Windows and Mac); other clients that download whole folders (some practitioners saw none for Thunderbird) may leave no sync record.",
    "Throttled periods are blind for bind activity: what was read in an unaudited window cannot be listed, so the whole mailbox is assumed exposed in it.",
    "One-hour de-duplication means a missing record is not proof that a message was not accessed again.",
    "Message trace covers 10 days (90 with historical search), so sender, recipients and subject can be joined only for part of the messages; the share matched is stated.",
    "MailItemsAccessed needed E5/Audit Premium until 2023 (now also E3, when enabled per mailbox): a mailbox with no such records may not have been audited.",
];

/// The files of a report directory.
pub const FILES: [&str; 5] = [
    "summary.json",
    "messages.csv",
    "folders.csv",
    "unaudited.csv",
    "report.html",
];

/// Everything the report needs.
pub struct Report<'a, 'r> {
    pub ingested: &'a Ingested,
    pub options: &'a ScopeOptions,
    pub result: &'a ScopeResult<'r>,
    pub trace: Option<&'a Trace>,
    /// The generation time, labelled; `None` with `--no-timestamp`.
    pub generated_at: Option<String>,
}

/// Trace enrichment of one exposed message.
pub struct Traced<'t> {
    pub sender: String,
    pub recipients: String,
    pub subject: &'t str,
    pub received: Option<Nanos>,
}

impl<'a, 'r> Report<'a, 'r> {
    pub fn traced(&self, id: &str) -> Option<Traced<'a>> {
        let e = self.trace?.messages.get(id)?;
        Some(Traced {
            sender: e.sender.iter().cloned().collect::<Vec<_>>().join(";"),
            recipients: e.recipients.iter().cloned().collect::<Vec<_>>().join(";"),
            subject: &e.subject,
            received: e.received,
        })
    }

    /// Why an exposed message has no trace rows.
    pub fn untraced_reason(&self, first_access: Nanos) -> &'static str {
        match self.trace {
            None => "no message trace was given",
            Some(t) if t.first.is_some_and(|f| first_access < f) => {
                "accessed before the first message in the trace: older than the trace window"
            }
            Some(_) => {
                "not in the message trace: outside its window, a draft, or never sent through \
                 transport"
            }
        }
    }

    pub fn trace_coverage(&self) -> Value {
        let total = self.result.messages.len() as u64;
        let Some(trace) = self.trace else {
            return json!({"given": false, "messages_total": total, "messages_matched": 0,
                "share_matched": 0.0, "unmatched_reasons": {"no message trace was given": total}});
        };
        let mut matched = 0u64;
        let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
        for m in &self.result.messages {
            if trace.messages.contains_key(m.internet_message_id.as_str()) {
                matched += 1;
            } else {
                *reasons
                    .entry(self.untraced_reason(m.first_access))
                    .or_default() += 1;
            }
        }
        json!({
            "given": true,
            "files": trace.files,
            "trace_messages": trace.messages.len(),
            "trace_first_received": trace.first.map(format_time),
            "trace_last_received": trace.last.map(format_time),
            "messages_total": total,
            "messages_matched": matched,
            "share_matched": if total == 0 { 0.0 } else { (matched as f64 / total as f64 * 1000.0).round() / 1000.0 },
            "unmatched_reasons": reasons,
        })
    }

    pub fn indicators(&self) -> Vec<String> {
        self.options
            .indicators
            .iter()
            .map(|l: &Labeled| l.label.clone())
            .collect()
    }

    pub fn summary(&self) -> Value {
        let r = self.result;
        let ing = self.ingested;
        let mut v = json!({
            "tool": {"name": "mailscope", "version": env!("CARGO_PKG_VERSION")},
            "inputs": ing.files.iter().map(|f| json!({
                "path": f.path, "size": f.size, "sha256": f.sha256, "compression": f.compression,
                "encoding": f.encoding, "container": f.container, "shape": f.shape,
                "records": f.records, "error": f.error,
            })).collect::<Vec<_>>(),
            "evidence": {
                "records": ing.read,
                "unique_records": ing.records.len(),
                "duplicates": ing.duplicates,
                "malformed": ing.malformed_total(),
                "malformed_by_kind": ing.malformed.iter().map(|(k, n)| (k.to_string(), *n)).collect::<BTreeMap<_, _>>(),
            },
            "indicators": self.indicators(),
            "expand_sessions": self.options.expand_sessions,
            "session_pivots": r.pivots,
            "window": {
                "from": self.options.from.map(format_time),
                "to": self.options.to.map(format_time),
                "mailboxes": self.options.mailboxes,
            },
            "compromised": {
                "from": self.options.compromised_from.map(format_time),
                "to": self.options.compromised_to.map(format_time),
            },
            "rules": RULES,
            "limits": LIMITS,
            "mailboxes": r.mailboxes,
            "totals": {
                "mailboxes": r.mailboxes.len(),
                "mailboxes_by_level": level_counts(r),
                "attacker_records": r.attacker.len(),
                "messages": r.messages.len(),
                "accesses_raw": r.accesses_raw,
                "accesses": r.accesses,
                "folders": r.folders.len(),
                "unaudited_windows": r.windows.len(),
                "unaudited_windows_outside": r.windows_outside.len(),
            },
            "trace": self.trace_coverage(),
            "accounts_without_mail_items_accessed": r.without_mail_items_accessed,
        });
        if let Some(t) = &self.generated_at {
            v["generated_at"] = json!(t);
        }
        v
    }

    pub fn messages_rows(&self) -> Rows {
        let traced = self.trace.is_some();
        let mut header = MESSAGE_COLUMNS.to_vec();
        if traced {
            header.extend(["sender", "recipients", "subject", "received"]);
        }
        let mut rows = Rows::new(&header);
        for m in &self.result.messages {
            let mut row = message_cells(m);
            if traced {
                match self.traced(&m.internet_message_id) {
                    Some(t) => row.extend([
                        Cell::Text(t.sender),
                        Cell::Text(t.recipients),
                        Cell::text(t.subject),
                        t.received.map_or(Cell::Null, Cell::Time),
                    ]),
                    None => row.extend([Cell::Null, Cell::Null, Cell::Null, Cell::Null]),
                }
            }
            rows.push(row);
        }
        rows
    }

    pub fn folders_rows(&self) -> Rows {
        let mut rows = Rows::new(&[
            "mailbox",
            "folder",
            "synced_at",
            "session_id",
            "client_ip",
            "record_id",
        ]);
        for f in &self.result.folders {
            rows.push(vec![
                Cell::text(&f.mailbox),
                Cell::text(&f.folder),
                Cell::Time(f.synced_at),
                Cell::text(&f.session_id),
                Cell::text(&f.client_ip),
                Cell::text(&f.record_id),
            ]);
        }
        rows
    }

    /// Every unaudited window of the attacker's mailboxes, by mailbox and start; those that do
    /// not overlap the attacker's period there (cautions) with `false` in the last column.
    pub fn unaudited_rows(&self) -> Rows {
        let mut rows = Rows::new(&[
            "mailbox",
            "start",
            "end",
            "throttled_record_ids",
            "overlaps_attacker_period",
        ]);
        for (w, overlaps) in self.result.all_windows() {
            rows.push(vec![
                Cell::text(&w.mailbox),
                Cell::Time(w.start),
                Cell::Time(w.end),
                Cell::Text(w.record_ids.join(";")),
                Cell::Bool(overlaps),
            ]);
        }
        rows
    }

    /// Writes the five files ([`FILES`]) into `dir` (created if needed).
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("summary.json"))?);
        serde_json::to_writer_pretty(&mut f, &self.summary())?;
        writeln!(f)?;
        f.flush()?;
        for (name, rows) in [
            ("messages.csv", self.messages_rows()),
            ("folders.csv", self.folders_rows()),
            ("unaudited.csv", self.unaudited_rows()),
        ] {
            let mut out = Output {
                format: Format::Csv,
                writer: Box::new(std::io::BufWriter::new(std::fs::File::create(
                    dir.join(name),
                )?)),
            };
            rows.write(&mut out)?;
            out.writer.flush()?;
        }
        std::fs::write(dir.join("report.html"), html::render(self))?;
        Ok(())
    }
}

fn level_counts(r: &ScopeResult<'_>) -> BTreeMap<&'static str, u64> {
    let mut m = BTreeMap::new();
    for mb in &r.mailboxes {
        *m.entry(mb.level.as_str()).or_default() += 1;
    }
    m
}
