//! The allocator's purge delay as the commands switch it (`mailscope::memory`), in a process
//! of its own: the delay is global, and the library's other tests ingest records, which
//! switches it.

use mailscope::memory::{free_at_once, free_at_once_until_output, keep_freed, purge_delay};

#[test]
fn the_delay_comes_back_after_the_output_starts_unless_the_run_frees_at_once() {
    let before = purge_delay();
    assert_ne!(
        before, 0,
        "set MIMALLOC_PURGE_DELAY to a non-zero value, or unset it"
    );
    // The commands that keep every record: at once from the merge, the delay back for the
    // output, and a second `keep_freed` changes nothing.
    free_at_once_until_output();
    assert_eq!(purge_delay(), 0);
    keep_freed();
    assert_eq!(purge_delay(), before);
    keep_freed();
    assert_eq!(purge_delay(), before);
    // The commands that free at once for the whole run: ingest's switch and the output's
    // leave it at 0.
    free_at_once();
    assert_eq!(purge_delay(), 0);
    free_at_once_until_output();
    assert_eq!(purge_delay(), 0);
    keep_freed();
    assert_eq!(purge_delay(), 0);
}
