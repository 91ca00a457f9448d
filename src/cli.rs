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
     files, a directory with no files, a compressed stream that broke off (see the warnings
     on stderr)";

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
    /// Bind accesses aggregated per access context (IP, client, session, logon type, user,
    /// mailbox, folder, access type, AppId, ClientAppId), after the one-hour de-duplication.
    #[command(after_help = crate::cmd::contexts::HELP)]
    Contexts(ContextsArgs),
    /// One row per (mailbox, user, session, IP, client): the list in which to spot the attacker.
    #[command(after_help = crate::cmd::sessions::HELP)]
    Sessions(AnalysisArgs),
    /// One row per message read (mailbox, InternetMessageId) for what the filters select.
    #[command(after_help = crate::cmd::messages::HELP)]
    Messages(AnalysisArgs),
    /// One row per sync record: folders that went to a desktop client in full.
    #[command(after_help = crate::cmd::syncs::HELP)]
    Syncs(AnalysisArgs),
    /// Throttled records and the merged 24-hour windows in which binds were not audited.
    #[command(after_help = crate::cmd::throttled::HELP)]
    Throttled(ThrottledArgs),
    /// Every access to the given InternetMessageIds: by whom, from where, when, in which context.
    #[command(after_help = crate::cmd::lookup::HELP)]
    Lookup(LookupArgs),
    /// The exposure report: which mailboxes, folders and messages the attacker could read,
    /// when, and on what evidence (summary.json, CSVs and a self-contained report.html).
    #[command(after_help = crate::cmd::scope::HELP)]
    Scope(ScopeArgs),
    /// A synthetic Unified Audit Log export of any size, for tests and benchmarks
    /// (deterministic: the same options give the same bytes).
    #[command(after_help = crate::cmd::generate::HELP)]
    Generate(GenerateArgs),
}

/// Filters shared by the investigation commands.
#[derive(Args, Debug, Clone, Default)]
#[command(
    next_help_heading = "Filters (different filters must all match; several values of one filter mean any)"
)]
pub struct FilterArgs {
    /// Only records at or after this time (RFC 3339, or a date: 2024-05-01).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only records at or before this time (a date means the end of that day).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Mailbox (MailboxOwnerUPN); repeat or separate with commas.
    #[arg(long, value_name = "UPN", value_delimiter = ',')]
    pub mailbox: Vec<String>,
    /// The user who read the mail (UserId).
    #[arg(long, value_name = "UPN", value_delimiter = ',')]
    pub user: Vec<String>,
    /// Client IP address or CIDR, in any notation ([v6]:port, v4:port, ::ffff:v4).
    #[arg(long, value_name = "ADDR|CIDR", value_delimiter = ',')]
    pub ip: Vec<String>,
    /// SessionId.
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub session: Vec<String>,
    /// AppId or ClientAppId.
    #[arg(long = "app-id", value_name = "ID", value_delimiter = ',')]
    pub app_id: Vec<String>,
    /// A substring of ClientInfoString (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub client: Vec<String>,
    /// Access type.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub access: Vec<AccessArg>,
    /// File of indicators, one a line (an IP or CIDR, a GUID for a session or app, a UPN,
    /// a client string, or kind:value with kind ip, session, app, user, mailbox, client);
    /// # starts a comment. A record passes when it matches any indicator of the file.
    #[arg(long, value_name = "FILE")]
    pub ioc: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DateOrderArg {
    /// Month first: 5/6/2024 is 6 May.
    Mdy,
    /// Day first: 5/6/2024 is 5 June.
    Dmy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessArg {
    Bind,
    Sync,
}

/// Inputs, run options, filters and output: what every investigation command takes.
#[derive(Args, Debug, Clone)]
pub struct AnalysisArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ContextsArgs {
    #[command(flatten)]
    pub common: AnalysisArgs,
    /// Group by these keys only [default: all ten].
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "Grouping")]
    pub by: Vec<crate::analyze::contexts::Key>,
}

#[derive(Args, Debug, Clone)]
pub struct ThrottledArgs {
    #[command(flatten)]
    pub common: AnalysisArgs,
    /// List the throttled records instead of the merged windows.
    #[arg(long, help_heading = "Listing")]
    pub records: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ScopeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub hash: HashArgs,
    /// Folder to write the report into (created if needed).
    #[arg(long, value_name = "DIR", help_heading = "Report")]
    pub out: PathBuf,
    /// Message-trace exports (Get-MessageTrace/V2 CSV, the portal's extended report) to add
    /// sender, recipients, subject and received time to the exposed messages.
    #[arg(long, value_name = "FILE", help_heading = "Report")]
    pub trace: Vec<PathBuf>,
    /// Add every record of a session that an indicator matched (the default).
    #[arg(long, help_heading = "Report", conflicts_with = "no_expand_sessions")]
    pub expand_sessions: bool,
    /// Do not add the other records of a session that an indicator matched.
    #[arg(long, help_heading = "Report")]
    pub no_expand_sessions: bool,
    /// Leave the generation time out of the report (byte-identical reruns).
    #[arg(long, help_heading = "Report")]
    pub no_timestamp: bool,
    /// Start of the attacker's access known from other evidence (the first malicious sign-in):
    /// an unaudited window from then on counts in every mailbox the attacker read, even before
    /// their first record there. RFC 3339 or a date.
    #[arg(long, value_name = "TIME", help_heading = "Compromise")]
    pub compromised_from: Option<String>,
    /// End of the attacker's access known from other evidence (password reset, sessions
    /// revoked): an unaudited window until then counts, even after their last record there. A
    /// date means the end of that day.
    #[arg(long, value_name = "TIME", help_heading = "Compromise")]
    pub compromised_to: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct LookupArgs {
    #[command(flatten)]
    pub common: AnalysisArgs,
    /// InternetMessageIds to look up, in any bracket or case form.
    #[arg(long = "id", value_name = "ID", help_heading = "Messages")]
    pub ids: Vec<String>,
    /// A file of InternetMessageIds, one a line.
    #[arg(long = "ids", value_name = "FILE", help_heading = "Messages")]
    pub ids_file: Vec<PathBuf>,
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
    /// How to read an ambiguous locale date such as 5/6/2024 in a record that has no ISO time
    /// of its own (Search-MailboxAuditLog's LastAccessed): mdy (US) or dmy. Without it such
    /// records are reported as bad-time. Also read so in `scope --trace` files, which
    /// otherwise take the order their unambiguous dates show (13/5/2024), or mdy; a trace
    /// date that contradicts the order given is warned of.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub date_order: Option<DateOrderArg>,
    /// Bytes of NDJSON per parallel work unit (for tests and benchmarks).
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20, hide = true)]
    pub chunk_bytes: usize,
}

/// For the commands that record each input's SHA-256 (`stats`, `scope`).
#[derive(Args, Debug, Clone)]
pub struct HashArgs {
    /// Do not compute each input's SHA-256 (about one CPU-second per 2 GB, on a thread of its
    /// own): for evidence hashed when it was collected. The hash is then null (JSON) or "not
    /// computed".
    #[arg(long)]
    pub no_hash: bool,
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
    pub hash: HashArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Bytes to write, before compression: 2GB, 500MB, 1GiB, 12345.
    #[arg(long, value_name = "SIZE", default_value = "100MB", value_parser = crate::generate::parse_size)]
    pub size: u64,
    /// Seed of the pseudo-random generator.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Container to write.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "ndjson")]
    pub format: crate::generate::GenFormat,
    /// Users (and mailboxes) in the tenant.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub users: usize,
    /// Days the records span.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub days: u32,
    /// First day of the span (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE", default_value = "2024-03-04")]
    pub start: String,
    /// Plant an attacker: a foreign IP and session reading a user's and the CEO's mail.
    #[arg(long)]
    pub attacker: bool,
    /// Do not plant the throttled mailbox.
    #[arg(long)]
    pub no_throttle: bool,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress bar and no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}
