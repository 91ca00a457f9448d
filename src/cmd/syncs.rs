//! `mailscope syncs`: which folders went to a desktop client in full? One row per sync
//! record. A sync in the attacker's context exposes the whole folder, and the mailbox
//! should be treated as probably exposed. See: ../shared/docs/forensics.md, steps 2 and 3.

use crate::analyze::access::SyncRecord;
use crate::cli::AnalysisArgs;
use crate::error::Result;
use crate::model::Record;
use crate::output::rows::{Cell, Rows};

pub const HELP: &str = "\
Examples:
  mailscope syncs exports/
  mailscope syncs exports/ --ip 203.0.113.7 --format table

Columns: mailbox, folder, time, user, client_ip, client_ip_raw (as the record wrote it: with
its port, brackets or ::ffff:), client_info, session_id, logon_type, app_id, client_app_id,
record_id. Sync is recorded only for desktop Outlook clients.";

pub fn run(args: &AnalysisArgs) -> Result<i32> {
    // Sync records are kept whole, the others as the few fields that order them.
    let l = super::common::load_without_message_ids::<SyncRecord>(args)?;
    let filter = &l.filter;
    let mut list: Vec<&Record> = l
        .ingested
        .records
        .iter()
        .filter_map(SyncRecord::whole)
        .filter(|r| filter.matches(r))
        .collect();
    let mut rows = Rows::new(&[
        "mailbox",
        "folder",
        "time",
        "user",
        "client_ip",
        "client_ip_raw",
        "client_info",
        "session_id",
        "logon_type",
        "app_id",
        "client_app_id",
        "record_id",
    ]);
    list.sort_by(|a, b| (a.time, &a.mailbox, &a.id).cmp(&(b.time, &b.mailbox, &b.id)));
    for r in list {
        let Some(m) = r.mail.as_deref() else { continue };
        rows.push(vec![
            Cell::Sym(r.mailbox),
            Cell::text(m.synced_folder.as_ref().map_or("", |f| f.path.as_str())),
            Cell::Time(r.time),
            Cell::Sym(r.user),
            Cell::Sym(m.client_ip),
            Cell::Sym(m.client_ip_raw),
            Cell::Sym(m.client_info),
            Cell::Sym(m.session_id),
            Cell::Text(m.logon_type_name()),
            Cell::Sym(m.app_id),
            Cell::Sym(m.client_app_id),
            Cell::text(&r.id),
        ]);
    }
    l.write(&rows)
}
