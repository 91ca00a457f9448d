//! mailscope: which mail did the attacker access?
//!
//! The pipeline: **read** (files, directories, standard input; zstd/gzip and UTF-16 decoded
//! by magic bytes, plain files memory-mapped) -> **frame** (NDJSON cut into newline-aligned
//! chunks, JSON documents and CSV framed into records) -> **parse** (simd-json, every export
//! shape and field variant normalized into one [`model::Record`]) -> **account** (every record
//! is parsed, another operation, a duplicate by record id, or malformed with its place) ->
//! **analyze** (inventory, de-duplication within one hour, contexts, sessions, exposure) ->
//! **write** (tables on a terminal, CSV/JSON when piped).
//!
//! Stages live in `input/`, `parse/`, `ingest.rs`, `analyze/`, `output/`; each subcommand in
//! `cmd/` wires them together and holds no analysis logic.

pub mod analyze;
pub mod check;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod distinct;
pub mod error;
pub mod flat;
pub mod generate;
pub mod ingest;
pub mod input;
pub mod memory;
pub mod model;
pub mod output;
pub mod parse;
pub mod progress;
pub mod report;
pub mod sym;
