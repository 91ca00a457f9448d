//! Analysis stage: turns the unique normalized records into answers.

pub mod access;
pub mod contexts;
pub mod filter;
pub mod inventory;
pub mod messages;
pub mod scope;
pub mod sessions;
pub mod throttle;

#[cfg(test)]
pub mod testutil;

#[cfg(test)]
mod tests;
