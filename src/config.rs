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
    o.progress = !run.quiet;
    o.hash = hash;
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
