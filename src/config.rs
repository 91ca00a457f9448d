//! Turns command-line values into validated settings before any input is read.

use crate::cli::{InputArgs, RunArgs};
use crate::error::{Error, Result};
use crate::ingest::Options;
use crate::input::{InputPath, expand_inputs};
use std::path::Path;

/// Validates the run options.
pub fn ingest_options(run: &RunArgs, hash: bool) -> Result<Options> {
    let mut o = Options::default();
    if let Some(t) = run.threads {
        if t == 0 || t > 1024 {
            return Err(Error::Usage(format!(
                "--threads must be between 1 and 1024, not {t}"
            )));
        }
        o.threads = t;
    }
    if run.max_record_bytes < 1024 {
        return Err(Error::Usage(
            "--max-record-bytes must be at least 1024".to_string(),
        ));
    }
    o.max_record = run.max_record_bytes;
    o.chunk_bytes = run.chunk_bytes.max(1);
    o.strict = run.strict;
    o.date_order = run.date_order.map(|d| match d {
        crate::cli::DateOrderArg::Mdy => crate::parse::fields::DateOrder::MonthFirst,
        crate::cli::DateOrderArg::Dmy => crate::parse::fields::DateOrder::DayFirst,
    });
    o.progress = !run.quiet;
    o.hash = hash;
    // The analysis after reading (accesses, aggregation, output) runs on rayon's global pool:
    // the same number of threads. Only the first setting in a process takes effect.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(o.threads)
        .build_global();
    Ok(o)
}

/// Expands the inputs and refuses an output file that is one of them (evidence is never
/// overwritten).
pub fn inputs(args: &InputArgs, output: Option<&Path>) -> Result<Vec<InputPath>> {
    let inputs = expand_inputs(&args.inputs)?;
    if let Some(out) = output
        && let Ok(out) = std::fs::canonicalize(out)
    {
        for i in &inputs {
            if let InputPath::File(p) = i
                && std::fs::canonicalize(p).is_ok_and(|p| p == out)
            {
                return Err(Error::Usage(format!(
                    "the output file {} is also an input: mailscope never overwrites evidence",
                    out.display()
                )));
            }
        }
    }
    if inputs.iter().filter(|i| **i == InputPath::Stdin).count() > 1 {
        return Err(Error::Usage(
            "standard input (-) can be read only once".to_string(),
        ));
    }
    Ok(inputs)
}

use crate::analyze::filter::{Filter, IpNet, parse_bound, parse_ioc_file};
use crate::cli::{AccessArg, FilterArgs};
use crate::model::AccessType;
use crate::parse::fields::normalize_identity;

/// Compiles the filter options; every value is checked before any input is read.
pub fn filter(args: &FilterArgs) -> Result<Filter> {
    let mut f = Filter {
        from: args
            .from
            .as_deref()
            .map(|s| parse_bound(s, false))
            .transpose()
            .map_err(|e| Error::Usage(format!("--from: {e}")))?,
        to: args
            .to
            .as_deref()
            .map(|s| parse_bound(s, true))
            .transpose()
            .map_err(|e| Error::Usage(format!("--to: {e}")))?,
        ..Filter::default()
    };
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a > b
    {
        return Err(Error::Usage("--from is after --to".to_string()));
    }
    f.mailboxes = args.mailbox.iter().map(|s| normalize_identity(s)).collect();
    f.users = args.user.iter().map(|s| normalize_identity(s)).collect();
    for ip in &args.ip {
        f.ips.push(
            IpNet::parse(ip).ok_or_else(|| {
                Error::Usage(format!("--ip: '{ip}' is not an IP address or CIDR"))
            })?,
        );
    }
    f.sessions = args.session.iter().map(|s| s.trim().to_string()).collect();
    f.apps = args
        .app_id
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    f.clients = args.client.iter().map(|s| s.to_lowercase()).collect();
    f.access = args
        .access
        .iter()
        .map(|a| match a {
            AccessArg::Bind => AccessType::Bind,
            AccessArg::Sync => AccessType::Sync,
        })
        .collect();
    for path in &args.ioc {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("--ioc {}: {e}", path.display())))?;
        let iocs = parse_ioc_file(&text)
            .map_err(|e| Error::Usage(format!("--ioc {}: {e}", path.display())))?;
        if iocs.is_empty() {
            return Err(Error::Usage(format!(
                "--ioc {}: no indicators in the file",
                path.display()
            )));
        }
        f.iocs.extend(iocs);
    }
    Ok(f)
}
