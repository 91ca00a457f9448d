//! Typed errors and the process exit codes they map to.

use std::fmt;
use std::path::PathBuf;

/// Exit codes (documented in the README and in `--help`).
pub mod exit {
    /// Success: every record read was used or accounted for as a duplicate or another operation.
    pub const OK: i32 = 0;
    /// A fatal error: an input could not be opened, output could not be written, or
    /// `--strict` met a malformed record.
    pub const FATAL: i32 = 1;
    /// The command line was wrong.
    pub const USAGE: i32 = 2;
    /// The run finished, but something was skipped: malformed records, unreadable or
    /// unrecognised files, or a compressed stream that broke off.
    pub const SKIPPED: i32 = 3;
}

#[derive(Debug)]
pub enum Error {
    /// A bad flag or value, found before any input is read.
    Usage(String),
    /// An input that cannot be opened or read at all.
    Input {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--strict`: the first malformed record, as `path:line: why`.
    Strict(String),
    /// Writing results failed.
    Output(std::io::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            _ => exit::FATAL,
        }
    }

    /// A closed pipe (`mailscope ... | head`) is not an error worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Input { path, source } => write!(f, "{}: {}", path.display(), source),
            Error::Strict(m) => write!(f, "{m} (--strict: stopping at the first malformed record)"),
            Error::Output(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Output(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
