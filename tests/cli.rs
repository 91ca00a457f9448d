//! The integration suite: one test binary (see ../shared/docs/style.md, "tests/ one
//! integration binary"). Each module covers one side of the ingest engine:
//!
//! - `samples`: every file in ../shared/samples read, with its expected outcome and fields;
//! - `equivalence`: one set of records written in every container, compression and
//!   encoding normalizes to the same records;
//! - `bad_input`: damaged input is reported with its `path:line` and kind, and survived;
//! - `props`: chunk size, thread count and file order never change the result; arbitrary
//!   bytes never panic the framers or the parser;
//! - `process`: the `mailscope` binary: stdout, stderr, exit codes.

// The modules live in tests/cli/, so that Cargo builds this one file as the test binary.
#[path = "cli/util.rs"]
mod util;

#[path = "cli/bad_input.rs"]
mod bad_input;
#[path = "cli/equivalence.rs"]
mod equivalence;
#[path = "cli/fuzz_fixtures.rs"]
mod fuzz_fixtures;
#[path = "cli/investigate.rs"]
mod investigate;
#[path = "cli/process.rs"]
mod process;
#[path = "cli/props.rs"]
mod props;
#[path = "cli/samples.rs"]
mod samples;
#[path = "cli/scope.rs"]
mod scope;
