//! `mailscope scope`: the exposure report. Which mailboxes, folders and messages were exposed
//! to the attacker, when, and on what evidence: the four steps of the investigation guide
//! applied to the records that match the attacker's indicators, written as summary.json,
//! messages.csv, folders.csv, unaudited.csv and a self-contained report.html.

use crate::analyze::filter::{Indicator, parse_bound, parse_ioc_entries};
use crate::analyze::scope::{Labeled, ScopeOptions, scope};
use crate::cli::ScopeArgs;
use crate::error::{Error, Result};
use crate::ingest::ingest;
use crate::input::trace::Trace;
use crate::output::rows::{Cell, Rows};
use crate::output::{Format, Output};
use crate::report::Report;

pub const HELP: &str = "\
Examples:
  mailscope scope tests/fixtures/demo/evidence --ioc tests/fixtures/demo/attacker-iocs.txt \\
      --trace tests/fixtures/demo/message-trace.csv --out report/
  mailscope scope exports/ --ip 203.0.113.66 --ip 2001:db8:bad::/48 --from 2024-05-01 \\
      --out report/
  mailscope scope exports/ --session 1f99e672-8141-4a22-9aa0-96357297e843 \\
      --no-expand-sessions --out r/
  mailscope scope exports/ --ioc iocs.txt --compromised-to 2024-05-07T09:30:00Z --out r/

A record is in the attacker's context when it matches any indicator (--ip, --session,
--app-id, --client, --user, --ioc); --from, --to and --mailbox limit where to look (--access
does not apply: scope looks at binds and syncs alike). Session expansion (on unless
--no-expand-sessions) adds every record of a session an indicator matched. Per mailbox, the
level is `mailbox` (a throttled, unaudited 24-hour window overlaps the attacker's period, from
their first to their last record there), `folders` (a sync in the attacker's context),
`messages` (binds), or `none`. An unaudited window of the mailbox outside that period does not
raise the level but is listed as a caution (stderr, summary.json, report.html): it hides the
very records that would show the attacker in it. When other evidence shows when the attacker
had access (sign-in logs, the password reset), --compromised-from and --compromised-to extend
the period to it. stdout: one row per mailbox with its level and its count of windows outside
the period (a table on a terminal, else CSV); the files (summary.json, messages.csv,
folders.csv, unaudited.csv, report.html) go to --out, which must not be or hold an input.";

fn labeled(args: &ScopeArgs) -> Result<Vec<Labeled>> {
    let f = &args.filter;
    let mut out = Vec::new();
    let mut add = |flag: &str, v: &str, parsed: std::result::Result<Indicator, String>| {
        parsed
            .map(|indicator| {
                out.push(Labeled {
                    label: format!("--{flag} {v}"),
                    indicator,
                })
            })
            .map_err(|e| Error::Usage(format!("--{flag}: {e}")))
    };
    for v in &f.ip {
        add("ip", v, Indicator::parse(&format!("ip:{v}")))?;
    }
    for v in &f.session {
        add("session", v, Indicator::parse(&format!("session:{v}")))?;
    }
    for v in &f.app_id {
        add("app-id", v, Indicator::parse(&format!("app:{v}")))?;
    }
    for v in &f.client {
        add("client", v, Indicator::parse(&format!("client:{v}")))?;
    }
    for v in &f.user {
        add("user", v, Indicator::parse(&format!("user:{v}")))?;
    }
    for path in &f.ioc {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("--ioc {}: {e}", path.display())))?;
        let entries = parse_ioc_entries(&text)
            .map_err(|e| Error::Usage(format!("--ioc {}: {e}", path.display())))?;
        for (line, text, indicator) in entries {
            out.push(Labeled {
                label: format!("{}:{line} {text}", path.display()),
                indicator,
            });
        }
    }
    if out.is_empty() {
        return Err(Error::Usage(
            "scope needs at least one indicator of the attacker (--ip, --session, --app-id, \
             --client, --user or --ioc FILE)"
                .to_string(),
        ));
    }
    Ok(out)
}

pub fn run(args: &ScopeArgs) -> Result<i32> {
    if !args.filter.access.is_empty() {
        return Err(Error::Usage(
            "scope looks at every access type; --access does not apply".to_string(),
        ));
    }
    let base = crate::config::filter(&args.filter)?;
    let bound = |flag: &str, v: &Option<String>, end: bool| {
        v.as_deref()
            .map(|s| parse_bound(s, end))
            .transpose()
            .map_err(|e| Error::Usage(format!("--{flag}: {e}")))
    };
    let compromised_from = bound("compromised-from", &args.compromised_from, false)?;
    let compromised_to = bound("compromised-to", &args.compromised_to, true)?;
    if let (Some(a), Some(b)) = (compromised_from, compromised_to)
        && a > b
    {
        return Err(Error::Usage(
            "--compromised-from is after --compromised-to".to_string(),
        ));
    }
    let options = ScopeOptions {
        indicators: labeled(args)?,
        from: base.from,
        to: base.to,
        mailboxes: base.mailboxes,
        expand_sessions: !args.no_expand_sessions,
        compromised_from,
        compromised_to,
    };
    let mut trace = None;
    if !args.trace.is_empty() {
        let mut t = Trace::default();
        for p in &args.trace {
            t.read_file(p, crate::config::date_order(&args.run))?;
        }
        for w in t.files.iter().flat_map(|f| f.warnings()) {
            eprintln!("mailscope: warning: {w}");
        }
        trace = Some(t);
    }
    if args.out.is_file() {
        return Err(Error::Usage(format!(
            "--out {} is a file: it names the report's directory",
            args.out.display()
        )));
    }
    let outputs: Vec<_> = crate::report::FILES
        .iter()
        .map(|f| args.out.join(f))
        .collect();
    let side: Vec<_> = args.filter.ioc.iter().chain(&args.trace).cloned().collect();
    let inputs = crate::config::inputs(&args.input, &outputs, &side)?;
    let opts = crate::config::ingest_options(&args.run, !args.hash.no_hash)?;
    let ingested = ingest(&inputs, &opts)?;
    let code = super::report_skipped(&ingested, &args.run);
    let result = scope(&ingested.records, &options);
    let report = Report {
        ingested: &ingested,
        options: &options,
        result: &result,
        trace: trace.as_ref(),
        generated_at: (!args.no_timestamp).then(now_rfc3339),
    };
    crate::memory::keep_freed();
    report.write_dir(&args.out).map_err(|e| {
        Error::Output(std::io::Error::new(
            e.kind(),
            format!("the report to {}: {e}", args.out.display()),
        ))
    })?;

    let mut out = Output::open(None, None, Format::Csv)?;
    let mut rows = Rows::new(&[
        "mailbox",
        "level",
        "probably_entire_mailbox",
        "attacker_records",
        "messages",
        "folders",
        "unaudited_windows",
        "unaudited_windows_outside",
    ]);
    for m in &result.mailboxes {
        rows.push(vec![
            Cell::text(&m.mailbox),
            Cell::text(m.level.as_str()),
            Cell::Bool(m.probably_entire_mailbox),
            Cell::Int(m.attacker_records),
            Cell::Int(m.messages),
            Cell::Int(m.folders),
            Cell::Int(m.unaudited_windows),
            Cell::Int(m.unaudited_windows_outside),
        ]);
    }
    rows.write(&mut out)?;
    out.finish()?;
    if !args.run.quiet {
        for m in &result.mailboxes {
            for c in &m.cautions {
                eprintln!("mailscope: caution: {}: {}", m.mailbox, c.detail);
            }
        }
        eprintln!(
            "mailscope: report written to {} (summary.json, messages.csv, folders.csv, unaudited.csv, report.html)",
            args.out.display()
        );
    }
    super::release(result);
    super::release(ingested);
    Ok(code)
}

/// The current time, RFC 3339 UTC (the report's labelled generation time).
fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    crate::parse::fields::format_time(now * 1_000_000_000)
}
