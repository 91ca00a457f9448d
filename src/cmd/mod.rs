//! One file per subcommand: each wires the stages together and holds no analysis logic.

pub mod common;
pub mod contexts;
pub mod generate;
pub mod lookup;
pub mod messages;
pub mod scope;
pub mod sessions;
pub mod stats;
pub mod syncs;
pub mod throttled;

use crate::cli::{Cli, Command, RunArgs};
use crate::error::{Result, exit};
use crate::ingest::Ingested;

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Stats(a) => stats::run(&a),
        Command::Contexts(a) => contexts::run(&a),
        Command::Sessions(a) => sessions::run(&a),
        Command::Messages(a) => messages::run(&a),
        Command::Syncs(a) => syncs::run(&a),
        Command::Throttled(a) => throttled::run(&a),
        Command::Lookup(a) => lookup::run(&a),
        Command::Scope(a) => scope::run(&a),
        Command::Generate(a) => generate::run(&a),
    }
}

/// Leaves `t` unfreed: the process ends right after a command, and freeing millions of
/// records one allocation at a time costs seconds of a single core on a large export.
pub fn release<T>(t: T) {
    std::mem::forget(t);
}

/// Prints what was skipped on stderr: the first malformed records with their place, files
/// that could not be read, and a summary line. Returns the exit code the run earned.
pub fn report_skipped<T>(ing: &Ingested<T>, run: &RunArgs) -> i32 {
    let mut err = std::io::stderr().lock();
    use std::io::Write;
    for f in ing.files.iter().filter(|f| f.error.is_some()) {
        let _ = writeln!(
            err,
            "mailscope: warning: {}: {}",
            f.path,
            f.error.as_deref().unwrap_or_default()
        );
    }
    let total = ing.malformed_total();
    if !run.quiet {
        for m in ing.malformed_examples.iter().take(run.max_warnings) {
            let _ = writeln!(err, "mailscope: warning: {}", m.location());
        }
    }
    if total > 0 {
        let kinds: Vec<String> = ing
            .malformed
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let shown = if run.quiet {
            0
        } else {
            ing.malformed_examples.len().min(run.max_warnings)
        };
        let _ = writeln!(
            err,
            "mailscope: {total} malformed record(s) skipped ({}); {shown} shown above",
            kinds.join(", ")
        );
    }
    if ing.skipped_anything() {
        exit::SKIPPED
    } else {
        exit::OK
    }
}
