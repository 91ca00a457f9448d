//! `mailscope contexts`: which contexts read mail, and how much?
//!
//! Bind accesses aggregated per access context: Microsoft's key (client IP, client string,
//! folder, logon type, access type, mailbox, user, session) plus AppId and ClientAppId, with
//! first and last seen, records, the sum of OperationCount, accesses before and after the
//! one-hour de-duplication, distinct messages, folders and bytes. `--by` groups by fewer keys.

use crate::analyze::access::Accesses;
use crate::analyze::contexts::{Key, contexts};
use crate::cli::ContextsArgs;
use crate::error::Result;
use crate::output::rows::{Cell, Rows};

pub const HELP: &str = "\
Examples:
  mailscope contexts exports/
  mailscope contexts exports/ --by mailbox,ip,session         # fewer keys
  mailscope contexts exports/ --mailbox ceo@contoso.com --from 2024-05-01 --format table
  mailscope contexts ual.ndjson.zst --ip 203.0.113.0/24 -o contexts.csv

Columns: the grouping keys, then first_seen, last_seen, records (bind records),
operations (sum of OperationCount), accesses_raw and accesses (listed messages before and
after the one-hour de-duplication), messages (distinct; ids told apart by a 127-bit
digest, see `messages` for the ids themselves), folders, bytes.";

pub fn run(args: &ContextsArgs) -> Result<i32> {
    let l = super::common::load_counting_messages(&args.common)?;
    let by: Vec<Key> = if args.by.is_empty() {
        Key::ALL.to_vec()
    } else {
        args.by.clone()
    };
    let filter = &l.filter;
    let phase = crate::progress::Phase::start("accesses");
    let acc = Accesses::build(&l.ingested.records, |r| filter.matches(r));
    drop(phase);
    let phase = crate::progress::Phase::start("aggregate and rows");
    let mut header: Vec<&'static str> = by.iter().map(|k| k.column()).collect();
    header.extend([
        "first_seen",
        "last_seen",
        "records",
        "operations",
        "accesses_raw",
        "accesses",
        "messages",
        "folders",
        "bytes",
    ]);
    // Frees the accesses' vectors as it goes: their memory serves the rows.
    let found = contexts(acc, &by);
    let rows = Rows::generated(&header, found.len(), move |i| {
        let c = &found[i];
        let mut row: Vec<Cell> = Vec::with_capacity(c.key.len() + 9);
        row.extend(c.key.iter().map(|&k| Cell::Sym(k)));
        row.extend([
            Cell::Time(c.first_seen),
            Cell::Time(c.last_seen),
            Cell::Int(c.records),
            Cell::Int(c.operations),
            Cell::Int(c.accesses_raw),
            Cell::Int(c.accesses),
            Cell::Int(c.messages),
            Cell::Int(c.folders),
            Cell::Int(c.bytes),
        ]);
        row
    });
    drop(phase);
    let _phase = crate::progress::Phase::start("write");
    l.write(&rows)
}
