//! Analysis stage: turns the unique normalized records into answers.

pub mod inventory;
