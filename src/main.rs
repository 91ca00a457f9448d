//! Thin entry point: parse the command line, run the library, map errors to exit codes.

use clap::Parser;
use mailscope::cli::Cli;
use mailscope::error::exit;

/// mimalloc: millions of small allocations from several threads, and memory kept for reuse
/// instead of being returned to the kernel and faulted in again (measured in benches/README.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
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
