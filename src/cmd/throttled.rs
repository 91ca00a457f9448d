//! `mailscope throttled`: where was the audit trail blind? A throttled record stops bind
//! auditing for its mailbox for 24 hours: every message in the mailbox is to be treated as
//! exposed in that window. Prints the merged windows per mailbox, or the records.

use crate::analyze::filter::Filter;
use crate::analyze::throttle::{ThrottleRecord, UNAUDITED, windows};
use crate::cli::ThrottledArgs;
use crate::error::Result;
use crate::model::Nanos;
use crate::output::rows::{Cell, Rows};

pub const HELP: &str = "\
Examples:
  mailscope throttled exports/
  mailscope throttled exports/ --records --format table

--from and --to keep the windows that overlap them, whenever their throttled records were
written (a window opened the day before --from still covers it).

Columns: mailbox, start, end (RFC 3339 UTC), throttled_records, record_ids.
With --records: mailbox, time, window_end, record_id, user, client_ip, client_ip_raw (as the
record wrote it: with its port, brackets or ::ffff:), client_info, session_id.";

pub fn run(args: &ThrottledArgs) -> Result<i32> {
    // Throttled records are kept whole, the others as the few fields that order them.
    let l = super::common::load_without_folders::<ThrottleRecord>(&args.common)?;
    // `--from` and `--to` select the windows (or records' windows) that overlap them, not the
    // throttled records: a window opened before `--from` still covers the time asked about.
    let (from, to) = (l.filter.from, l.filter.to);
    let filter = Filter {
        from: None,
        to: None,
        ..l.filter.clone()
    };
    let overlaps =
        |start: Nanos, end: Nanos| from.is_none_or(|f| end >= f) && to.is_none_or(|t| start <= t);
    let throttled = l
        .ingested
        .records
        .iter()
        .filter_map(ThrottleRecord::whole)
        .filter(|r| filter.matches(r));
    let rows = if args.records {
        let mut rows = Rows::new(&[
            "mailbox",
            "time",
            "window_end",
            "record_id",
            "user",
            "client_ip",
            "client_ip_raw",
            "client_info",
            "session_id",
        ]);
        let mut list: Vec<_> = throttled
            .filter(|r| overlaps(r.time, r.time + UNAUDITED))
            .collect();
        list.sort_by(|a, b| (&a.mailbox, a.time, &a.id).cmp(&(&b.mailbox, b.time, &b.id)));
        for r in list {
            let Some(m) = r.mail.as_deref() else { continue };
            rows.push(vec![
                Cell::Sym(r.mailbox),
                Cell::Time(r.time),
                Cell::Time(r.time + UNAUDITED),
                Cell::text(&r.id),
                Cell::Sym(r.user),
                Cell::Sym(m.client_ip),
                Cell::Sym(m.client_ip_raw),
                Cell::Sym(m.client_info),
                Cell::Sym(m.session_id),
            ]);
        }
        rows
    } else {
        let mut rows = Rows::new(&["mailbox", "start", "end", "throttled_records", "record_ids"]);
        for w in windows(throttled)
            .into_iter()
            .filter(|w| overlaps(w.start, w.end))
        {
            rows.push(vec![
                Cell::Text(w.mailbox),
                Cell::Time(w.start),
                Cell::Time(w.end),
                Cell::Int(w.record_ids.len() as u64),
                Cell::Text(w.record_ids.join(";")),
            ]);
        }
        rows
    };
    l.write(&rows)
}
