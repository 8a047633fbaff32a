//! `replay`: re-execute a trace, print its step-by-step timeline and outcome, and say whether
//! the recorded outcome was reproduced (text or JSON). Exit code 0 when the trace reproduces
//! its recorded expectation (a pass or the recorded violation), 1 when the outcome differs.

use super::common::{Format, OutputFormat};
use checkpoint_harness::error::InputError;
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::render;
use checkpoint_harness::sim::Outcome;
use checkpoint_harness::trace::{self, Expected, Trace};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    trace: String,
    /// Print only the outcome, not the timeline.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    output: OutputFormat,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    run_replay(&args.trace, args.quiet, args.output.format)
}

fn run_replay(path: &str, quiet: bool, format: Format) -> Result<ExitCode, InputError> {
    let trace = Trace::load(path)?;
    let spec = trace.spec(path)?;
    let oracle = Oracle::new(&spec);
    let replayed = trace::replay(&spec, &oracle, &trace, path)?;
    let expected = Expected::of(&replayed.outcome);
    let matches = expected == trace.expected;
    match format {
        Format::Text => {
            if !quiet {
                println!("model {} ({} actions)", spec.name, trace.actions.len());
                print!("{}", render::timeline(&spec, &replayed, trace.healed_at));
            }
            match &replayed.outcome {
                Outcome::Pass => println!("outcome: pass"),
                Outcome::Violation { violation, step } => {
                    println!("outcome: {} violated at step {step}", violation.invariant);
                    println!("  {}", violation.detail);
                }
            }
            println!(
                "expected: {}; {}",
                match &trace.expected {
                    Expected::Pass => "pass".to_string(),
                    Expected::Violation { invariant } => format!("{invariant} violated"),
                },
                if matches {
                    "reproduced (exit 0)"
                } else {
                    "NOT REPRODUCED (exit 1)"
                }
            );
        }
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "trace": path,
                "model": spec.name,
                "actions": trace.actions.len(),
                "outcome": replayed.outcome.invariant().map_or("pass".to_string(), |i| format!("violation:{i}")),
                "reproduced": matches,
                "expected": match &trace.expected {
                    Expected::Pass => "pass".to_string(),
                    Expected::Violation { invariant } => format!("violation:{invariant}"),
                },
            })
        ),
    }
    Ok(if matches {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
