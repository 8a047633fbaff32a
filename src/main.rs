//! The command-line interface: `main -> run(args) -> ExitCode`, the only place that prints and
//! picks exit codes. Exit codes: 0 pass, 1 violation found (or a vacuous or partial check),
//! 2 usage or input error.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::check::{self, CheckOptions, Status, Strategy, Summary, Verdict};
use checkpoint_harness::error::InputError;
use checkpoint_harness::invariants::{Kind, Oracle};
use checkpoint_harness::render;
use checkpoint_harness::report;
use checkpoint_harness::scheduler::{Scheduler, SchedulerKind};
use checkpoint_harness::show;
use checkpoint_harness::sim::{self, Outcome, RunBounds, Shard};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{self, Expected, Origin, Trace};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "checkpoint-harness",
    version,
    about = "Deterministic simulation and exhaustive model checking of Flink-style checkpoint coordinators",
    after_help = "Exit codes: 0 pass, 1 violation found (check: also vacuous or partial), 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RenderFormat {
    Text,
    Mermaid,
    Html,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ShowFormat {
    Text,
    Dot,
    Mermaid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchedulerArg {
    Random,
    Pct,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StrategyArg {
    Dfs,
    Bfs,
}

#[derive(Subcommand)]
enum Command {
    /// Exhaustively explore a model (default: the embedded keyed-join-2pc model).
    Check {
        /// Model file (models/*.toml); omit for the embedded default model.
        model: Option<String>,
        /// Search strategy: dfs (fast, lean) or bfs (shortest paths, much more memory).
        #[arg(long, value_enum, default_value = "dfs")]
        strategy: StrategyArg,
        /// Worker threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Stop after this many generated states (the result is then partial).
        #[arg(long)]
        max_states: Option<usize>,
        /// Do not explore deeper than this many steps (the result is then partial).
        #[arg(long)]
        max_depth: Option<usize>,
        /// Stop after this many seconds (the result is then partial).
        #[arg(long)]
        time_limit: Option<u64>,
        /// Turn symmetry reduction off.
        #[arg(long)]
        no_symmetry: bool,
        /// Keep the first counterexample found instead of searching for the shortest.
        #[arg(long)]
        no_shortest: bool,
        /// Switch on an injected bug (repeatable; see `bugs`).
        #[arg(long = "bug")]
        bugs: Vec<String>,
        /// Where counterexample traces are written.
        #[arg(long, default_value = "target/traces")]
        out_dir: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Run the seeded simulator on one seed or a range of seeds.
    Sim {
        /// Model file (models/*.toml).
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
        #[arg(long, value_enum, default_value = "random")]
        scheduler: SchedulerArg,
        /// PCT bug depth (number of priority change points + 1).
        #[arg(long, default_value_t = 3)]
        depth: u32,
        /// Worker threads for seed ranges (results do not depend on it).
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Switch on an injected bug (repeatable; see `bugs`).
        #[arg(long = "bug")]
        bugs: Vec<String>,
        /// Where failing traces are written.
        #[arg(long, default_value = "target/traces")]
        out_dir: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Re-execute a trace and report its outcome with a step-by-step timeline.
    Replay {
        trace: String,
        /// Print only the outcome, not the timeline.
        #[arg(long)]
        quiet: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Minimise a failing trace, keeping the same violated invariant.
    Shrink {
        trace: String,
        /// Where to write the shrunk trace.
        #[arg(short = 'o', long = "output")]
        output: String,
        /// Overwrite OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Draw a trace: a fixed-column timeline, a Mermaid sequence diagram, or an HTML report.
    Render {
        trace: String,
        #[arg(long, value_enum, default_value = "text")]
        format: RenderFormat,
        /// Write to FILE (atomically) instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<String>,
    },
    /// Show a model: its topology with parallelism, partitioning and channels, and its
    /// checkpoint configuration.
    Show {
        /// Model file (omit for the embedded default model).
        model: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
    },
    /// List the injectable bugs, or run each one against the model where it shows.
    Bugs {
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
        /// Worker threads for the simulator.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Also write each bug's shrunk counterexample as a regression trace into DIR.
        #[arg(long)]
        write_traces: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Serve stateright's Explorer web UI for a model on 127.0.0.1.
    Explore {
        /// Model file (omit for the embedded default model).
        model: Option<String>,
        #[arg(long, default_value_t = 3000)]
        port: u16,
        #[arg(long = "bug")]
        bugs: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, InputError> {
    match cli.command {
        Command::Check {
            model,
            strategy,
            threads,
            max_states,
            max_depth,
            time_limit,
            no_symmetry,
            no_shortest,
            bugs,
            out_dir,
            format,
        } => {
            let (spec, extra) = load_model(model.as_deref(), &bugs)?;
            let options = CheckOptions {
                strategy: match strategy {
                    StrategyArg::Dfs => Strategy::Dfs,
                    StrategyArg::Bfs => Strategy::Bfs,
                },
                threads: positive("--threads", threads)?,
                max_states,
                max_depth,
                time_limit: time_limit.map(Duration::from_secs),
                symmetry: !no_symmetry,
                shortest: !no_shortest,
            };
            run_check(spec, extra, options, &out_dir, format)
        }
        Command::Sim {
            model,
            seed,
            seeds,
            shard,
            steps,
            scheduler,
            depth,
            threads,
            bugs,
            out_dir,
            format,
        } => {
            let (spec, extra) = load_model(Some(&model), &bugs)?;
            let kind = match scheduler {
                SchedulerArg::Random => SchedulerKind::Random,
                SchedulerArg::Pct => SchedulerKind::Pct {
                    depth: positive("--depth", depth as usize)? as u32,
                },
            };
            let range = match (seed, seeds) {
                (Some(seed), _) => seed..seed + 1,
                (None, Some(range)) => parse_range(&range)?,
                (None, None) => 0..1,
            };
            let shard = match shard {
                Some(text) => parse_shard(&text)?,
                None => Shard::ALL,
            };
            let mut bounds = RunBounds::of(&spec);
            if let Some(steps) = steps {
                bounds.faulty_steps = steps;
            }
            let request = SimRequest {
                model,
                bugs,
                kind,
                range,
                shard,
                bounds,
                threads: positive("--threads", threads)?,
                out_dir,
                format,
            };
            run_sim(&spec, extra, request)
        }
        Command::Replay {
            trace,
            quiet,
            format,
        } => run_replay(&trace, quiet, format),
        Command::Shrink {
            trace,
            output,
            force,
        } => run_shrink(&trace, &output, force),
        Command::Render {
            trace,
            format,
            output,
        } => run_render(&trace, format, output.as_deref()),
        Command::Show { model, format } => {
            let (spec, _) = load_model(model.as_deref(), &[])?;
            print!(
                "{}",
                match format {
                    ShowFormat::Text => show::text(&spec),
                    ShowFormat::Dot => show::dot(&spec),
                    ShowFormat::Mermaid => show::mermaid(&spec),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bugs {
            report,
            bugs,
            seeds,
            no_check,
            threads,
            write_traces,
            format,
        } => {
            let selected: Vec<Bug> = if bugs.is_empty() {
                Bug::ALL.to_vec()
            } else {
                parse_bugs(&bugs)?.iter().collect()
            };
            if !report {
                print_bug_list(&selected, format);
                return Ok(ExitCode::SUCCESS);
            }
            let budget = report::Budget {
                sim_seeds: positive("--seeds", seeds as usize)? as u64,
                threads: positive("--threads", threads)?,
                check: !no_check,
                ..report::Budget::default()
            };
            run_bug_report(&selected, &budget, write_traces.as_deref(), format)
        }
        Command::Explore { model, port, bugs } => {
            let (spec, _) = load_model(model.as_deref(), &bugs)?;
            eprintln!(
                "serving the Explorer for {} on http://127.0.0.1:{port}/ (Ctrl-C to stop)",
                spec.name
            );
            check::explore(Arc::new(spec), port)
        }
    }
}

fn positive(flag: &str, value: usize) -> Result<usize, InputError> {
    if value == 0 {
        Err(InputError::new("command line", flag, "must be at least 1"))
    } else {
        Ok(value)
    }
}

fn parse_bugs(names: &[String]) -> Result<BugSet, InputError> {
    let mut set = BugSet::default();
    for name in names {
        let bug = Bug::from_name(name).ok_or_else(|| {
            InputError::new(
                "command line",
                "--bug",
                format!("unknown bug {name:?} (run `checkpoint-harness bugs` for the list)"),
            )
        })?;
        set.insert(bug);
    }
    Ok(set)
}

fn load_model(path: Option<&str>, bugs: &[String]) -> Result<(Spec, BugSet), InputError> {
    let extra = parse_bugs(bugs)?;
    let spec = match path {
        Some(path) => Spec::load(path)?,
        None => Spec::default_model(),
    };
    Ok((spec.with_bugs(extra), extra))
}

fn parse_range(text: &str) -> Result<std::ops::Range<u64>, InputError> {
    let bad =
        |reason: &str| InputError::new("command line", "--seeds", format!("{text:?}: {reason}"));
    let (start, end) = text.split_once("..").ok_or_else(|| bad("expected A..B"))?;
    let start: u64 = start.trim().parse().map_err(|_| bad("A is not a number"))?;
    let end: u64 = end.trim().parse().map_err(|_| bad("B is not a number"))?;
    if end <= start {
        return Err(bad("B must be greater than A"));
    }
    Ok(start..end)
}

fn parse_shard(text: &str) -> Result<Shard, InputError> {
    let bad =
        |reason: &str| InputError::new("command line", "--shard", format!("{text:?}: {reason}"));
    let (index, count) = text.split_once('/').ok_or_else(|| bad("expected K/N"))?;
    let index: u64 = index.trim().parse().map_err(|_| bad("K is not a number"))?;
    let count: u64 = count.trim().parse().map_err(|_| bad("N is not a number"))?;
    if count == 0 || index >= count {
        return Err(bad("need N >= 1 and 0 <= K < N"));
    }
    Ok(Shard { index, count })
}

fn spinner(enabled: bool, length: Option<u64>) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match length {
        Some(length) => {
            let bar = ProgressBar::new(length);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} seeds {per_sec} eta {eta} {msg}",
                )
                .expect("valid template"),
            );
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        }
    }
}

fn trace_command(path: &str) -> String {
    format!("checkpoint-harness replay {path}")
}

fn render_command(path: &str) -> String {
    let report = std::path::Path::new(path).with_extension("html");
    format!(
        "checkpoint-harness render {path} --format html -o {}",
        report.display()
    )
}

// ---------------------------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------------------------

fn run_check(
    spec: Spec,
    extra: BugSet,
    options: CheckOptions,
    out_dir: &str,
    format: Format,
) -> Result<ExitCode, InputError> {
    let spec = Arc::new(spec);
    let bar = spinner(format == Format::Text, None);
    let summary = check::check(spec.clone(), options, &mut |p| {
        bar.set_message(format!(
            "states {}  unique {}  depth {}  {:.0} states/s",
            p.total,
            p.unique,
            p.depth,
            p.total as f64 / p.elapsed.as_secs_f64().max(1e-9)
        ));
    });
    bar.finish_and_clear();
    let saved = match &summary.counterexample {
        Some(counterexample) => {
            let mut trace = Trace::new(
                &spec,
                extra,
                Origin::Check {
                    strategy: format!(
                        "{}{}",
                        if summary.strategy == Strategy::Dfs {
                            "dfs"
                        } else {
                            "bfs"
                        },
                        if counterexample.shortest {
                            ", shortest by bfs"
                        } else {
                            ""
                        }
                    ),
                },
                counterexample.actions.clone(),
                Expected::Violation {
                    invariant: counterexample.invariant.to_string(),
                },
            );
            trace.note = counterexample.detail.clone();
            let path = format!(
                "{out_dir}/check-{}-{}.json",
                spec.name, counterexample.invariant
            );
            trace.save(&path)?;
            Some(path)
        }
        None => None,
    };
    match format {
        Format::Text => print_check_summary(&spec, &summary, saved.as_deref()),
        Format::Json => println!("{}", check_json(&spec, &summary, saved.as_deref())),
    }
    Ok(match summary.verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Safety => "safety",
        Kind::Liveness => "liveness",
        Kind::Sometimes => "sometimes",
    }
}

fn status_name(status: &Status) -> &'static str {
    match status {
        Status::Held => "held",
        Status::Violated => "VIOLATED",
        Status::Reached => "reached",
        Status::NotReached => "NOT REACHED",
        Status::Unknown => "unknown",
    }
}

fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass => {
            "PASS (exhaustive: every property held, every non-vacuity property reached)".into()
        }
        Verdict::Violated { invariant } => format!("FAIL: {invariant} violated"),
        Verdict::Vacuous { unreached } => format!(
            "FAIL (vacuous): exhaustive, but never reached: {}",
            unreached.join(", ")
        ),
        Verdict::Partial { bound } => format!(
            "PARTIAL: stopped by {} before the exploration was exhaustive; no verdict",
            match bound {
                check::Bound::MaxStates => "--max-states",
                check::Bound::MaxDepth => "--max-depth",
                check::Bound::TimeLimit => "--time-limit",
            }
        ),
    }
}

fn print_check_summary(spec: &Spec, summary: &Summary, saved: Option<&str>) {
    println!(
        "model {} ({}): {} search, {} thread{}, symmetry {}",
        spec.name,
        spec.file,
        if summary.strategy == Strategy::Dfs {
            "depth-first"
        } else {
            "breadth-first"
        },
        summary.threads,
        if summary.threads == 1 { "" } else { "s" },
        if summary.symmetry {
            "on"
        } else {
            "off (no interchangeable subtasks)"
        }
    );
    if !spec.bugs.is_empty() {
        let bugs: Vec<&str> = spec.bugs.iter().map(|b| b.name()).collect();
        println!("injected bugs: {}", bugs.join(", "));
    }
    println!(
        "{} unique states ({} total), max depth {}, {:.1} s, {:.0} states/s",
        summary.unique_states,
        summary.total_states,
        summary.max_depth,
        summary.elapsed.as_secs_f64(),
        summary.states_per_second()
    );
    println!("properties:");
    for p in &summary.properties {
        println!(
            "  {:<12} {:<10} {}",
            status_name(&p.status),
            kind_name(p.kind),
            p.name
        );
    }
    println!(
        "  {:<12} {:<10} {}",
        "(sim only)",
        "liveness",
        sim::HEALED_RUN_FINISHES
    );
    println!("verdict: {}", verdict_text(&summary.verdict));
    if let Some(c) = &summary.counterexample {
        println!(
            "counterexample: {} steps{}",
            c.actions.len(),
            if c.shortest {
                format!(
                    " (shortest, by breadth-first search; depth-first found {})",
                    c.first_found_length
                )
            } else {
                String::new()
            }
        );
        println!("  {}: {}", c.invariant, c.detail);
        if let Some(path) = saved {
            println!("  trace saved: {path}");
            println!("  replay: {}", trace_command(path));
            println!("  render: {}", render_command(path));
            println!("  shrink: checkpoint-harness shrink {path} -o traces/NAME.json");
        }
    }
}

fn check_json(spec: &Spec, summary: &Summary, saved: Option<&str>) -> String {
    let properties: Vec<serde_json::Value> = summary
        .properties
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "kind": kind_name(p.kind),
                "status": status_name(&p.status).to_lowercase(),
            })
        })
        .collect();
    let verdict = match &summary.verdict {
        Verdict::Pass => "pass",
        Verdict::Violated { .. } => "violated",
        Verdict::Vacuous { .. } => "vacuous",
        Verdict::Partial { .. } => "partial",
    };
    serde_json::json!({
        "model": spec.name,
        "model_file": spec.file,
        "bugs": spec.bugs.iter().map(|b| b.name()).collect::<Vec<_>>(),
        "strategy": if summary.strategy == Strategy::Dfs { "dfs" } else { "bfs" },
        "threads": summary.threads,
        "symmetry": summary.symmetry,
        "unique_states": summary.unique_states,
        "total_states": summary.total_states,
        "max_depth": summary.max_depth,
        "seconds": summary.elapsed.as_secs_f64(),
        "states_per_second": summary.states_per_second(),
        "verdict": verdict,
        "verdict_text": verdict_text(&summary.verdict),
        "properties": properties,
        "counterexample": summary.counterexample.as_ref().map(|c| serde_json::json!({
            "invariant": c.invariant,
            "detail": c.detail,
            "length": c.actions.len(),
            "shortest": c.shortest,
            "trace": saved,
            "replay": saved.map(trace_command),
            "render": saved.map(render_command),
        })),
    })
    .to_string()
}

// ---------------------------------------------------------------------------------------------
// sim
// ---------------------------------------------------------------------------------------------

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
    let seeds_in_shard = request.shard.seeds(request.range.clone()).count() as u64;
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
            spec.name,
            match request.kind {
                SchedulerKind::Random => "random".to_string(),
                SchedulerKind::Pct { depth } => format!("pct{depth}"),
            }
        );
        trace.save(&path)?;
        saved = Some((path, *seed));
    }
    match request.format {
        Format::Text => match (&report.failure, &saved) {
            (Some((seed, run)), Some((path, _))) => {
                let Outcome::Violation { violation, step } = &run.outcome else {
                    unreachable!("failures are violations")
                };
                println!(
                    "FAIL {} seed {seed} at step {step}: {}",
                    spec.name, violation.invariant
                );
                println!("  {}", violation.detail);
                println!("  configuration: {}", run.config.describe());
                println!("  trace saved: {path} ({} actions)", run.actions.len());
                println!("  replay: {}", trace_command(path));
                println!("  render: {}", render_command(path));
                println!(
                        "  rerun:  checkpoint-harness sim {} --seed {seed}{scheduler_args}{steps_arg}{bug_args}",
                        request.model
                    );
                println!("  shrink: checkpoint-harness shrink {path} -o traces/NAME.json");
            }
            _ => {
                if single {
                    let seed = request
                        .shard
                        .seeds(request.range.clone())
                        .next()
                        .unwrap_or(0);
                    let config = Scheduler::new(spec, seed, request.kind).config;
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
                    "replay": saved.as_ref().map(|(p, _)| trace_command(p)),
                    "render": saved.as_ref().map(|(p, _)| render_command(p)),
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
    Ok(if report.failure.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

// ---------------------------------------------------------------------------------------------
// replay and shrink
// ---------------------------------------------------------------------------------------------

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
                    "reproduced"
                } else {
                    "NOT REPRODUCED"
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
            })
        ),
    }
    Ok(match (&replayed.outcome, matches) {
        (_, false) => ExitCode::from(1),
        (Outcome::Violation { .. }, true) => ExitCode::from(1),
        (Outcome::Pass, true) => ExitCode::SUCCESS,
    })
}

fn run_shrink(path: &str, output: &str, force: bool) -> Result<ExitCode, InputError> {
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
    println!("saved: {output}");
    println!("replay: {}", trace_command(output));
    println!("render: {}", render_command(output));
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// bugs
// ---------------------------------------------------------------------------------------------

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
        results.push(report::run(*bug, budget));
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
        Format::Text => print!("{}", report::table(&results, budget)),
        Format::Json => println!("{}", report::json(&results, budget)),
    }
    Ok(if results.iter().all(|r| r.as_expected()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

// ---------------------------------------------------------------------------------------------
// render
// ---------------------------------------------------------------------------------------------

fn run_render(
    path: &str,
    format: RenderFormat,
    output: Option<&str>,
) -> Result<ExitCode, InputError> {
    let trace = Trace::load(path)?;
    let spec = trace.spec(path)?;
    let oracle = Oracle::new(&spec);
    let replayed = trace::replay(&spec, &oracle, &trace, path)?;
    let text = match format {
        RenderFormat::Text => render::render_text(&spec, &replayed),
        RenderFormat::Mermaid => render::render_mermaid(&spec, &replayed),
        RenderFormat::Html => {
            // For output-level violations, show which records are missing or duplicated.
            let output_level = matches!(
                replayed.outcome.invariant(),
                Some(
                    "end-to-end-exactly-once"
                        | "restored-state-exactly-once"
                        | "healed-run-finishes"
                )
            );
            let evidence = output_level.then(|| {
                checkpoint_harness::invariants::output_evidence(&spec, &oracle, &replayed.world)
            });
            checkpoint_harness::html::report(&spec, &trace, &replayed, evidence.as_ref())
        }
    };
    match output {
        Some(file) => {
            trace::write_atomically(file, &text)?;
            println!("wrote {file}");
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
