//! `check`: exhaustively explore a model with the model checker, save a counterexample as a
//! trace, and print the summary with every property's status and the verdict (text or JSON).
//! Exit code 0 only for an exhaustive pass; 1 for a violation, a vacuous or a partial check.

use super::common::{
    load_model, positive, render_command, spinner, trace_command, Format, InjectedBugs,
    OutputFormat, TraceDir,
};
use checkpoint_harness::bugs::BugSet;
use checkpoint_harness::check::{self, CheckOptions, Status, Strategy, Summary, Verdict};
use checkpoint_harness::error::InputError;
use checkpoint_harness::invariants::Kind;
use checkpoint_harness::sim;
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{Expected, Origin, Trace};
use clap::ValueEnum;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
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
    #[command(flatten)]
    injected: InjectedBugs,
    #[command(flatten)]
    traces: TraceDir,
    #[command(flatten)]
    output: OutputFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StrategyArg {
    Dfs,
    Bfs,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    let (spec, extra) = load_model(args.model.as_deref(), &args.injected.bugs)?;
    let options = CheckOptions {
        strategy: match args.strategy {
            StrategyArg::Dfs => Strategy::Dfs,
            StrategyArg::Bfs => Strategy::Bfs,
        },
        threads: positive("--threads", args.threads)?,
        max_states: args.max_states,
        max_depth: args.max_depth,
        time_limit: args.time_limit.map(Duration::from_secs),
        symmetry: !args.no_symmetry,
        shortest: !args.no_shortest,
    };
    run_check(
        spec,
        extra,
        options,
        &args.traces.out_dir,
        args.output.format,
    )
}

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
