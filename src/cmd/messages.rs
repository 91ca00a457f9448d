//! `mailscope messages`: which messages were read? One row per (mailbox, InternetMessageId)
//! for what the filters select: the list that goes to message trace and to counsel.

use crate::analyze::access::Accesses;
use crate::analyze::messages::MessageGroups;
use crate::cli::AnalysisArgs;
use crate::error::Result;
use crate::model::Record;
use crate::output::rows::{Cell, MESSAGE_COLUMNS, Rows, message_cells};

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
    // The rows are made as they are written, from the accesses, which borrow the records:
    // both are left unfreed, like all of a command's evidence (see `super::release`).
    let records: &'static [Record] = std::mem::take(&mut l.ingested.records).leak();
    let filter = &l.filter;
    let phase = crate::progress::Phase::start("accesses");
    let acc: &'static Accesses =
        Box::leak(Box::new(Accesses::build(records, |r| filter.matches(r))));
    drop(phase);
    // The rows themselves are made in the write phase, a batch at a time.
    let phase = crate::progress::Phase::start("group");
    let mut header = MESSAGE_COLUMNS.to_vec();
    header.extend(["users", "accesses_raw"]);
    let groups = MessageGroups::new(acc);
    let rows = Rows::generated(&header, groups.len(), move |i| {
        let m = groups.row(i);
        let mut row = message_cells(&m);
        row.extend([m.users.cell(), Cell::Int(m.accesses_raw)]);
        row
    });
    drop(phase);
    let _phase = crate::progress::Phase::start("write");
    l.write(&rows)
}
