//! `checkpoint-harness`, the command-line binary of the `checkpoint_harness` library:
//! deterministic simulation and exhaustive model checking of Flink-style checkpoint
//! coordinators. `main` parses the command line and hands it to [`cli::run`]; the command
//! modules under [`cli`] execute, print and pick the exit code.
//!
//! Exit codes: 0 pass; 1 violation found (or a vacuous or partial check); 2 usage or input
//! error.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
