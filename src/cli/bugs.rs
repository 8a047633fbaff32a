//! `bugs`: list the injectable bugs, or with `--report` run each one through the simulator and
//! the model checker and print the detection table (text or JSON); with `--compare-schedulers`
//! also run every seed with the random scheduler and with PCT and print, per bug, each one's
//! catching seeds and catches per second. Exit code 1 if a bug was not caught as expected.

use super::common::{parse_bugs, positive, spinner, Format, OutputFormat};
use checkpoint_harness::bugs::Bug;
use checkpoint_harness::error::InputError;
use checkpoint_harness::report;
use indicatif::ProgressStyle;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Run every (or each --bug) bug through the simulator and the model checker and print
    /// the detection table.
    #[arg(long)]
    report: bool,
    /// Only these bugs (repeatable).
    #[arg(long = "bug")]
    bugs: Vec<String>,
    /// Seeds the simulator tries per bug.
    #[arg(long, default_value_t = 2000)]
    seeds: u64,
    /// Skip the model checker.
    #[arg(long)]
    no_check: bool,
    /// Also run every seed with the random scheduler and with PCT and print, per bug, how many
    /// seeds each catches the bug on and how many catches per second (the scheduler comparison).
    #[arg(long)]
    compare_schedulers: bool,
    /// PCT's depth for --compare-schedulers.
    #[arg(long, default_value_t = 3, requires = "compare_schedulers")]
    depth: u32,
    /// Worker threads for the simulator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Also write each bug's shrunk counterexample as a regression trace into DIR.
    #[arg(long)]
    write_traces: Option<String>,
    #[command(flatten)]
    output: OutputFormat,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    let format = args.output.format;
    let selected: Vec<Bug> = if args.bugs.is_empty() {
        Bug::ALL.to_vec()
    } else {
        parse_bugs(&args.bugs)?.iter().collect()
    };
    if !args.report {
        print_bug_list(&selected, format);
        return Ok(ExitCode::SUCCESS);
    }
    let budget = report::Budget {
        sim_seeds: positive("--seeds", args.seeds as usize)? as u64,
        threads: positive("--threads", args.threads)?,
        check: !args.no_check,
        ..report::Budget::default()
    };
    let compare = if args.compare_schedulers {
        Some(positive("--depth", args.depth as usize)? as u32)
    } else {
        None
    };
    run_bug_report(
        &selected,
        &budget,
        compare,
        args.write_traces.as_deref(),
        format,
    )
}

fn print_bug_list(bugs: &[Bug], format: Format) {
    match format {
        Format::Text => {
            println!(
                "{:<46} {:<12} {:<12} what goes wrong",
                "bug", "layer", "origin"
            );
            for bug in bugs {
                println!(
                    "{:<46} {:<12} {:<12} {}",
                    bug.name(),
                    bug.layer(),
                    bug.origin(),
                    bug.description()
                );
            }
            println!(
                "\nSwitch one on with --bug NAME (repeatable) or `bugs = [\"NAME\"]` in a model file; `bugs --report` shows what catches each."
            );
        }
        Format::Json => {
            let list: Vec<serde_json::Value> = bugs
                .iter()
                .map(|bug| {
                    let showcase = bug.showcase();
                    serde_json::json!({
                        "name": bug.name(),
                        "layer": bug.layer(),
                        "origin": bug.origin(),
                        "description": bug.description(),
                        "history": bug.history(),
                        "model": showcase.model,
                        "invariant": showcase.invariant,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(list));
        }
    }
}

fn run_bug_report(
    bugs: &[Bug],
    budget: &report::Budget,
    compare: Option<u32>,
    traces: Option<&str>,
    format: Format,
) -> Result<ExitCode, InputError> {
    let bar = spinner(format == Format::Text, Some(bugs.len() as u64));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} bugs {msg}").expect("valid template"),
    );
    let mut results = Vec::new();
    for bug in bugs {
        bar.set_message(bug.name());
        let mut result = report::run(*bug, budget);
        if let Some(depth) = compare {
            report::compare_schedulers(&mut result, depth, budget);
        }
        results.push(result);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(dir) = traces {
        for result in &results {
            if result.sim.caught_at_seed.is_none()
                && !result.check.as_ref().is_some_and(|c| c.caught)
            {
                continue;
            }
            let path = format!("{dir}/{}.json", result.bug.name());
            let length = report::write_trace(result, &path)?;
            if format == Format::Text {
                println!("wrote {path} ({length} actions)");
            }
        }
    }
    match format {
        Format::Text => {
            print!("{}", report::table(&results, budget));
            if compare.is_some() {
                print!("\n{}", report::comparison_table(&results, budget));
            }
        }
        Format::Json => println!("{}", report::json(&results, budget)),
    }
    Ok(if results.iter().all(|r| r.as_expected()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
