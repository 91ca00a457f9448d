//! `mailscope messages`: which messages were read? One row per (mailbox, InternetMessageId)
//! for what the filters select: the list that goes to message trace and to counsel.

use crate::analyze::access::Accesses;
use crate::analyze::messages::{bracketed, messages};
use crate::cli::AnalysisArgs;
use crate::error::Result;
use crate::output::rows::{Cell, Rows};

pub const HELP: &str = "\
Examples:
  mailscope messages exports/ --session 1f99e672-8141-4a22-9aa0-96357297e843
  mailscope messages exports/ --ip 203.0.113.7 --from 2024-05-01 -o read-by-attacker.csv
  mailscope messages exports/ --ioc attacker.txt --format json

Columns: mailbox, internet_message_id (as <local@domain>, lowercased), folder, size_bytes,
first_access, last_access, accesses (after the one-hour de-duplication), sessions,
client_ips, then users and accesses_raw. Sync records name folders, not messages: see
`mailscope syncs`.";

pub fn run(args: &AnalysisArgs) -> Result<i32> {
    let mut l = super::common::load(args)?;
    let filter = &l.filter;
    let acc = Accesses::build(&l.ingested.records, |r| filter.matches(r));
    let mut rows = Rows::new(&[
        "mailbox",
        "internet_message_id",
        "folder",
        "size_bytes",
        "first_access",
        "last_access",
        "accesses",
        "sessions",
        "client_ips",
        "users",
        "accesses_raw",
    ]);
    for m in messages(&acc) {
        rows.push(vec![
            Cell::Text(m.mailbox),
            Cell::Text(bracketed(&m.internet_message_id)),
            Cell::Text(m.folder),
            Cell::opt_int(m.size_bytes),
            Cell::Time(m.first_access),
            Cell::Time(m.last_access),
            Cell::Int(m.accesses),
            Cell::Text(m.sessions),
            Cell::Text(m.client_ips),
            Cell::Text(m.users),
            Cell::Int(m.accesses_raw),
        ]);
    }
    rows.write(&mut l.out)?;
    l.out.finish()?;
    super::release(acc);
    super::release(l.ingested);
    Ok(l.code)
}
