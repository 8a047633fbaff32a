//! `shrink`: minimise a failing trace, keeping the same violated invariant, and write it to a
//! new file (never over the input, and over an existing file only with `--force`).

use super::common::{render_command, trace_command};
use checkpoint_harness::error::InputError;
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::trace::{self, Expected, Trace};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    trace: String,
    /// Where to write the shrunk trace.
    #[arg(short = 'o', long = "output")]
    output: String,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    run_shrink(&args.trace, &args.output, args.force)
}

fn run_shrink(path: &str, output: &str, force: bool) -> Result<ExitCode, InputError> {
    if output.trim().is_empty() {
        return Err(InputError::new(
            "command line",
            "--output",
            "is empty; give the file to write the shrunk trace to",
        ));
    }
    let trace = Trace::load(path)?;
    if std::path::Path::new(output).exists() && !force {
        return Err(InputError::new(
            output,
            "",
            "exists; pass --force to overwrite it (nothing was written)",
        ));
    }
    if std::fs::canonicalize(path).ok() == std::fs::canonicalize(output).ok()
        && std::path::Path::new(output).exists()
    {
        return Err(InputError::new(
            output,
            "",
            "is the input trace; write the shrunk trace elsewhere",
        ));
    }
    let spec = trace.spec(path)?;
    let oracle = Oracle::new(&spec);
    let shrunk = trace::shrink(&spec, &oracle, &trace, path)?;
    shrunk.trace.save(output)?;
    let invariant = match &shrunk.trace.expected {
        Expected::Violation { invariant } => invariant.clone(),
        Expected::Pass => String::new(),
    };
    println!(
        "shrunk {path}: {} -> {} actions, still violating {invariant}",
        shrunk.before, shrunk.after
    );
    println!("  {}", shrunk.trace.note);
    println!("saved: {output}");
    println!("replay: {}", trace_command(output));
    println!("render: {}", render_command(output));
    Ok(ExitCode::SUCCESS)
}
