//! `mailscope sessions`: which sessions read mail? One row per (mailbox, user, session,
//! client IP, client string): the list in which an investigator spots the attacker's
//! sessions next to the owner's, before listing their messages.

use crate::analyze::access::Accesses;
use crate::analyze::sessions::sessions;
use crate::cli::AnalysisArgs;
use crate::error::Result;
use crate::output::rows::{Cell, Rows};

pub const HELP: &str = "\
Examples:
  mailscope sessions exports/ --mailbox ceo@contoso.com --format table
  mailscope sessions exports/ --ip 203.0.113.7,2001:db8::/32
  mailscope sessions exports/ --ioc attacker.txt -o sessions.csv

Columns: mailbox, user, session_id, client_ip, client_info, first_seen, last_seen, records,
bind_operations, sync_records, messages (distinct; ids told apart by a 127-bit digest),
accesses (after the one-hour de-duplication), synced_folders, logon_types, app_ids.";

pub fn run(args: &AnalysisArgs) -> Result<i32> {
    let l = super::common::load_counting_messages(args)?;
    let filter = &l.filter;
    let phase = crate::progress::Phase::start("accesses");
    let acc = Accesses::build(&l.ingested.records, |r| filter.matches(r));
    drop(phase);
    let phase = crate::progress::Phase::start("aggregate and rows");
    let found = sessions(&acc);
    // A few flat vectors: freed at once, and their memory serves the rows below.
    drop(acc);
    let mut rows = Rows::new(&[
        "mailbox",
        "user",
        "session_id",
        "client_ip",
        "client_info",
        "first_seen",
        "last_seen",
        "records",
        "bind_operations",
        "sync_records",
        "messages",
        "accesses",
        "synced_folders",
        "logon_types",
        "app_ids",
    ]);
    for s in found {
        rows.push(vec![
            Cell::Text(s.mailbox),
            Cell::Text(s.user),
            Cell::Text(s.session_id),
            Cell::Text(s.client_ip),
            Cell::Text(s.client_info),
            Cell::Time(s.first_seen),
            Cell::Time(s.last_seen),
            Cell::Int(s.records),
            Cell::Int(s.bind_operations),
            Cell::Int(s.sync_records),
            Cell::Int(s.messages),
            Cell::Int(s.accesses),
            Cell::Text(s.synced_folders),
            Cell::Text(s.logon_types),
            Cell::Text(s.app_ids),
        ]);
    }
    drop(phase);
    let _phase = crate::progress::Phase::start("write");
    l.write(&rows)
}
