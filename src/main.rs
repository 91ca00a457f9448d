//! Thin entry point: parse the command line, run the library, map errors to exit codes.

use clap::Parser;
use mailscope::cli::Cli;
use mailscope::error::exit;

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
