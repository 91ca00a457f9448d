//! `mailscope stats`: the evidence inventory an investigator runs first.
//!
//! Answers: what did I get? Which files (hash, compression, encoding, shape), how many
//! records of which operations, over which time span, for which mailboxes and users; how many
//! duplicates and malformed records (with their places); which accounts have no
//! MailItemsAccessed records (maybe not audited); and whether an export looks capped.

use crate::analyze::inventory::{Inventory, InventoryRecord, inventory};
use crate::cli::StatsArgs;
use crate::error::{Error, Result};
use crate::ingest::ingest_as;
use crate::output::table::Table;
use crate::output::{Format, Output};
use std::io::Write;

pub const HELP: &str = "\
Examples:
  mailscope stats ../shared/samples/d-purview-portal-export-2023-huntressctf-FULL.csv
  mailscope stats exports/                      # every file below exports/, recursively
  mailscope stats ual.ndjson.zst --format json | jq .by_operation
  zstdcat ual.ndjson.zst | mailscope stats -    # standard input
  mailscope stats exports/ --no-hash            # evidence hashed when it was collected

Output: a table on a terminal, else JSON (--format table|json; csv and ndjson do not apply).

JSON keys: records (all read) = mail_items_accessed + other_operations + duplicates + malformed;
by_operation, by_access_type, malformed_by_kind, malformed_examples, first_time, last_time,
mailboxes, users, mailboxes_without_mail_items_accessed, capped_export_signs, files, notes.";

pub fn run(args: &StatsArgs) -> Result<i32> {
    if matches!(args.output.format, Some(Format::Csv | Format::Ndjson)) {
        return Err(Error::Usage(
            "stats writes a table or JSON (--format table|json)".to_string(),
        ));
    }
    // Checked before the output is created: creating it empties the file.
    let outputs: Vec<_> = args.output.output.iter().cloned().collect();
    let inputs = crate::config::inputs(&args.input, &outputs, &[])?;
    let out = Output::open(
        args.output.format,
        args.output.output.as_deref(),
        Format::Json,
    )?;
    let mut opts = crate::config::ingest_options(&args.run, !args.hash.no_hash)?;
    // The inventory never reads message ids or folders: they are checked and counted, not
    // kept.
    opts.message_ids = crate::parse::MessageIds::Drop;
    opts.folders = false;
    crate::memory::free_at_once();
    // Only what the inventory reads is kept of each record, as it is parsed.
    let ing = ingest_as::<InventoryRecord>(&inputs, &opts)?;
    let code = super::report_skipped(&ing, &args.run);
    let phase = crate::progress::Phase::start("inventory");
    let inv = inventory(&ing);
    drop(phase);
    let _phase = crate::progress::Phase::start("write");
    let mut out = out;
    match out.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out.writer, &inv).map_err(std::io::Error::from)?;
            writeln!(out.writer)?;
        }
        _ => write_table(&inv, &mut out.writer)?,
    }
    out.finish()?;
    super::release(inv);
    super::release(ing);
    Ok(code)
}

/// Rows of a long list shown on the terminal; `--format json` has them all.
const TABLE_ROWS: usize = 50;

fn more(w: &mut dyn Write, total: usize) -> std::io::Result<()> {
    if total > TABLE_ROWS {
        writeln!(
            w,
            "  ... and {} more (--format json lists them all)",
            total - TABLE_ROWS
        )?;
    }
    Ok(())
}

fn n(v: u64) -> String {
    v.to_string()
}

/// The human-readable inventory.
pub fn write_table(inv: &Inventory, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "Files ({})", inv.files.len())?;
    let mut t = Table::new(&[
        "path",
        "bytes",
        "compression",
        "encoding",
        "container",
        "shape",
        "records",
        "sha256",
    ])
    .right(&[1, 6]);
    for f in &inv.files {
        t.row(vec![
            f.path.clone(),
            n(f.size),
            f.compression.as_str().into(),
            f.encoding.as_str().into(),
            f.container.clone(),
            f.shape.clone(),
            n(f.records),
            f.sha256
                .as_deref()
                .and_then(|s| s.get(..16))
                .map_or_else(|| "not computed".to_string(), |s| format!("{s}…")),
        ]);
    }
    t.write(w, "  ")?;
    for f in inv.files.iter().filter(|f| f.error.is_some()) {
        writeln!(
            w,
            "  ! {}: {}",
            f.path,
            f.error.as_deref().unwrap_or_default()
        )?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "Records: {} read = {} MailItemsAccessed + {} other operations + {} duplicates + {} malformed",
        inv.records, inv.mail_items_accessed, inv.other_operations, inv.duplicates, inv.malformed
    )?;
    writeln!(
        w,
        "Time span: {} .. {}",
        inv.first_time.as_deref().unwrap_or("-"),
        inv.last_time.as_deref().unwrap_or("-")
    )?;
    if inv.mail_items_accessed > 0 {
        let kinds: Vec<String> = inv
            .by_access_type
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(
            w,
            "MailItemsAccessed: {} .. {}; {}; {} throttled",
            inv.mail_items_accessed_first_time.as_deref().unwrap_or("-"),
            inv.mail_items_accessed_last_time.as_deref().unwrap_or("-"),
            kinds.join(", "),
            inv.throttled_records
        )?;
    }
    writeln!(w)?;
    writeln!(w, "By operation ({})", inv.by_operation.len())?;
    let mut ops: Vec<(&String, &u64)> = inv.by_operation.iter().collect();
    ops.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut t = Table::new(&["operation", "records"]).right(&[1]);
    for (op, c) in ops {
        t.row(vec![op.clone(), n(*c)]);
    }
    t.write(w, "  ")?;
    if !inv.mailboxes.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "Mailboxes with MailItemsAccessed ({})",
            inv.mailboxes.len()
        )?;
        let mut t = Table::new(&[
            "mailbox",
            "records",
            "bind",
            "sync",
            "unknown",
            "throttled",
            "first",
            "last",
        ])
        .right(&[1, 2, 3, 4, 5]);
        for m in inv.mailboxes.iter().take(TABLE_ROWS) {
            t.row(vec![
                m.mailbox.clone(),
                n(m.mail_items_accessed),
                n(m.bind),
                n(m.sync),
                n(m.unknown_access),
                n(m.throttled),
                m.first_time.clone(),
                m.last_time.clone(),
            ]);
        }
        t.write(w, "  ")?;
        more(w, inv.mailboxes.len())?;
    }
    writeln!(w)?;
    writeln!(w, "Users ({})", inv.users.len())?;
    let mut t = Table::new(&["user", "records", "mail_items_accessed"]).right(&[1, 2]);
    let mut users: Vec<_> = inv.users.iter().collect();
    users.sort_by(|a, b| b.records.cmp(&a.records).then(a.user.cmp(&b.user)));
    for u in users.iter().take(TABLE_ROWS) {
        t.row(vec![u.user.clone(), n(u.records), n(u.mail_items_accessed)]);
    }
    t.write(w, "  ")?;
    more(w, inv.users.len())?;
    if !inv.mailboxes_without_mail_items_accessed.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "Accounts with no MailItemsAccessed records, maybe not audited ({})",
            inv.mailboxes_without_mail_items_accessed.len()
        )?;
        for a in inv
            .mailboxes_without_mail_items_accessed
            .iter()
            .take(TABLE_ROWS)
        {
            writeln!(w, "  {a}")?;
        }
        more(w, inv.mailboxes_without_mail_items_accessed.len())?;
    }
    if inv.malformed > 0 {
        writeln!(w)?;
        writeln!(w, "Malformed records ({})", inv.malformed)?;
        let mut t = Table::new(&["kind", "records"]).right(&[1]);
        for (k, v) in &inv.malformed_by_kind {
            t.row(vec![k.clone(), n(*v)]);
        }
        t.write(w, "  ")?;
        for m in &inv.malformed_examples {
            writeln!(w, "  {}", m.location())?;
        }
    }
    if !inv.capped_export_signs.is_empty() {
        writeln!(w)?;
        writeln!(w, "Signs of capped exports")?;
        for c in &inv.capped_export_signs {
            writeln!(w, "  {} {}: exactly {} records", c.scope, c.what, c.records)?;
        }
    }
    writeln!(w)?;
    writeln!(w, "Notes")?;
    for note in &inv.notes {
        writeln!(w, "  - {note}")?;
    }
    Ok(())
}
