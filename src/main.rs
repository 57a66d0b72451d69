//! The `switchboard` command line: thin clap wrappers around the library.
//!
//! Exit codes: 0 clean, 1 the flow set has errors (or warnings with
//! `--deny-warnings`), 2 usage or IO trouble (bad flags, unreadable directory).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
