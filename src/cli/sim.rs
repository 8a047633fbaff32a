//! `sim`: run the seeded simulator on one seed, a seed range or one shard of it; save the first
//! failing run as a trace and print how to replay, render, rerun and shrink it, or print the
//! pass with throughput and non-vacuity counts (text or JSON). Exit code 1 on a violation.

use super::common::{
    at_most, file_part, load_model, parse_range, parse_shard, positive, program, render_command,
    shell_quote, shrink_command, single_seed, spinner, trace_command, Format, InjectedBugs,
    OutputFormat, TraceDir,
};
use checkpoint_harness::bugs::BugSet;
use checkpoint_harness::error::InputError;
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::scheduler::{Scheduler, SchedulerKind};
use checkpoint_harness::sim::{self, Outcome, RunBounds, Shard};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::spec::MAX_STEPS;
use checkpoint_harness::trace::{Expected, Origin, Trace};
use clap::ValueEnum;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Model file, or the name of an embedded model (`linear` for models/linear.toml).
    model: String,
    /// One seed.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// A seed range A..B (B exclusive).
    #[arg(long)]
    seeds: Option<String>,
    /// Run shard K of N (0-based: K in 0..N) of the seed range, for CI matrices and batch
    /// arrays (Kubernetes indexed jobs, Slurm arrays).
    #[arg(long)]
    shard: Option<String>,
    /// Steps in the faulty phase (default: the model's bounds.faulty_steps).
    #[arg(long)]
    steps: Option<u32>,
    /// Faulty-phase scheduler. `random` (the default) finds more bugs per second on most of the
    /// catalogue; `pct` finds more on savepoint orderings and on barrier alignment that needs one
    /// input starved (`bugs --report --compare-schedulers` measures both; README, "Random vs
    /// PCT").
    #[arg(long, value_enum, default_value = "random")]
    scheduler: SchedulerArg,
    /// PCT bug depth (number of priority change points + 1), drawn over the model's calibrated
    /// run length.
    #[arg(long, default_value_t = 3)]
    depth: u32,
    /// Worker threads for seed ranges (results do not depend on it).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[command(flatten)]
    injected: InjectedBugs,
    #[command(flatten)]
    traces: TraceDir,
    #[command(flatten)]
    output: OutputFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchedulerArg {
    Random,
    Pct,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    let (spec, extra) = load_model(Some(&args.model), &args.injected.bugs)?;
    let mut bounds = RunBounds::of(&spec);
    if let Some(steps) = args.steps {
        bounds.faulty_steps =
            at_most("--steps", steps, MAX_STEPS, "the most steps a run may take")?;
    }
    let kind = match args.scheduler {
        SchedulerArg::Random => SchedulerKind::Random,
        SchedulerArg::Pct => SchedulerKind::Pct {
            depth: at_most(
                "--depth",
                positive("--depth", args.depth)?,
                spec.bounds.faulty_steps.max(1).saturating_add(1),
                "PCT's depth is one more than its priority change points, at most one per faulty step (bounds.faulty_steps)",
            )?,
        },
    };
    let range = match (args.seed, args.seeds) {
        (Some(seed), _) => single_seed(seed)?,
        (None, Some(range)) => parse_range(&range)?,
        (None, None) => 0..1,
    };
    let shard = match args.shard {
        Some(text) => parse_shard(&text)?,
        None => Shard::ALL,
    };
    if shard.is_empty(range.clone()) {
        return Err(InputError::new(
            "command line",
            "--shard",
            format!(
                "shard {}/{} of seeds {}..{} holds no seed (the range has {} seeds); use fewer shards or more seeds",
                shard.index,
                shard.count,
                range.start,
                range.end,
                range.end - range.start
            ),
        ));
    }
    let out_dir = args.traces.resolve()?;
    let request = SimRequest {
        model: args.model,
        bugs: args.injected.bugs,
        kind,
        range,
        shard,
        bounds,
        threads: positive("--threads", args.threads)?,
        out_dir,
        format: args.output.format,
    };
    run_sim(&spec, extra, request)
}

struct SimRequest {
    model: String,
    bugs: Vec<String>,
    kind: SchedulerKind,
    range: std::ops::Range<u64>,
    shard: Shard,
    bounds: RunBounds,
    threads: usize,
    out_dir: String,
    format: Format,
}

fn run_sim(spec: &Spec, extra: BugSet, request: SimRequest) -> Result<ExitCode, InputError> {
    let oracle = Oracle::new(spec);
    let started = Instant::now();
    let seeds_in_shard = request.shard.len(request.range.clone());
    let single = seeds_in_shard == 1;
    let bar = spinner(
        request.format == Format::Text && !single,
        Some(seeds_in_shard),
    );
    let sweep = sim::Sweep {
        seeds: request.range.clone(),
        shard: request.shard,
        scheduler: request.kind,
        bounds: request.bounds,
        threads: request.threads,
    };
    let report = sim::sweep(spec, &oracle, &sweep, &|done| bar.set_position(done));
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let steps_per_second = report.steps as f64 / elapsed.as_secs_f64().max(1e-9);
    let scheduler_args = match request.kind {
        SchedulerKind::Random => String::new(),
        SchedulerKind::Pct { depth } => format!(" --scheduler pct --depth {depth}"),
    };
    let bug_args: String = request.bugs.iter().map(|b| format!(" --bug {b}")).collect();
    let steps_arg = if request.bounds.faulty_steps != spec.bounds.faulty_steps {
        format!(" --steps {}", request.bounds.faulty_steps)
    } else {
        String::new()
    };
    let mut saved = None;
    let mut unsaved: Option<(InputError, String)> = None;
    if let Some((seed, run)) = &report.failure {
        let mut trace = Trace::new(
            spec,
            extra,
            Origin::Sim {
                scheduler: request.kind,
                config: run.config.describe(),
            },
            run.actions.clone(),
            Expected::of(&run.outcome),
        );
        trace.seed = Some(*seed);
        trace.healed_at = Some(run.healed_at);
        if let Outcome::Violation { violation, .. } = &run.outcome {
            trace.note = violation.detail.clone();
        }
        let path = format!(
            "{}/sim-{}-{}-seed-{seed}.json",
            request.out_dir,
            file_part(&spec.name),
            match request.kind {
                SchedulerKind::Random => "random".to_string(),
                SchedulerKind::Pct { depth } => format!("pct{depth}"),
            }
        );
        // A finding is never lost: a trace that cannot be written is printed instead.
        match trace.save(&path) {
            Ok(()) => saved = Some((path, *seed)),
            Err(error) => unsaved = Some((error, trace.to_json())),
        }
    }
    let rerun = |seed: u64| {
        format!(
            "{} sim {} --seed {seed}{scheduler_args}{steps_arg}{bug_args}",
            program(),
            shell_quote(&request.model)
        )
    };
    match request.format {
        Format::Text => match &report.failure {
            Some((seed, run)) => {
                let Outcome::Violation { violation, step } = &run.outcome else {
                    unreachable!("failures are violations")
                };
                println!(
                    "FAIL {} seed {seed} at step {step}: {}",
                    spec.name, violation.invariant
                );
                println!("  {}", violation.detail);
                println!("  configuration: {}", run.config.describe());
                match (&saved, &unsaved) {
                    (Some((path, _)), _) => {
                        println!("  trace saved: {path} ({} actions)", run.actions.len());
                        println!("  replay: {}", trace_command(path));
                        println!("  render: {}", render_command(path));
                    }
                    (None, Some((error, _))) => {
                        println!("  trace NOT saved: {error}");
                        println!(
                            "  the trace ({} actions) is printed on standard error: save it to a file to replay it",
                            run.actions.len()
                        );
                    }
                    (None, None) => {}
                }
                println!("  rerun:  {}", rerun(*seed));
                if let Some((path, _)) = &saved {
                    println!("  shrink: {}", shrink_command(path));
                }
            }
            None => {
                if single {
                    let seed = request.shard.nth(request.range.clone(), 0).unwrap_or(0);
                    let length = sim::pct_run_length(spec, request.kind, request.bounds);
                    let config =
                        Scheduler::with_run_length(spec, seed, request.kind, length).config;
                    println!("configuration: {}", config.describe());
                }
                println!(
                    "PASS {}: {} seeds, {} steps, {:.0} steps/s, {:.1} s",
                    spec.name,
                    report.seeds_run,
                    report.steps,
                    steps_per_second,
                    elapsed.as_secs_f64()
                );
                if !single {
                    let counts: Vec<String> = report
                        .reached
                        .iter()
                        .map(|(name, count)| format!("{name} {count}"))
                        .collect();
                    println!("non-vacuity (runs reaching): {}", counts.join(", "));
                }
            }
        },
        Format::Json => {
            let failure = report.failure.as_ref().map(|(seed, run)| {
                let (invariant, detail, step) = match &run.outcome {
                    Outcome::Violation { violation, step } => {
                        (violation.invariant, violation.detail.clone(), *step)
                    }
                    Outcome::Pass => ("", String::new(), 0),
                };
                serde_json::json!({
                    "seed": seed,
                    "invariant": invariant,
                    "detail": detail,
                    "step": step,
                    "configuration": run.config.describe(),
                    "trace": saved.as_ref().map(|(p, _)| p.clone()),
                    "trace_error": unsaved.as_ref().map(|(e, _)| e.to_string()),
                    "replay": saved.as_ref().map(|(p, _)| trace_command(p)),
                    "render": saved.as_ref().map(|(p, _)| render_command(p)),
                    "rerun": rerun(*seed),
                })
            });
            let reached: serde_json::Map<String, serde_json::Value> = report
                .reached
                .iter()
                .map(|(name, count)| (name.to_string(), serde_json::json!(count)))
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "model": spec.name,
                    "outcome": if report.failure.is_some() { "violation" } else { "pass" },
                    "seeds": {"start": request.range.start, "end": request.range.end},
                    "shard": format!("{}/{}", request.shard.index, request.shard.count),
                    "seeds_run": report.seeds_run,
                    "steps": report.steps,
                    "steps_per_second": steps_per_second,
                    "seconds": elapsed.as_secs_f64(),
                    "invariant": failure.as_ref().map(|f| f["invariant"].clone()),
                    "trace": saved.as_ref().map(|(p, _)| p.clone()),
                    "failure": failure,
                    "non_vacuity": reached,
                })
            );
        }
    }
    if let Some((error, json)) = &unsaved {
        eprintln!("error: the failing trace could not be saved: {error}");
        eprintln!("the trace follows (save it to a .json file to replay, render or shrink it):");
        eprint!("{json}");
    }
    Ok(if report.failure.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
