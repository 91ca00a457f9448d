//! Thin entry point: parse the command line, run the library, map errors to exit codes.

use clap::Parser;
use mailscope::cli::Cli;
use mailscope::error::exit;

/// mimalloc: millions of small allocations from several threads, and memory kept for reuse
/// instead of being returned to the kernel and faulted in again (measured in benches/README.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Opts this process out of transparent huge pages. With THP on `always`, every fresh 2 MiB of
/// heap is zeroed at first touch, and memory the allocator hands back is zeroed again when it
/// is reused: on a 2 GB export that was a third of the CPU time of `contexts` (measured with
/// perf; see benches/README.md). Best effort: an error only means the setting stays as it is.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and changes only this process's policy.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() {
    no_huge_pages();
    let cli = Cli::parse();
    let code = match mailscope::cmd::run(cli) {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => exit::OK,
        Err(e) => {
            eprintln!("mailscope: error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
