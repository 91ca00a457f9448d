//! `mailscope generate`: a synthetic Unified Audit Log export of any size.
//!
//! Answers: what do I test and benchmark mailscope on, when real exports are evidence that
//! cannot be shared? Writes NDJSON, zstd-compressed NDJSON or a Purview portal CSV of
//! `MailItemsAccessed` bind and sync records mixed with other operations, with ~1% repeated
//! records, a throttled mailbox and, with `--attacker`, a planted attacker. The same options
//! always give the same bytes. The records themselves are made in `crate::generate`.

use crate::cli::GenerateArgs;
use crate::error::{Error, Result};
use crate::generate::{GenerateOptions, GenerateSummary, generate};
use crate::parse::fields::parse_iso_time;
use std::io::Write;

pub const HELP: &str = "\
Examples:
  mailscope generate --size 2GB -o bench-data/ual-2g.ndjson
  mailscope generate --size 2GB --format ndjson-zst -o bench-data/ual-2g.ndjson.zst
  mailscope generate --size 50MB --format purview-csv --attacker -o ual.csv
  mailscope generate --size 10MB --users 20 --days 3 --seed 7 | mailscope stats -

The output has ~70% MailItemsAccessed lines of ~1.45 KB on average, ~1% repeated records
(same Id), one throttled mailbox (from 8 MB up) and, with --attacker, a session from
185.220.101.47 reading the account's and the CEO's mail. --size counts bytes before
compression; generation stops after the line that reaches it. A summary (JSON) goes to
stderr unless --quiet.";

pub fn run(args: &GenerateArgs) -> Result<i32> {
    let start_day = parse_iso_time(&args.start)
        .filter(|_| args.start.trim().len() == 10)
        .map(|t| t.div_euclid(86_400 * 1_000_000_000))
        .ok_or_else(|| {
            Error::Usage(format!(
                "--start must be a date like 2024-03-04, not '{}'",
                args.start
            ))
        })?;
    if args.users < 4 {
        return Err(Error::Usage("--users must be at least 4".to_string()));
    }
    if args.days == 0 {
        return Err(Error::Usage("--days must be at least 1".to_string()));
    }
    let opts = GenerateOptions {
        size: args.size,
        seed: args.seed,
        format: args.format,
        users: args.users,
        days: args.days,
        start_day,
        attacker: args.attacker,
        throttle: !args.no_throttle,
        progress: !args.quiet,
    };
    let summary = match &args.output {
        Some(path) => {
            let mut f =
                std::fs::File::create(path).map_err(|e| crate::output::created_no(path, e))?;
            let s = generate(&opts, &mut f)?;
            f.sync_data().ok();
            s
        }
        None => generate(&opts, &mut std::io::stdout().lock())?,
    };
    if !args.quiet {
        report(&summary);
    }
    Ok(crate::error::exit::OK)
}

/// The summary, as JSON on stderr (results, if any, are on stdout).
fn report(s: &GenerateSummary) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "mailscope: generated {} bytes, {} lines: {} records ({} MailItemsAccessed: {} bind, {} \
         sync, {} throttled) + {} duplicates, {} .. {}",
        s.bytes,
        s.lines,
        s.records,
        s.mail_items_accessed,
        s.bind,
        s.sync,
        s.throttled,
        s.duplicates,
        s.first_time,
        s.last_time
    );
    if let Ok(json) = serde_json::to_string_pretty(s) {
        let _ = writeln!(err, "{json}");
    }
}
