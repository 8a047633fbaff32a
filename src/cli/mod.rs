//! The command line: the [`Cli`] parser and [`run`], which hands each command to its module.
//! Each module holds its command's arguments, its execution and its output:
//!
//! - [`check`]: exhaustively explore a model (or one shard of its state space).
//! - [`merge`]: combine the JSON summaries of a sharded check into one verdict.
//! - [`sim`]: run the seeded simulator on one seed or a range of seeds.
//! - [`replay`]: re-execute a trace and report its outcome.
//! - [`shrink`]: minimise a failing trace.
//! - [`render`]: draw a trace as a timeline, a Mermaid diagram or an HTML report.
//! - [`show`]: show a model's topology and checkpoint configuration.
//! - [`bugs`]: list the injectable bugs, or run the detection report.
//! - [`conform`]: compare the model's coordinator with Flink's real one.
//! - [`explore`]: serve the Explorer web UI for a model.
//! - [`verify`]: the gate for a change: every model, canary and regression trace within a budget.
//! - [`common`]: the flags and helpers two or more commands share.

mod bugs;
mod check;
mod common;
mod conform;
mod explore;
mod merge;
mod render;
mod replay;
mod show;
mod shrink;
mod sim;
mod verify;

use checkpoint_harness::error::InputError;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "checkpoint-harness",
    version,
    about = "Deterministic simulation and exhaustive model checking of Flink-style checkpoint coordinators",
    after_help = "Exit codes: 0 pass, 1 violation found (check, merge: also vacuous or partial), 2 usage or input error."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The gate for a change to the coordinator or the tasks: every model's simulator sweep and
    /// check, every catalogued bug as a canary, every regression trace, within a time budget.
    Verify(verify::Args),
    /// Exhaustively explore a model (default: the embedded keyed-join-2pc model).
    Check(check::Args),
    /// Combine the JSON summaries of the shards of one check (`check --shard K/N --format json`)
    /// into one verdict: complete only if every shard completed; any violation wins, with its
    /// trace.
    Merge(merge::Args),
    /// Run the seeded simulator on one seed or a range of seeds.
    Sim(sim::Args),
    /// Re-execute a trace and report its outcome with a step-by-step timeline.
    Replay(replay::Args),
    /// Minimise a failing trace, keeping the same violated invariant.
    Shrink(shrink::Args),
    /// Draw a trace: a fixed-column timeline, a Mermaid sequence diagram, or an HTML report.
    Render(render::Args),
    /// Show a model: its topology with parallelism, partitioning and channels, and its
    /// checkpoint configuration.
    Show(show::Args),
    /// List the injectable bugs, or run each one against the model where it shows.
    Bugs(bugs::Args),
    /// Serve stateright's Explorer web UI for a model on 127.0.0.1.
    Explore(explore::Args),
    /// Compare the model's coordinator with Flink 2.3's real CheckpointCoordinator on seeded
    /// schedules or a saved trace (needs Java 17; fetches Flink's jars once).
    Conform(conform::Args),
}

/// Executes one command; an `Err` is a usage or input error (exit code 2).
pub fn run(cli: Cli) -> Result<ExitCode, InputError> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Shrink(args) => shrink::run(args),
        Command::Render(args) => render::run(args),
        Command::Show(args) => show::run(args),
        Command::Bugs(args) => bugs::run(args),
        Command::Explore(args) => explore::run(args),
        Command::Conform(args) => conform::run(args),
        Command::Verify(args) => verify::run(args),
    }
}
