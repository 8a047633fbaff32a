//! `checkpoint-harness`, the command-line binary of the `checkpoint_harness` library:
//! deterministic simulation and exhaustive model checking of Flink-style checkpoint
//! coordinators. `main` parses the command line and hands it to [`cli::run`]; the command
//! modules under [`cli`] execute, print and pick the exit code.
//!
//! Exit codes: 0 pass; 1 violation found (or a vacuous or partial check or merge of shards); 2
//! usage or input error. Output into a closed pipe (`... | head -1`) ends the process quietly, as the system's
//! own tools do (killed by SIGPIPE: status 141 in the shell).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe fails and `println!` panics. Restore the
/// default action: the process ends quietly with the conventional status, like `cat` or `head`.
/// Sockets are unaffected: the standard library sends with `MSG_NOSIGNAL` (or sets
/// `SO_NOSIGPIPE`), so a dropped Explorer connection is an error, not a signal.
#[cfg(unix)]
fn restore_default_sigpipe() {
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: `signal` with SIG_DFL only resets the disposition of SIGPIPE, before any thread
    // starts.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_default_sigpipe() {}
