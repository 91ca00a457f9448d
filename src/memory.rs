//! When freed memory goes back to the system: mimalloc's purge delay.
//!
//! mimalloc keeps memory a thread freed for up to its purge delay (1,000 ms in version 3)
//! before it gives it back, so that a later allocation can reuse it without faulting fresh
//! pages. Memory freed by one phase and not reused by the next stays resident all the same,
//! and the peak then counts it twice. Two uses:
//!
//! - [`free_at_once`] for the whole run, for the commands that keep little of each record and
//!   free the rest as they go (`stats`, `throttled`, `syncs`);
//! - [`free_at_once_until_output`] from the record merge to the output, for the commands that
//!   keep every record (`contexts`, `sessions`, `messages`, `lookup`, `scope`), with
//!   [`keep_freed`] before the output, whose rows are made and freed in batches that reuse
//!   one another's memory.
//!
//! Not while parsing: the parse workers' freed memory is reused by the next records, and
//! giving it back at once cost 0.3 to 0.4 s of system time on 2 GB (see benches/HISTORY.md,
//! "Memory, round by round").

use std::sync::atomic::{AtomicI64, Ordering};

/// `mi_option_purge_delay` in mimalloc.h (the same number in its versions 2 and 3;
/// libmimalloc-sys builds version 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The delay [`free_at_once_until_output`] replaced, for [`keep_freed`] to put back; -1: none.
static REPLACED: AtomicI64 = AtomicI64::new(-1);

/// The purge delay now, in milliseconds.
pub fn purge_delay() -> i64 {
    // SAFETY: reads one of mimalloc's global options.
    unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) as i64 }
}

/// Sets the purge delay. mimalloc reads the option, an aligned word written whole, when it
/// decides to purge; callers set it only between phases, while the worker threads are idle
/// (before a command starts them, or once they have all finished their work).
fn set_delay(ms: i64) {
    // SAFETY: sets one of mimalloc's global options; see above.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ms as _) }
}

/// Freed memory goes back to the system at once, for the rest of the run. On the 2 GB
/// generated export as one zstd frame: `stats` 243 -> 155 MB, `throttled` 371 -> 257 MB,
/// `syncs` 480 -> 364 MB, with no time measurably lost. Called before the command starts its
/// threads.
pub fn free_at_once() {
    set_delay(0);
}

/// Freed memory goes back to the system at once until [`keep_freed`]: called by ingest once
/// the records are parsed, before they are merged (which frees the workers' parts) and before
/// a command's own phases (which free their scratch vectors). A no-op when the delay is
/// already 0 (after [`free_at_once`], or `MIMALLOC_PURGE_DELAY=0` in the environment). On the
/// 2 GB generated export as one zstd frame, peak RSS: `contexts` 663 -> 549 MiB (the same
/// from standard input 692 -> 551), `sessions` 760 -> 651 MB, `scope --ip` 659 -> 568 MB,
/// `messages` 1,014 -> 952 MB; 0.1 to 0.3 s more system time, wall time within the noise.
pub fn free_at_once_until_output() {
    let current = purge_delay();
    if current != 0 {
        REPLACED.store(current, Ordering::SeqCst);
        set_delay(0);
    }
}

/// Puts back the delay [`free_at_once_until_output`] replaced, if it replaced one; called
/// before a command writes its output.
pub fn keep_freed() {
    let replaced = REPLACED.swap(-1, Ordering::SeqCst);
    if replaced >= 0 {
        set_delay(replaced);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number names the purge delay: mimalloc 3's default for it is 1,000 (ms),
    /// and no other option of that version has that default. Other tests ingest records, and
    /// ingest sets the delay to 0 after storing the value it replaced, so either shows it
    /// (read in that order: the replaced value is stored before the delay changes).
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            let now = purge_delay();
            let replaced = REPLACED.load(Ordering::SeqCst);
            assert!(now == 1000 || replaced == 1000, "{now} {replaced}");
        }
    }
}
