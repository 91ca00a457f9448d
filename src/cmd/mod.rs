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

/// `mi_option_purge_delay` in mimalloc.h (the same number in its versions 2 and 3;
/// libmimalloc-sys builds version 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Has the allocator give freed memory back to the system at once, rather than up to a
/// second later (mimalloc 3's default purge delay is 1,000 ms), for the commands that keep
/// little of each record and free the rest as they go (`stats`, `throttled`, `syncs`): with
/// the delay, memory freed while the records were parsed and then moved into one vector still
/// counted, and the peak held both. On the 2 GB generated export as one zstd frame: `stats`
/// 243 -> 155 MB, `throttled` 371 -> 257 MB, `syncs` 480 -> 364 MB, with no time measurably
/// lost. Not for the commands that keep every record: `contexts` frees little before it ends,
/// and there it saved 110-150 MB for 0.3 s more of system time (the environment variable
/// `MIMALLOC_PURGE_DELAY=0` makes that trade for any command). Called before the command
/// starts its threads.
pub fn free_memory_at_once() {
    // SAFETY: sets one of mimalloc's global options; no other thread of the command is
    // running yet.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
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

#[cfg(test)]
mod tests {
    /// The option number names the purge delay: mimalloc 3's default for it is 1,000 (ms),
    /// and no other option of that version has that default.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads one of mimalloc's global options.
            let v = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
            assert_eq!(v, 1000);
        }
    }
}
