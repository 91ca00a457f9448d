//! Input stage: paths, directories and standard input -> byte sources, with compression,
//! encoding and container detected from the bytes themselves.

pub mod csv_records;
pub mod decode;
pub mod frame;
pub mod list;
pub mod sniff;
pub mod trace;

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// One input to read: a file, standard input (`-`), or bytes already in memory (for tests,
/// fuzzing and embedding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputPath {
    File(PathBuf),
    /// A directory named on the command line that holds no files (hidden ones aside): read
    /// as nothing, and reported like an unreadable file, so that a wrong path is not an
    /// empty result with a clean exit.
    EmptyDir(PathBuf),
    Stdin,
    Memory {
        name: String,
        bytes: std::sync::Arc<Vec<u8>>,
    },
}

impl InputPath {
    pub fn display(&self) -> String {
        match self {
            InputPath::File(p) | InputPath::EmptyDir(p) => p.display().to_string(),
            InputPath::Stdin => "-".to_string(),
            InputPath::Memory { name, .. } => name.clone(),
        }
    }
}

/// Expands the command line's inputs: files as given, directories recursively (sorted, so
/// runs are repeatable), `-` as standard input.
pub fn expand_inputs(args: &[PathBuf]) -> Result<Vec<InputPath>> {
    let mut out = Vec::new();
    for a in args {
        if a.as_os_str() == "-" {
            out.push(InputPath::Stdin);
            continue;
        }
        let meta = std::fs::metadata(a).map_err(|e| Error::Input {
            path: a.clone(),
            source: e,
        })?;
        if meta.is_dir() {
            let before = out.len();
            walk(a, &mut out, &mut Vec::new())?;
            if out.len() == before {
                out.push(InputPath::EmptyDir(a.clone()));
            }
        } else {
            out.push(InputPath::File(a.clone()));
        }
    }
    Ok(out)
}

/// Reads `dir` recursively. A directory reached again through a symbolic link (a link to a
/// parent makes a loop) is read once: `seen` holds the resolved directories read.
fn walk(dir: &Path, out: &mut Vec<InputPath>, seen: &mut Vec<PathBuf>) -> Result<()> {
    if let Ok(resolved) = std::fs::canonicalize(dir) {
        if seen.contains(&resolved) {
            return Ok(());
        }
        seen.push(resolved);
    }
    let rd = std::fs::read_dir(dir).map_err(|e| Error::Input {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut entries = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::Input {
            path: dir.to_path_buf(),
            source: e,
        })?;
        entries.push(e.path());
    }
    entries.sort();
    for p in entries {
        // Hidden files (.DS_Store, editor swap files) are not exports.
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        if p.is_dir() {
            walk(&p, out, seen)?;
        } else {
            out.push(InputPath::File(p));
        }
    }
    Ok(())
}
