//! The command line (clap derive). Argument groups shared by every command are flattened
//! into each one, under their own help headings. Nothing below `cmd/` reads raw flags.

use crate::output::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success: every record was used, or counted as another operation or a duplicate
  1  fatal: an input could not be opened, output could not be written, or --strict stopped
  2  usage: the command line was wrong
  3  finished, but something was skipped: malformed records, unrecognised or unreadable
     files, a compressed stream that broke off (see the warnings on stderr)";

#[derive(Parser, Debug)]
#[command(
    name = "mailscope",
    version,
    about = "Which mail did the attacker access? Reads Microsoft 365 MailItemsAccessed audit \
             exports (NDJSON, JSON, CSV; zstd/gzip; UTF-8/UTF-16) offline, at disk speed.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The evidence inventory: files, records by operation, time span, mailboxes, duplicates,
    /// malformed records, unaudited mailboxes and signs of capped exports.
    #[command(after_help = crate::cmd::stats::HELP)]
    Stats(StatsArgs),
}

/// Inputs: files, directories (recursive) or `-` for standard input.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Audit exports: files, directories (read recursively) or - for standard input.
    /// Compression (zstd, gzip), encoding (UTF-8, UTF-16LE) and shape are detected.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Run")]
pub struct RunArgs {
    /// Worker threads for parsing [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Stop with exit code 1 at the first malformed record or unreadable input.
    #[arg(long)]
    pub strict: bool,
    /// No progress bar and no per-record warnings (the summary line stays).
    #[arg(short, long)]
    pub quiet: bool,
    /// Records longer than this many bytes are reported as too long, not parsed.
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    pub max_record_bytes: usize,
    /// How many malformed records to print on stderr before summarising.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_warnings: usize,
    /// Bytes of NDJSON per parallel work unit (for tests and benchmarks).
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20, hide = true)]
    pub chunk_bytes: usize,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format [default: table on a terminal, otherwise CSV (JSON for stats)].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Write results to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}
