//! Partial-order reduction, reported as numbers (never asserted): for every embedded model and
//! every small instance (`MODEL@small`), the unique and total states, the time and the verdict
//! of a depth-first check on two threads with and without reduction, side by side. Run with
//! `cargo bench --bench reduction`; `-- --quick` gives each search 10 s instead of 180 s,
//! `-- --seconds N` gives it N, and any other argument selects models by name (`cargo bench
//! --bench reduction -- keyed-join-2pc linear@small`). The ratio of unique states is printed
//! only where both searches completed.

use checkpoint_harness::check::{self, CheckOptions, Limits, Strategy, Summary, Verdict};
use checkpoint_harness::explore::reduction::Reduction;
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::spec::Spec;
use std::sync::Arc;
use std::time::Duration;

fn verdict(summary: &Summary) -> String {
    match &summary.verdict {
        Verdict::Pass => "pass".into(),
        Verdict::Violated { invariant } => format!("violated {invariant}"),
        Verdict::Vacuous { unreached } => format!("vacuous ({})", unreached.join(", ")),
        Verdict::Partial { bound } => format!("partial ({bound:?})"),
    }
}

fn search(spec: &Spec, reduce: bool, limit: Duration) -> Summary {
    let options = CheckOptions {
        // Depth-first, as the README's table says (the counts of a complete search do not depend
        // on the strategy; its times do).
        strategy: Strategy::Dfs,
        threads: 2,
        time_limit: Some(limit),
        shortest: false,
        reduction: reduce,
        ..CheckOptions::default()
    };
    check::check_with(
        Arc::new(spec.clone()),
        Oracle::new(spec),
        options,
        Limits::default(),
        &mut |_| {},
    )
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let quick = args.iter().any(|a| a == "--quick");
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|at| args.get(at + 1))
        .map(|n| n.parse::<u64>().expect("--seconds takes a whole number"));
    let names: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(at, a)| !a.starts_with("--") && (*at == 0 || args[at - 1] != "--seconds"))
        .map(|(_, a)| a)
        .collect();
    let limit = Duration::from_secs(seconds.unwrap_or(if quick { 10 } else { 180 }));
    let mut models = Spec::all_embedded();
    // The default model first.
    models.sort_by_key(|s| s.name != Spec::default_model().name);
    // Each model followed by its small instance, if it declares one.
    let specs: Vec<Spec> = models
        .into_iter()
        .flat_map(|spec| {
            let small = spec.small_instance();
            std::iter::once(spec).chain(small)
        })
        .collect();
    println!("partial-order reduction (depth-first, 2 threads, time limit {limit:?} per search)");
    println!(
        "{:<26} {:>9} {:>12} {:>12} {:>8} {:>8}  verdict",
        "model", "reduction", "unique", "total", "seconds", "ratio"
    );
    for spec in specs {
        if !names.is_empty() && !names.iter().any(|n| **n == spec.name) {
            continue;
        }
        if !Reduction::new(&spec).applies() {
            let full = search(&spec, false, limit);
            println!(
                "{:<26} {:>9} {:>12} {:>12} {:>8.1} {:>8}  {} (reduction never applies)",
                spec.name,
                "n/a",
                full.unique_states,
                full.total_states,
                full.elapsed.as_secs_f64(),
                "",
                verdict(&full)
            );
            continue;
        }
        let full = search(&spec, false, limit);
        let reduced = search(&spec, true, limit);
        for (label, summary) in [("off", &full), ("on", &reduced)] {
            let complete = |s: &Summary| !matches!(s.verdict, Verdict::Partial { .. });
            // A ratio only between two complete searches (a time limit cuts both anywhere).
            let ratio = if label == "on" && complete(&full) && complete(&reduced) {
                format!(
                    "{:.1}x",
                    full.unique_states as f64 / reduced.unique_states.max(1) as f64
                )
            } else {
                String::new()
            };
            println!(
                "{:<26} {:>9} {:>12} {:>12} {:>8.1} {:>8}  {}",
                spec.name,
                label,
                summary.unique_states,
                summary.total_states,
                summary.elapsed.as_secs_f64(),
                ratio,
                verdict(summary)
            );
        }
    }
}
