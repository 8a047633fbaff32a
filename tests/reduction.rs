//! Partial-order reduction, measured rather than assumed: on models small enough to search both
//! ways to completion, the reduced and the unreduced search give the same verdict and the same
//! status for every property (safety, quiescence liveness and non-vacuity alike); over the bug
//! catalogue both catch the same bugs; and a counterexample from a reduced search replays to the
//! same violation.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::check::{self, CheckOptions, Limits, Status, Strategy, Summary, Verdict};
use checkpoint_harness::explore::reduction::Reduction;
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{self, Expected, Origin, Trace};
use std::sync::Arc;
use std::time::Duration;

fn run(spec: &Arc<Spec>, options: CheckOptions, reduce: bool) -> Summary {
    let options = CheckOptions {
        reduction: reduce,
        ..options
    };
    check::check_with(
        spec.clone(),
        Oracle::new(spec),
        options,
        Limits::default(),
        &mut |_| {},
    )
}

fn statuses(summary: &Summary) -> Vec<(&'static str, Status)> {
    summary
        .properties
        .iter()
        .map(|p| (p.name, p.status.clone()))
        .collect()
}

/// The default model with one record per source (the unreduced search of two takes minutes).
fn default_one_record() -> String {
    Spec::default_model()
        .text
        .replace("records = 2", "records = 1")
}

/// The default model (one record per source) with its one crash removed: everything but the
/// crash and the restore.
fn default_without_crash() -> Spec {
    let text = default_one_record().replace("task_crashes = 1", "task_crashes = 0");
    Spec::parse("keyed-join-2pc-no-crash", &text).expect("valid")
}

/// The default model (one record per source) with a horizon before its periodic trigger: only
/// the end-of-data checkpoint, and the crash (a vacuous pass: two checkpoints are never in
/// flight).
fn default_without_periodic() -> Spec {
    let text = default_one_record().replace("\ntime = 10", "\ntime = 5");
    Spec::parse("keyed-join-2pc-short", &text).expect("valid")
}

/// Two lanes broadcast from one source, with a crash (symmetry applies here).
const SMALL_BROADCAST: &str = r#"
name = "broadcast-small"
description = "broadcast into two interchangeable lanes"
[[operators]]
name = "source"
kind = "source"
records = 1
[[operators]]
name = "map"
kind = "map"
parallelism = 2
[[operators]]
name = "sink"
kind = "two-phase-commit-sink"
parallelism = 2
[[edges]]
from = "source"
to = "map"
partitioning = "broadcast"
[[edges]]
from = "map"
to = "sink"
[checkpointing]
interval = 10
timeout = 40
tolerable_failures = "unlimited"
[faults]
task_crashes = 1
[network]
rpc_order = "per-pair-fifo"
[bounds]
time = 10
"#;

fn small_models() -> Vec<Spec> {
    let broadcast = Spec::parse("broadcast-small", SMALL_BROADCAST).expect("valid");
    let without_crash = broadcast
        .text
        .replace("task_crashes = 1", "task_crashes = 0");
    let short = broadcast.text.replace("\ntime = 10", "\ntime = 5");
    vec![
        default_without_crash(),
        default_without_periodic(),
        Spec::parse("broadcast-small-no-crash", &without_crash).expect("valid"),
        Spec::parse("broadcast-small-short", &short).expect("valid"),
    ]
}

#[test]
fn reduced_and_unreduced_searches_agree_on_every_property_of_small_models() {
    for spec in small_models() {
        assert!(Reduction::new(&spec).applies(), "{}", spec.name);
        let spec = Arc::new(spec);
        let symmetric = checkpoint_harness::symmetry::applies(&spec);
        for symmetry in [false, true].into_iter().filter(|s| !s || symmetric) {
            let options = CheckOptions {
                symmetry,
                shortest: false,
                ..CheckOptions::default()
            };
            let reduced = run(&spec, options, true);
            let full = run(&spec, options, false);
            assert!(reduced.reduction && !full.reduction);
            assert!(
                !matches!(full.verdict, Verdict::Partial { .. }),
                "{}",
                spec.name
            );
            assert_eq!(reduced.verdict, full.verdict, "{}", spec.name);
            assert_eq!(statuses(&reduced), statuses(&full), "{}", spec.name);
            assert!(
                reduced.unique_states < full.unique_states,
                "{} (symmetry {symmetry}): {} reduced vs {} unreduced",
                spec.name,
                reduced.unique_states,
                full.unique_states
            );
        }
    }
}

#[test]
fn the_reduced_graph_is_the_same_on_every_run_and_thread_count() {
    let spec = Arc::new(default_without_crash());
    let counts: Vec<usize> = [1, 2, 2]
        .iter()
        .map(|&threads| {
            let options = CheckOptions {
                threads,
                shortest: false,
                ..CheckOptions::default()
            };
            run(&spec, options, true).unique_states
        })
        .collect();
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
}

/// Both searches of a buggy model, the way `bugs --report` runs the checker (one thread, the
/// bug's strategy and state budget), but without the shortening search.
/// The model a bug's check plan runs on: its showcase, or the showcase's small instance; for
/// the default model, its one-record version (the unreduced search of two records per source
/// spends the plan's whole budget on interleavings before it meets some bugs).
fn planned_model(bug: Bug) -> Spec {
    let showcase = bug.showcase();
    if showcase.model == Spec::default_model().name {
        return Spec::parse("keyed-join-2pc-one-record", &default_one_record()).expect("valid");
    }
    let spec = Spec::embedded(showcase.model).expect("embedded");
    match showcase.check {
        Ok(plan) if plan.small_instance => spec.small_instance().expect("a small instance"),
        _ => spec,
    }
}

/// Both searches of `bug`'s showcase, each bounded by `max_states` and, as a guard against a
/// runaway search only, by `seconds` (a loaded machine must not turn a state-bounded search
/// into a miss: the whole-budget retry gets enough time for its states on one thread).
fn both_ways(
    bug: Bug,
    max_states: usize,
    breadth_first: bool,
    seconds: u64,
) -> (Arc<Spec>, Summary, Summary) {
    let spec = Arc::new(planned_model(bug).with_bugs(BugSet::of(&[bug])));
    let options = CheckOptions {
        strategy: if breadth_first {
            Strategy::Bfs
        } else {
            Strategy::Dfs
        },
        threads: 1,
        max_states: Some(max_states),
        max_depth: None,
        time_limit: Some(Duration::from_secs(seconds)),
        symmetry: true,
        shortest: false,
        reduction: check::REDUCTION_DEFAULT,
    };
    let reduced = run(&spec, options, true);
    let full = run(&spec, options, false);
    (spec, reduced, full)
}

#[test]
fn reduced_and_unreduced_searches_catch_the_same_catalogued_bugs() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for bug in Bug::ALL {
        let showcase = bug.showcase();
        let Ok(plan) = showcase.check else {
            continue;
        };
        let spec = planned_model(*bug);
        if !Reduction::new(&spec).applies() {
            continue; // Both searches are the same search.
        }
        compared += 1;
        // A small budget first keeps the test short; a search that needs more gets the bug's
        // whole budget (the unreduced one, typically: it spends states on interleavings).
        let (spec, mut reduced, mut full) =
            both_ways(*bug, plan.max_states.min(300_000), plan.breadth_first, 20);
        let caught = |s: &Summary| match &s.verdict {
            Verdict::Violated { invariant } => Some(*invariant),
            _ => None,
        };
        if caught(&reduced).is_none() || caught(&full).is_none() {
            (_, reduced, full) = both_ways(*bug, plan.max_states, plan.breadth_first, 180);
        }
        match (caught(&reduced), caught(&full)) {
            (Some(a), Some(b)) if showcase.accepts(a) && showcase.accepts(b) => {}
            (a, b) => {
                failures.push(format!(
                    "{bug}: reduced {a:?} ({} states), unreduced {b:?} ({} states)",
                    reduced.total_states, full.total_states
                ));
                continue;
            }
        }
        // The reduced counterexample is a real run: it replays to the violation it names.
        let counterexample = reduced.counterexample.expect("counterexample");
        let mut trace = Trace::new(
            &spec,
            BugSet::of(&[*bug]),
            Origin::Check {
                strategy: "dfs, reduced".into(),
            },
            counterexample.actions.clone(),
            Expected::Violation {
                invariant: counterexample.invariant.to_string(),
            },
        );
        // A hang's counterexample replays its healed continuation from where it starts.
        trace.healed_at = counterexample.healed_at;
        let replayed = trace::replay(&spec, &Oracle::new(&spec), &trace, "reduced")
            .unwrap_or_else(|e| panic!("{bug}: {e:?}"));
        if replayed.outcome.invariant() != Some(counterexample.invariant) {
            failures.push(format!(
                "{bug}: the reduced counterexample replays to {:?}, not {}",
                replayed.outcome.invariant(),
                counterexample.invariant
            ));
        }
    }
    assert!(compared >= 5, "only {compared} bugs compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn on_tiny_models_every_catalogued_bug_is_caught_by_both_searches_or_by_neither() {
    let mut failures = Vec::new();
    let broadcast = Spec::parse("broadcast-small", SMALL_BROADCAST).expect("valid");
    let short = broadcast.text.replace("\ntime = 10", "\ntime = 5");
    let tiny = [
        default_without_periodic(),
        Spec::parse("broadcast-small-short", &short).expect("valid"),
    ];
    let mut caught = 0;
    for base in &tiny {
        for bug in Bug::ALL {
            let spec = Arc::new(base.clone().with_bugs(BugSet::of(&[*bug])));
            let options = CheckOptions {
                threads: 1,
                shortest: false,
                ..CheckOptions::default()
            };
            let reduced = run(&spec, options, true);
            let full = run(&spec, options, false);
            let violated = |s: &Summary| matches!(s.verdict, Verdict::Violated { .. });
            let partial = |s: &Summary| matches!(s.verdict, Verdict::Partial { .. });
            if partial(&reduced) || partial(&full) {
                failures.push(format!("{} {bug}: a search did not complete", base.name));
            } else if violated(&reduced) != violated(&full) {
                failures.push(format!(
                    "{} {bug}: reduced {:?}, unreduced {:?}",
                    base.name, reduced.verdict, full.verdict
                ));
            } else if !violated(&full) && statuses(&reduced) != statuses(&full) {
                failures.push(format!(
                    "{} {bug}: property statuses differ: {:?} / {:?}",
                    base.name,
                    statuses(&reduced),
                    statuses(&full)
                ));
            }
            caught += usize::from(violated(&full));
        }
    }
    eprintln!(
        "{caught} of {} bug runs violate a property, each in both searches",
        tiny.len() * Bug::ALL.len()
    );
    assert!(
        caught >= 5,
        "only {caught} bug runs violate: the test shows little"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
