//! Write stage: tables on a terminal, CSV/JSON/NDJSON when piped or asked, to stdout or `-o`.

pub mod rows;
pub mod table;

use crate::error::{Error, Result};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for reading (the default on a terminal).
    Table,
    /// Comma-separated values with a header (the default when piped).
    Csv,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Where results go, and in which format.
pub struct Output {
    pub format: Format,
    pub writer: Box<dyn Write>,
}

impl Output {
    /// Opens `-o FILE` or stdout. Without `--format`: a table on a terminal, else `piped`.
    pub fn open(format: Option<Format>, path: Option<&Path>, piped: Format) -> Result<Output> {
        let to_terminal = path.is_none() && std::io::stdout().is_terminal();
        let format = format.unwrap_or(if to_terminal { Format::Table } else { piped });
        let writer: Box<dyn Write> = match path {
            Some(p) => Box::new(BufWriter::new(
                std::fs::File::create(p).map_err(|e| created_no(p, e))?,
            )),
            None => Box::new(BufWriter::new(std::io::stdout().lock())),
        };
        Ok(Output { format, writer })
    }

    pub fn finish(mut self) -> Result<()> {
        self.writer.flush()?;
        Ok(())
    }
}

/// Output that cannot be created is a fatal error (exit code 1), with the file named.
pub fn created_no(path: &Path, e: std::io::Error) -> Error {
    Error::Output(std::io::Error::new(
        e.kind(),
        format!("{}: {e}", path.display()),
    ))
}
