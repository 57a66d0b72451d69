//! The `switchboard` command line: thin clap wrappers around the library.
//!
//! Exit codes: 0 clean, 1 the flow set has errors (or warnings with
//! `--deny-warnings`), 2 usage or IO trouble (bad flags, unreadable directory).

mod cli;

use std::process::ExitCode;

/// mimalloc: the server allocates small, short-lived buffers on every
/// callback (bodies, TwiML, rows), where it is markedly faster than the
/// system allocator (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
