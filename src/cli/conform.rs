//! `conform`: the model's coordinator against Flink 2.3's real `CheckpointCoordinator`. Seeded
//! schedules of a model (or one saved trace) run through both and are compared after every
//! coordinator input; the first divergence is shrunk and printed with both sides. Exit 0 when
//! everything conformed, 1 on a divergence, 2 when real Flink is not available here or the
//! input is bad.

use super::common::{load_model, parse_range, program, Format, InjectedBugs, OutputFormat};
use checkpoint_harness::conformance::flink::{FlinkDriver, HOW_TO_ENABLE};
use checkpoint_harness::conformance::handlers::{self, HandlerKind};
use checkpoint_harness::conformance::{self, Coverage, Divergence, Verdict, REQUIRED_COVERAGE};
use checkpoint_harness::error::InputError;
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::scheduler::SchedulerKind;
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{self, Expected, Origin, Trace};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Model file or embedded model name (omit for the embedded default model).
    model: Option<String>,
    /// Seed range A..B (B exclusive) of the schedules to compare.
    #[arg(long, default_value = "0..200", conflicts_with = "trace")]
    seeds: String,
    /// Compare one saved trace (any file under traces/, any counterexample) instead.
    #[arg(long)]
    trace: Option<String>,
    /// Compare the task side instead: seeded input sequences of one of Flink's barrier
    /// handlers (`tracker`, `aligned`, `alternating`, or `all`) against the model's.
    #[arg(long, conflicts_with_all = ["trace", "model"])]
    handler: Option<String>,
    /// Another build of Flink: a directory with flink-dist-*.jar and the log4j jars (a Flink
    /// distribution's lib/), e.g. your fork with the change under review.
    #[arg(long)]
    flink_dist: Option<PathBuf>,
    /// Write the schedule of the one seed in `--seeds K..K+1` to FILE as a trace, to keep a
    /// schedule that reaches a rule few seeded ones do: `verify` compares every trace under
    /// `traces/conformance/` with Flink (traces/README.md).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trace", "handler"])]
    keep: Option<String>,
    /// With `--keep`: the trace's note (which rule the schedule reaches and what it caught).
    #[arg(long, requires = "keep")]
    note: Option<String>,
    /// At most this many driver runs to shrink a divergence.
    #[arg(long, default_value_t = 2000)]
    shrink_tries: usize,
    #[command(flatten)]
    bugs: InjectedBugs,
    #[command(flatten)]
    output: OutputFormat,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    if let Some(handler) = &args.handler {
        return run_handlers(&args, handler);
    }
    let (spec, actions_of_trace) = match &args.trace {
        Some(path) => {
            let trace = Trace::load(path)?;
            let spec = trace.spec(path)?;
            (spec, Some(trace.actions))
        }
        None => (load_model(args.model.as_deref(), &args.bugs.bugs)?.0, None),
    };
    // Where the model deviates from Flink on purpose, Flink's own rule is switched on for the
    // generated schedules (docs/fidelity.md, "Deliberate deviations"); a trace keeps its model.
    let spec = if actions_of_trace.is_none() {
        conformance::compared_spec(spec)
    } else {
        spec
    };
    let range = parse_range(&args.seeds)?;
    if let Some(path) = &args.keep {
        keep_schedule(&args, &spec, range.clone(), path)?;
    }
    let mut driver = start_driver(&args)?;
    let started = Instant::now();
    let mut coverage = Coverage::default();
    let mut compared = 0u64;
    let mut inputs = 0u64;
    let mut stopped = 0u64;
    let mut found: Option<(
        Option<u64>,
        Vec<checkpoint_harness::world::Action>,
        Divergence,
    )> = None;
    let runs: Vec<(Option<u64>, Vec<checkpoint_harness::world::Action>)> = match actions_of_trace {
        Some(actions) => vec![(None, actions)],
        None => range
            .map(|seed| (Some(seed), conformance::schedule(&spec, seed)))
            .collect(),
    };
    for (seed, actions) in runs {
        let verdict = conformance::compare(&mut driver, &spec, &actions, &mut coverage)
            .map_err(|e| InputError::new("conform", "", format!("the Flink driver failed: {e}")))?;
        compared += 1;
        match verdict {
            Verdict::Conforms {
                inputs: n,
                stopped: s,
            } => {
                inputs += n as u64;
                stopped += u64::from(s.is_some());
            }
            Verdict::Diverges(d) => {
                found = Some((seed, actions, *d));
                break;
            }
            Verdict::SetupRejected(why) => {
                return Err(InputError::new(
                    &spec.file,
                    "checkpointing",
                    format!("Flink's configuration builder rejects this model: {why}"),
                ))
            }
            Verdict::NotExpressible { key, why } => {
                return Err(InputError::new(
                    &spec.file,
                    key,
                    format!("the driver cannot express this model: {why}"),
                ));
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let missing: Vec<&str> = REQUIRED_COVERAGE
        .iter()
        .copied()
        .filter(|item| !coverage.reached(item))
        .collect();
    let rerun = rerun_command(&args, &spec);
    match found {
        None => {
            match args.output.format {
                Format::Text => {
                    println!(
                        "PASS {}: {compared} schedules, {inputs} coordinator inputs compared with \
                         Flink, 0 divergences, {stopped} stopped early ({seconds:.1} s, {:.0} \
                         schedules/s)",
                        spec.name,
                        compared as f64 / seconds.max(1e-9)
                    );
                    let reached: Vec<String> = coverage
                        .counts
                        .iter()
                        .map(|(item, count)| format!("{item} {count}"))
                        .collect();
                    println!("coverage: {}", reached.join(", "));
                    if !missing.is_empty() {
                        println!("not reached: {}", missing.join(", "));
                    }
                }
                Format::Json => println!(
                    "{}",
                    json!({"model": spec.name, "verdict": "conforms", "schedules": compared,
                           "inputs": inputs, "stopped_early": stopped, "seconds": seconds,
                           "coverage": coverage.counts, "not_reached": missing})
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Some((seed, actions, divergence)) => {
            let shrunk = conformance::shrink(&mut driver, &spec, &actions, args.shrink_tries)
                .map_err(|e| InputError::new("conform", "", format!("shrinking failed: {e}")))?;
            let mut unused = Coverage::default();
            let divergence = match conformance::compare(&mut driver, &spec, &shrunk, &mut unused) {
                Ok(Verdict::Diverges(d)) => *d,
                _ => divergence,
            };
            let rerun = match seed {
                Some(seed) => format!("{rerun} --seeds {seed}..{}", seed + 1),
                None => rerun,
            };
            print_divergence(&spec, seed, &divergence, &rerun, args.output.format);
            Ok(ExitCode::from(1))
        }
    }
}

/// `--keep FILE`: the conformance schedule of the range's one seed, written as a trace whose
/// expectation is its replay's outcome (written before the comparison, so that a schedule is
/// kept whatever Flink answers).
fn keep_schedule(
    args: &Args,
    spec: &Spec,
    range: std::ops::Range<u64>,
    path: &str,
) -> Result<(), InputError> {
    if range.end != range.start + 1 {
        return Err(InputError::new(
            "command line",
            "--keep",
            format!(
                "keeps the schedule of one seed: give --seeds K..K+1, not {:?}",
                args.seeds
            ),
        ));
    }
    let seed = range.start;
    let actions = conformance::schedule(spec, seed);
    // The schedule ran with Flink's scheduler start delay (`conformance::compared_spec`): the
    // trace's model text says so, so that it replays, and is compared, as it was made.
    let mut kept = spec.clone();
    kept.text = with_flink_start_delay(&spec.text);
    let spec = &kept;
    let mut trace = Trace::new(
        spec,
        spec.bugs,
        Origin::Sim {
            scheduler: SchedulerKind::Random,
            config: format!(
                "the conformance schedule of seed {seed} (conformance::schedule: trigger phases finish at once)"
            ),
        },
        actions,
        Expected::Pass,
    );
    trace.seed = Some(seed);
    let replayed = trace::replay(spec, &Oracle::new(spec), &trace, path)?;
    trace.expected = Expected::of(&replayed.outcome);
    trace.note = args.note.clone().unwrap_or_else(|| {
        format!(
            "The conformance schedule of seed {seed} of {}, kept to compare with Flink.",
            spec.name
        )
    });
    trace.save(path)?;
    println!(
        "kept: {path} (seed {seed}, {} actions)",
        trace.actions.len()
    );
    Ok(())
}

/// A model's text with `checkpointing.scheduler_start_delay = "min-pause"` (unless it already
/// names a start delay): the key goes first into the `[checkpointing]` table, or into a new one.
fn with_flink_start_delay(text: &str) -> String {
    const KEY: &str = "scheduler_start_delay = \"min-pause\"";
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("scheduler_start_delay"))
    {
        return text.to_string();
    }
    let mut out = String::new();
    let mut inserted = false;
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if !inserted && line.trim() == "[checkpointing]" {
            out.push_str(KEY);
            out.push('\n');
            inserted = true;
        }
    }
    if !inserted {
        out.push_str("\n[checkpointing]\n");
        out.push_str(KEY);
        out.push('\n');
    }
    out
}

/// The Flink driver (of `--flink-dist` if given), or why real Flink is not available here.
fn start_driver(args: &Args) -> Result<FlinkDriver, InputError> {
    FlinkDriver::start(args.flink_dist.as_deref()).map_err(|why| {
        InputError::new(
            "conform",
            "",
            format!("real Flink is not available: {why}; to enable it, {HOW_TO_ENABLE}"),
        )
    })
}

/// A divergence's shrunk script, one driver line per line.
fn print_script(script: &[String]) {
    println!("shrunk script (the driver's input; conformance/SCHEMA.md):");
    for line in script {
        println!("  {line}");
    }
}

fn rerun_command(args: &Args, spec: &Spec) -> String {
    let mut command = format!("{} conform", program());
    match &args.trace {
        Some(trace) => command.push_str(&format!(" --trace {trace}")),
        None => command.push_str(&format!(" {}", args.model.as_deref().unwrap_or(&spec.name))),
    }
    for bug in &args.bugs.bugs {
        command.push_str(&format!(" --bug {bug}"));
    }
    if let Some(dist) = &args.flink_dist {
        command.push_str(&format!(" --flink-dist {}", dist.display()));
    }
    command
}

fn print_divergence(
    spec: &Spec,
    seed: Option<u64>,
    divergence: &Divergence,
    rerun: &str,
    format: Format,
) {
    let seed_text = seed.map_or("trace".to_string(), |s| format!("seed {s}"));
    match format {
        Format::Text => {
            println!(
                "DIVERGENCE {} {seed_text} at input {} of {} ({}): model {} / Flink {}",
                spec.name,
                divergence.input + 1,
                divergence.script.len() - 1,
                divergence.field,
                divergence.model_value,
                divergence.flink_value
            );
            print_script(&divergence.script);
            println!("after the last input, side by side:");
            let model = divergence.model.describe();
            let flink = divergence.flink.describe();
            for (m, f) in model.lines().zip(flink.lines()) {
                let mark = if m == f { " " } else { "≠" };
                println!("  {mark} model {m}");
                println!("  {mark} Flink {f}");
            }
            println!("rerun: {rerun}");
        }
        Format::Json => println!(
            "{}",
            json!({"model": spec.name, "verdict": "diverges", "seed": seed,
                   "input": divergence.input + 1, "field": divergence.field,
                   "model_value": divergence.model_value, "flink_value": divergence.flink_value,
                   "script": divergence.script, "answers": divergence.answers,
                   "model_side": divergence.model.describe(),
                   "flink_side": divergence.flink.describe(), "rerun": rerun})
        ),
    }
}

/// `conform --handler KIND`: the model's barrier handlers against Flink's, per seeded sequence.
fn run_handlers(args: &Args, which: &str) -> Result<ExitCode, InputError> {
    let kinds: Vec<HandlerKind> = match which {
        "all" => HandlerKind::ALL.to_vec(),
        name => vec![HandlerKind::parse(name).ok_or_else(|| {
            InputError::new(
                "conform",
                "--handler",
                format!("unknown handler {name:?}: tracker, aligned, alternating or all"),
            )
        })?],
    };
    let range = parse_range(&args.seeds)?;
    let bugs = super::common::parse_bugs(&args.bugs.bugs)?;
    let spec = handlers::handler_spec(bugs);
    let mut driver = start_driver(args)?;
    let started = Instant::now();
    let failed =
        |e: String| InputError::new("conform", "", format!("the Flink driver failed: {e}"));
    for kind in kinds {
        let mut compared = 0u64;
        let mut inputs = 0u64;
        let mut stopped = 0u64;
        let mut reached: std::collections::BTreeMap<String, u64> = Default::default();
        for seed in range.clone() {
            let (channels, sequence) = handlers::sequence(kind, &spec, seed);
            match handlers::compare(&mut driver, kind, &spec, channels, &sequence)
                .map_err(failed)?
            {
                Ok(done) => {
                    compared += 1;
                    inputs += done.inputs as u64;
                    stopped += u64::from(done.stopped.is_some());
                    for situation in done.reached {
                        *reached.entry(situation).or_default() += 1;
                    }
                }
                Err(divergence) => {
                    let divergence = handlers::shrink(
                        &mut driver,
                        kind,
                        &spec,
                        channels,
                        &sequence,
                        *divergence,
                    )
                    .map_err(failed)?;
                    let mut rerun = format!(
                        "{} conform --handler {} --seeds {seed}..{}",
                        program(),
                        kind.name(),
                        seed + 1
                    );
                    for bug in &args.bugs.bugs {
                        rerun.push_str(&format!(" --bug {bug}"));
                    }
                    match args.output.format {
                        Format::Text => {
                            println!(
                                "DIVERGENCE handler {} seed {seed} at input {} ({}): model {} / Flink {}",
                                kind.name(),
                                divergence.input + 1,
                                divergence.field,
                                divergence.model_value,
                                divergence.flink_value
                            );
                            print_script(&divergence.script);
                            println!("rerun: {rerun}");
                        }
                        Format::Json => println!(
                            "{}",
                            json!({"handler": kind.name(), "verdict": "diverges", "seed": seed,
                                   "input": divergence.input + 1, "field": divergence.field,
                                   "model_value": divergence.model_value,
                                   "flink_value": divergence.flink_value,
                                   "script": divergence.script, "rerun": rerun})
                        ),
                    }
                    return Ok(ExitCode::from(1));
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        match args.output.format {
            Format::Text => println!(
                "PASS handler {}: {compared} sequences, {inputs} handler inputs compared with \
                 Flink, 0 divergences, {stopped} stopped early where Flink's handler threw \
                 ({seconds:.1} s)\n  coverage (sequences reaching each): {}",
                kind.name(),
                reached
                    .iter()
                    .map(|(situation, count)| format!("{situation} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Format::Json => println!(
                "{}",
                json!({"handler": kind.name(), "verdict": "conforms", "sequences": compared,
                       "inputs": inputs, "stopped_early": stopped, "seconds": seconds,
                       "coverage": reached})
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}
