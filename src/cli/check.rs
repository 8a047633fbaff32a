//! `check`: exhaustively explore a model with the model checker, save a counterexample as a
//! trace, and print the summary with every property's status and the verdict (text or JSON).
//! Exit code 0 only for an exhaustive pass; 1 for a violation, a vacuous or a partial check.
//!
//! `--shard K/N [--split-depth D]` checks one shard of the state space (see
//! `checkpoint_harness::explore::shard`): its verdict covers its part only, so a `sometimes`
//! property it does not reach is left to `merge`, and a complete shard without a violation exits
//! 0. Its JSON summary carries the shard, the frontier's fingerprint and, with a violation, the
//! whole trace, for `merge`.

use super::common::{
    file_part, load_model, parse_bytes, parse_shard, positive, render_command, shrink_command,
    spinner, trace_command, Format, InjectedBugs, OutputFormat, TraceDir,
};
use checkpoint_harness::bugs::BugSet;
use checkpoint_harness::check::{
    self, CheckOptions, Limits, ShortestSearch, Status, Strategy, Summary, Verdict,
    RACE_BFS_MAX_STATES,
};
use checkpoint_harness::error::InputError;
use checkpoint_harness::explore::hang::HangOptions;
use checkpoint_harness::explore::shard::{self, ShardSpec};
use checkpoint_harness::invariants::{Kind, Oracle};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{Expected, Origin, Trace};
use clap::ValueEnum;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Model file, or the name of an embedded model (`linear`); omit for the embedded default
    /// model.
    model: Option<String>,
    /// Force one search strategy: dfs (fast, lean) or bfs (shortest paths, much more memory).
    /// Default: a breadth-first search bounded at 3,000,000 states, then (unless it decided)
    /// depth-first, each on every thread.
    #[arg(long, value_enum)]
    strategy: Option<StrategyArg>,
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
    /// Stop when the process uses this much memory (`4G`, `512M`; the result is then partial).
    /// Default: half of the machine's memory.
    #[arg(long)]
    max_memory: Option<String>,
    /// Turn symmetry reduction on (off by default: on the models where it applies it was
    /// measured slower per state than the states it saves).
    #[arg(long)]
    symmetry: bool,
    /// Keep the first counterexample found instead of searching for the shortest.
    #[arg(long)]
    no_shortest: bool,
    /// Explore every enabled action in every state (turn partial-order reduction off).
    #[arg(long)]
    no_reduction: bool,
    /// Do not check `healed-run-finishes` (hangs with timers still armed; see
    /// src/explore/hang.rs).
    #[arg(long)]
    no_hangs: bool,
    /// Run the healed continuation of `healed-run-finishes` from one state in K (by stable
    /// hash) besides every quiescent state with armed timers (0: quiescent states only).
    #[arg(long, default_value_t = checkpoint_harness::explore::hang::SAMPLE_DEFAULT)]
    hang_sample: u64,
    /// Check shard K of N (0-based: K in 0..N) of the state space, for CI matrices and batch
    /// arrays; `merge` combines the shards' `--format json` summaries into one verdict.
    #[arg(long)]
    shard: Option<String>,
    /// With `--shard`: the depth whose states are split among the shards (every shard checks the
    /// states above it).
    #[arg(long)]
    split_depth: Option<usize>,
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
            None => Strategy::Race,
            Some(StrategyArg::Dfs) => Strategy::Dfs,
            Some(StrategyArg::Bfs) => Strategy::Bfs,
        },
        threads: positive("--threads", args.threads)?,
        max_states: args
            .max_states
            .map(|n| positive("--max-states", n))
            .transpose()?,
        max_depth: args
            .max_depth
            .map(|n| positive("--max-depth", n))
            .transpose()?,
        time_limit: args
            .time_limit
            .map(|n| positive("--time-limit", n).map(Duration::from_secs))
            .transpose()?,
        symmetry: args.symmetry,
        shortest: !args.no_shortest,
        reduction: check::REDUCTION_DEFAULT && !args.no_reduction,
    };
    let limits = Limits {
        max_memory: match &args.max_memory {
            Some(text) => Some(parse_bytes("--max-memory", text)?),
            None => check::default_max_memory(),
        },
    };
    let shard = match (&args.shard, args.split_depth) {
        (Some(text), depth) => {
            let parsed = parse_shard(text)?;
            Some(ShardSpec {
                index: parsed.index,
                count: parsed.count,
                split_depth: positive(
                    "--split-depth",
                    depth.unwrap_or(shard::DEFAULT_SPLIT_DEPTH),
                )?,
            })
        }
        (None, Some(_)) => {
            return Err(InputError::new(
                "command line",
                "--split-depth",
                "needs --shard K/N",
            ))
        }
        (None, None) => None,
    };
    let hangs = HangOptions {
        enabled: !args.no_hangs,
        sample: args.hang_sample,
    };
    let out_dir = args.traces.resolve()?;
    run_check(
        spec,
        extra,
        (options, limits, hangs),
        shard,
        &out_dir,
        args.output.format,
    )
}

fn run_check(
    spec: Spec,
    extra: BugSet,
    (options, limits, hangs): (CheckOptions, Limits, HangOptions),
    shard: Option<ShardSpec>,
    out_dir: &str,
    format: Format,
) -> Result<ExitCode, InputError> {
    let spec = Arc::new(spec);
    let bar = spinner(format == Format::Text, None);
    let oracle = Oracle::new(&spec);
    let mut show = |p: check::Progress| {
        bar.set_message(format!(
            "states {}  unique {}  depth {}  {:.0} states/s",
            p.total,
            p.unique,
            p.depth,
            p.total as f64 / p.elapsed.as_secs_f64().max(1e-9)
        ));
    };
    let summary = check::check_with_hangs(
        spec.clone(),
        oracle,
        options,
        limits,
        hangs,
        shard,
        &mut show,
    );
    bar.finish_and_clear();
    let mut trace_json = None;
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
            // A hang's healed continuation is replayed by the healed rules, as in a simulator
            // trace.
            trace.healed_at = counterexample.healed_at;
            let part = summary.shard.map_or(String::new(), |s| {
                format!("-shard-{}-of-{}", s.spec.index, s.spec.count)
            });
            let path = format!(
                "{out_dir}/check-{}-{}{part}.json",
                file_part(&spec.name),
                counterexample.invariant
            );
            trace_json = Some(trace.to_json());
            // A finding is never lost: a trace that cannot be written is printed instead.
            match trace.save(&path) {
                Ok(()) => Some(Ok(path)),
                Err(error) => Some(Err((error, trace.to_json()))),
            }
        }
        None => None,
    };
    let (saved, unsaved) = match saved {
        Some(Ok(path)) => (Some(path), None),
        Some(Err(failure)) => (None, Some(failure)),
        None => (None, None),
    };
    let not_saved = unsaved.as_ref().map(|(error, _)| error.to_string());
    match format {
        Format::Text => {
            print_check_summary(&spec, &summary, saved.as_deref(), not_saved.as_deref())
        }
        Format::Json => println!(
            "{}",
            check_json(
                &spec,
                &summary,
                saved.as_deref(),
                not_saved.as_deref(),
                trace_json.as_deref()
            )
        ),
    }
    if let Some((error, json)) = &unsaved {
        eprintln!("error: the counterexample could not be saved: {error}");
        eprintln!("the trace follows (save it to a .json file to replay, render or shrink it):");
        eprint!("{json}");
    }
    Ok(match summary.verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        // A shard's unreached `sometimes` properties are judged by `merge`, over every shard.
        Verdict::Vacuous { .. } if summary.shard.is_some() => ExitCode::SUCCESS,
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
                check::Bound::MaxStates => "--max-states".to_string(),
                check::Bound::MaxDepth => "--max-depth".to_string(),
                check::Bound::TimeLimit => "--time-limit".to_string(),
                check::Bound::MaxMemory => "the memory bound (--max-memory)".to_string(),
                check::Bound::StateSize => format!(
                    "a state that outgrew {} queued events, RPCs and pending checkpoints",
                    check::MAX_STATE_SIZE
                ),
            }
        ),
    }
}

/// The verdict line: a shard's covers its part only.
fn summary_verdict_text(summary: &Summary) -> String {
    match (&summary.shard, &summary.verdict) {
        (Some(_), Verdict::Pass) => {
            "PASS for this shard (its part is exhaustive: every property held, every non-vacuity property reached); `merge` combines the shards".into()
        }
        (Some(_), Verdict::Vacuous { unreached }) => format!(
            "COMPLETE for this shard (its part is exhaustive, no violation; not reached in it: {}); `merge` judges non-vacuity over every shard",
            unreached.join(", ")
        ),
        (_, verdict) => verdict_text(verdict),
    }
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// Why the counterexample may not be the shortest, if it may not.
fn not_shortest_note(search: ShortestSearch) -> Option<String> {
    match search {
        ShortestSearch::Capped(bound) => Some(format!(
            "the breadth-first search for a shorter one stopped at {} before it finished: this counterexample may not be the shortest",
            match bound {
                check::Bound::MaxStates => format!(
                    "its state cap (--max-states, default {})",
                    check::SHORTEST_MAX_STATES
                ),
                check::Bound::TimeLimit => format!(
                    "its time limit (--time-limit, default {} s)",
                    check::SHORTEST_TIME_LIMIT.as_secs()
                ),
                check::Bound::MaxMemory => "the memory bound (--max-memory)".to_string(),
                check::Bound::MaxDepth => "its depth bound".to_string(),
                check::Bound::StateSize => "a state that outgrew the state-size cap".to_string(),
            }
        )),
        ShortestSearch::Off | ShortestSearch::Done => None,
    }
}

fn print_check_summary(
    spec: &Spec,
    summary: &Summary,
    saved: Option<&str>,
    not_saved: Option<&str>,
) {
    let strategy = if summary.strategy == Strategy::Dfs {
        "depth-first"
    } else {
        "breadth-first"
    };
    println!(
        "model {} ({}): {}, {} thread{}, symmetry {}",
        spec.name,
        spec.file,
        if summary.race && summary.strategy == Strategy::Bfs {
            format!(
                "breadth-first search (bounded at {RACE_BFS_MAX_STATES} states, then depth-first; breadth-first decided; --strategy forces one)"
            )
        } else if summary.race {
            format!(
                "breadth-first search up to {RACE_BFS_MAX_STATES} states, then depth-first search (which decided; --strategy forces one)"
            )
        } else {
            format!("{strategy} search")
        },
        summary.threads,
        if summary.threads == 1 { "" } else { "s" },
        if summary.symmetry {
            "on"
        } else if checkpoint_harness::symmetry::applies(spec) {
            "off (the default: measured to cost more per state than it saves; --symmetry turns it on)"
        } else {
            "off (no interchangeable subtasks)"
        }
    );
    println!(
        "partial-order reduction {}",
        if summary.reduction {
            "on (--no-reduction turns it off)"
        } else if checkpoint_harness::explore::reduction::Reduction::new(spec).applies() {
            "off (--no-reduction)"
        } else {
            "off (it never applies to this model: see src/explore/reduction.rs)"
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
    if let Some(peak) = summary.peak_memory {
        println!(
            "memory: peak {}{}",
            mebibytes(peak),
            summary
                .max_memory
                .map_or(String::new(), |max| format!(" (bound {})", mebibytes(max)))
        );
    }
    println!("properties:");
    for p in &summary.properties {
        println!(
            "  {:<12} {:<10} {}",
            status_name(&p.status),
            kind_name(p.kind),
            p.name
        );
    }
    if let Some(report) = &summary.shard {
        println!(
            "shard {}/{} at split depth {}: {} of {} frontier states (fingerprint {:016x}), {} states above the split checked",
            report.spec.index,
            report.spec.count,
            report.spec.split_depth,
            report.assigned_states,
            report.frontier_states,
            report.fingerprint,
            report.prefix_states
        );
    }
    println!("verdict: {}", summary_verdict_text(summary));
    if matches!(summary.verdict, Verdict::Partial { .. }) && summary.shard.is_none() {
        if let Some(small) = &spec.small {
            println!(
                "this model declares a small instance that completes ({}): {} check {}@small",
                small.summary(),
                super::common::program(),
                spec.file
            );
        }
    }
    if let Some(c) = &summary.counterexample {
        println!(
            "counterexample: {} steps{}{}",
            c.actions.len(),
            match c.healed_at {
                Some(at) => format!(
                    " ({at} to a state that hangs, then the healed continuation that does not finish)"
                ),
                None => String::new(),
            },
            if c.shortest && c.healed_at.is_some() {
                " (that path the shortest, by breadth-first search)".to_string()
            } else if c.shortest {
                format!(
                    " (shortest, by breadth-first search; the search found {})",
                    c.first_found_length
                )
            } else {
                String::new()
            }
        );
        if let Some(note) = not_shortest_note(c.shortest_search) {
            println!("  note: {note}");
        }
        println!("  {}: {}", c.invariant, c.detail);
        if let Some(path) = saved {
            println!("  trace saved: {path}");
            println!("  replay: {}", trace_command(path));
            println!("  render: {}", render_command(path));
            println!("  shrink: {}", shrink_command(path));
        }
        if let Some(error) = not_saved {
            println!("  trace NOT saved: {error}");
            println!(
                "  the trace ({} actions) is printed on standard error: save it to a file to replay it",
                c.actions.len()
            );
        }
    }
}

fn check_json(
    spec: &Spec,
    summary: &Summary,
    saved: Option<&str>,
    not_saved: Option<&str>,
    trace_json: Option<&str>,
) -> String {
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
        // A shard: exhaustive for its part, non-vacuity left to `merge`.
        Verdict::Vacuous { .. } if summary.shard.is_some() => "complete",
        Verdict::Vacuous { .. } => "vacuous",
        Verdict::Partial { .. } => "partial",
    };
    let mut json = serde_json::json!({
        "model": spec.name,
        "model_file": spec.file,
        "bugs": spec.bugs.iter().map(|b| b.name()).collect::<Vec<_>>(),
        "strategy": if summary.strategy == Strategy::Dfs { "dfs" } else { "bfs" },
        "race": summary.race,
        "threads": summary.threads,
        "symmetry": summary.symmetry,
        "reduction": summary.reduction,
        "unique_states": summary.unique_states,
        "total_states": summary.total_states,
        "max_depth": summary.max_depth,
        "seconds": summary.elapsed.as_secs_f64(),
        "states_per_second": summary.states_per_second(),
        "peak_memory_bytes": summary.peak_memory,
        "max_memory_bytes": summary.max_memory,
        "verdict": verdict,
        "verdict_text": verdict_text(&summary.verdict),
        "properties": properties,
        "counterexample": summary.counterexample.as_ref().map(|c| serde_json::json!({
            "invariant": c.invariant,
            "detail": c.detail,
            "length": c.actions.len(),
            "shortest": c.shortest,
            "may_not_be_shortest": not_shortest_note(c.shortest_search),
            "trace": saved,
            "trace_error": not_saved,
            "replay": saved.map(trace_command),
            "render": saved.map(render_command),
        })),
    });
    if let Some(report) = &summary.shard {
        json["shard"] = serde_json::json!({
            "index": report.spec.index,
            "count": report.spec.count,
            "split_depth": report.spec.split_depth,
            "prefix_states": report.prefix_states,
            "frontier_states": report.frontier_states,
            "assigned_states": report.assigned_states,
            "fingerprint": format!("{:016x}", report.fingerprint),
        });
        json["verdict_text"] = serde_json::json!(summary_verdict_text(summary));
        // The whole trace, so that `merge` can save the winning one wherever it runs.
        if let (Some(counterexample), Some(text)) = (json.get_mut("counterexample"), trace_json) {
            if let Ok(trace) = serde_json::from_str::<serde_json::Value>(text) {
                counterexample["trace_json"] = trace;
            }
        }
    }
    json.to_string()
}
