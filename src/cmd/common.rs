//! What every investigation command does first: validate options, read the evidence, report
//! what was skipped, and open the output.

use crate::analyze::filter::Filter;
use crate::cli::AnalysisArgs;
use crate::error::Result;
use crate::ingest::{Ingested, Kept, ingest_as};
use crate::model::Record;
use crate::output::rows::Rows;
use crate::output::{Format, Output};
use crate::parse::MessageIds;

/// The evidence as a command reads it: `T` of each unique record (see `ingest::Kept`).
pub struct Loaded<T = Record> {
    pub ingested: Ingested<T>,
    pub filter: Filter,
    pub out: Output,
    /// The exit code the reading earned (0, or 3 when something was skipped).
    pub code: i32,
}

impl<T> Loaded<T> {
    /// Writes the result rows and ends the command with the exit code the reading earned.
    /// The evidence is left unfreed (see [`super::release`]).
    pub fn write(mut self, rows: &Rows) -> Result<i32> {
        crate::memory::keep_freed();
        rows.write(&mut self.out)?;
        self.out.finish()?;
        super::release(self.ingested);
        Ok(self.code)
    }
}

/// Validates everything, then reads the inputs. Results default to CSV when piped.
pub fn load(args: &AnalysisArgs) -> Result<Loaded> {
    load_with(args, MessageIds::Text, true)
}

/// [`load`] for a command that counts distinct messages but never shows their ids
/// (`contexts`, `sessions`): each id is kept as a digest, not as text (see
/// `MessageIds::Digest`).
pub fn load_counting_messages(args: &AnalysisArgs) -> Result<Loaded> {
    load_with(args, MessageIds::Digest, true)
}

/// [`load`] for a command that never reads message ids (`syncs`), keeping `T` of each record:
/// the ids are checked and counted, not kept (see `JsonParser::message_ids`).
pub fn load_without_message_ids<T: Kept>(args: &AnalysisArgs) -> Result<Loaded<T>> {
    crate::memory::free_at_once();
    load_with(args, MessageIds::Drop, true)
}

/// [`load`] for a command that reads neither message ids nor folders (`throttled`), keeping
/// `T` of each record: ids and folders are checked and counted, not kept (see
/// `ingest::Options::folders`: every field such a command reads comes before the folders in a
/// record's order).
pub fn load_without_folders<T: Kept>(args: &AnalysisArgs) -> Result<Loaded<T>> {
    crate::memory::free_at_once();
    load_with(args, MessageIds::Drop, false)
}

fn load_with<T: Kept>(
    args: &AnalysisArgs,
    message_ids: MessageIds,
    folders: bool,
) -> Result<Loaded<T>> {
    let filter = crate::config::filter(&args.filter)?;
    let mut opts = crate::config::ingest_options(&args.run, false)?;
    opts.message_ids = message_ids;
    opts.folders = folders;
    let outputs: Vec<_> = args.output.output.iter().cloned().collect();
    let inputs = crate::config::inputs(&args.input, &outputs, &args.filter.ioc)?;
    let out = Output::open(
        args.output.format,
        args.output.output.as_deref(),
        Format::Csv,
    )?;
    let ingested = ingest_as(&inputs, &opts)?;
    let code = super::report_skipped(&ingested, &args.run);
    Ok(Loaded {
        ingested,
        filter,
        out,
        code,
    })
}
