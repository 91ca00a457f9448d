//! Turns command-line values into validated settings before any input is read.

use crate::cli::{InputArgs, RunArgs};
use crate::error::{Error, Result};
use crate::ingest::Options;
use crate::input::{InputPath, expand_inputs};
use std::path::{Path, PathBuf};

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
    o.date_order = date_order(run);
    o.progress = !run.quiet;
    o.hash = hash;
    // The analysis after reading (accesses, aggregation, output) runs on rayon's global pool:
    // the same number of threads. Only the first setting in a process takes effect.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(o.threads)
        .build_global();
    Ok(o)
}

/// The identity of an existing file, whatever path, symbolic link or hard link reaches it.
#[cfg(unix)]
fn file_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).ok()?;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(p: &Path) -> Option<std::path::PathBuf> {
    std::fs::canonicalize(p).ok()
}

/// Where writing to `p` lands, as the system will resolve it once the missing directories on
/// the way are created: each symbolic link is replaced by its target as it comes (a final
/// one too, even dangling), so that every `..` can be taken lexically, as the system takes it
/// on a path without links; missing directories will be made plain.
fn landing(p: &Path) -> PathBuf {
    let parts = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components().map(|c| c.as_os_str().to_owned()).collect()
    };
    let mut at = std::env::current_dir().unwrap_or_default();
    let mut todo: std::collections::VecDeque<_> = parts(p).into();
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        if part == "." {
            continue;
        }
        if part == ".." {
            at.pop();
            continue;
        }
        // `/` as a part starts again from the root.
        at.push(&part);
        if links < 40
            && let Ok(target) = std::fs::read_link(&at)
        {
            links += 1;
            at.pop();
            for c in parts(&target).into_iter().rev() {
                todo.push_front(c);
            }
        }
    }
    at
}

/// The deepest existing directory that holds `p`, resolved.
fn existing_dir_of(p: &Path) -> Option<PathBuf> {
    p.ancestors()
        .skip(1)
        .find_map(|a| std::fs::canonicalize(a).ok())
}

/// Standard input when it is a file (`mailscope ... - < evidence.ndjson`).
#[cfg(unix)]
fn stdin_file() -> Option<PathBuf> {
    let p = PathBuf::from("/dev/stdin");
    std::fs::metadata(&p).ok()?.is_file().then_some(p)
}

#[cfg(not(unix))]
fn stdin_file() -> Option<PathBuf> {
    None
}

/// Refuses, before anything is written, an output that is an input file or a file the command
/// reads beside them (`side`), however it is reached (the same path, a symbolic link, a hard
/// link), and an output inside a directory named as input: the next run over that directory
/// would read it as evidence. `named` are the inputs as given, `inputs` as expanded.
pub fn refuse_overwrite(
    named: &[PathBuf],
    inputs: &[InputPath],
    outputs: &[PathBuf],
    side: &[PathBuf],
) -> Result<()> {
    let stdin = inputs
        .contains(&InputPath::Stdin)
        .then(stdin_file)
        .flatten();
    let files = inputs
        .iter()
        .filter_map(|i| match i {
            InputPath::File(p) => Some(p),
            _ => None,
        })
        .chain(side)
        .chain(&stdin);
    let read: Vec<_> = files.filter_map(|p| Some((file_id(p)?, p))).collect();
    let dirs: Vec<(PathBuf, &PathBuf)> = named
        .iter()
        .filter(|d| d.is_dir())
        .filter_map(|d| Some((std::fs::canonicalize(d).ok()?, d)))
        .collect();
    for given in outputs {
        let out = &landing(given);
        if let Some(id) = file_id(out)
            && let Some((_, input)) = read.iter().find(|(i, _)| *i == id)
        {
            return Err(Error::Usage(format!(
                "the output {} is the input {}: mailscope never overwrites evidence",
                given.display(),
                input.display()
            )));
        }
        if let Some(dir) = existing_dir_of(out)
            && let Some((_, named)) = dirs.iter().find(|(d, _)| dir.starts_with(d))
        {
            return Err(Error::Usage(format!(
                "the output {} is inside the input directory {}: the next run over it would \
                 read it as evidence; write it elsewhere",
                given.display(),
                named.display()
            )));
        }
    }
    Ok(())
}

/// `--date-order`, for the records and the message trace alike.
pub fn date_order(run: &crate::cli::RunArgs) -> Option<crate::parse::fields::DateOrder> {
    run.date_order.map(|d| match d {
        crate::cli::DateOrderArg::Mdy => crate::parse::fields::DateOrder::MonthFirst,
        crate::cli::DateOrderArg::Dmy => crate::parse::fields::DateOrder::DayFirst,
    })
}

/// Expands the inputs, and refuses outputs that would write over evidence (see
/// [`refuse_overwrite`]; `side` are the other files the command reads: `--ioc`, `--trace`).
pub fn inputs(args: &InputArgs, outputs: &[PathBuf], side: &[PathBuf]) -> Result<Vec<InputPath>> {
    let inputs = expand_inputs(&args.inputs)?;
    refuse_overwrite(&args.inputs, &inputs, outputs, side)?;
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
