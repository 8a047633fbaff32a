//! Exhaustive model checking: every model checked within CI bounds with its summary pinned,
//! the default model checked exhaustively, counterexamples that replay in the simulator, the
//! canary, symmetry reduction, and honest verdicts (a bounded run is partial, never a pass; an
//! unreached non-vacuity property fails the check).

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::check::{self, CheckOptions, Status, Strategy, Summary, Verdict};
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::scheduler::SchedulerKind;
use checkpoint_harness::sim::{self, RunBounds, Shard, Sweep};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{self, Expected, Origin, Trace};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// Deterministic bounded options: one thread (so a state bound cuts at the same place every
/// run), depth first, a budget of generated states.
fn bounded(max_states: usize) -> CheckOptions {
    CheckOptions {
        strategy: Strategy::Dfs,
        threads: 1,
        max_states: Some(max_states),
        max_depth: None,
        time_limit: Some(Duration::from_secs(300)),
        symmetry: true,
        shortest: true,
        reduction: check::REDUCTION_DEFAULT,
    }
}

fn summary_line(spec: &Spec, summary: &Summary) -> String {
    let verdict = match &summary.verdict {
        Verdict::Pass => "pass (exhaustive)".to_string(),
        Verdict::Violated { invariant } => format!("violated {invariant}"),
        Verdict::Vacuous { unreached } => format!("vacuous: {}", unreached.join(", ")),
        Verdict::Partial { .. } => "partial (state budget)".to_string(),
    };
    let reached: Vec<&str> = summary
        .properties
        .iter()
        .filter(|p| p.status == Status::Reached)
        .map(|p| p.name)
        .collect();
    format!(
        "{}: {} unique states, max depth {}, {verdict}; reached: {}",
        spec.name,
        summary.unique_states,
        summary.max_depth,
        reached.join(", ")
    )
}

#[test]
fn every_model_is_checked_within_ci_bounds() {
    let mut table = String::new();
    for spec in Spec::all_embedded() {
        let summary = check::check(Arc::new(spec.clone()), bounded(1_500_000), &mut |_| {});
        assert!(
            !matches!(
                summary.verdict,
                Verdict::Violated { .. } | Verdict::Vacuous { .. }
            ),
            "{}",
            summary_line(&spec, &summary)
        );
        let _ = writeln!(table, "{}", summary_line(&spec, &summary));
    }
    // A changed count is a reviewable sign that the semantics moved.
    insta::assert_snapshot!(table);
}

#[test]
fn the_default_model_passes_exhaustively() {
    let spec = Spec::default_model();
    let summary = check::check(Arc::new(spec.clone()), CheckOptions::default(), &mut |_| {});
    assert_eq!(
        summary.verdict,
        Verdict::Pass,
        "{}",
        summary_line(&spec, &summary)
    );
    assert!(summary
        .properties
        .iter()
        .all(|p| matches!(p.status, Status::Held | Status::Reached)));
    // The unique count of an exhaustive run does not depend on threads or traversal order.
    insta::assert_snapshot!(summary_line(&spec, &summary));
}

fn sim_failure(spec: &Spec) -> (u64, Vec<checkpoint_harness::world::Action>, &'static str) {
    let oracle = Oracle::new(spec);
    let request = Sweep {
        seeds: 0..3000,
        shard: Shard::ALL,
        scheduler: SchedulerKind::Random,
        bounds: RunBounds::of(spec),
        threads: 2,
    };
    let report = sim::sweep(spec, &oracle, &request, &|_| {});
    let (seed, run) = report
        .failure
        .expect("the simulator catches the broken variant");
    let invariant = run.outcome.invariant().expect("a violation");
    (seed, run.actions, invariant)
}

/// The canary: a broken variant is caught by `check`, with a counterexample no longer than the
/// one the simulator found, that replays (in the simulator's replay) to the same violation.
#[test]
fn canary_check_catches_a_broken_variant_with_a_short_counterexample_that_replays() {
    let bugs = BugSet::of(&[Bug::SourceSnapshotNotAtomic]);
    let spec = Spec::default_model().with_bugs(bugs);
    let (_, sim_actions, sim_invariant) = sim_failure(&spec);
    let summary = check::check(Arc::new(spec.clone()), bounded(2_000_000), &mut |_| {});
    let Verdict::Violated { invariant } = summary.verdict else {
        panic!("check must catch it: {}", summary_line(&spec, &summary));
    };
    assert_eq!(invariant, sim_invariant);
    let counterexample = summary.counterexample.expect("a counterexample");
    assert!(
        counterexample.shortest,
        "a breadth-first search shortened it"
    );
    assert!(
        counterexample.actions.len() <= sim_actions.len(),
        "check's counterexample ({}) is longer than the simulator's ({})",
        counterexample.actions.len(),
        sim_actions.len()
    );
    let trace = Trace::new(
        &spec,
        bugs,
        Origin::Check {
            strategy: "dfs".into(),
        },
        counterexample.actions.clone(),
        Expected::Violation {
            invariant: invariant.to_string(),
        },
    );
    let oracle = Oracle::new(&spec);
    let replayed = trace::replay(&spec, &oracle, &trace, "counterexample").expect("replays");
    assert_eq!(replayed.outcome.invariant(), Some(invariant));
    assert_eq!(
        replayed.steps.len(),
        counterexample.actions.len(),
        "violates at its last step"
    );
}

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
[network]
rpc_order = "per-pair-fifo"
[bounds]
time = 10
"#;

fn exhaustive(symmetry: bool, threads: usize) -> CheckOptions {
    CheckOptions {
        threads,
        symmetry,
        ..CheckOptions::default()
    }
}

#[test]
fn symmetry_reduction_keeps_verdicts_with_fewer_states_deterministically() {
    let spec = Arc::new(Spec::parse("broadcast-small", SMALL_BROADCAST).expect("valid"));
    let reduced = check::check(spec.clone(), exhaustive(true, 2), &mut |_| {});
    let full = check::check(spec.clone(), exhaustive(false, 2), &mut |_| {});
    assert!(reduced.symmetry && !full.symmetry);
    assert_eq!(reduced.verdict, Verdict::Pass);
    assert_eq!(full.verdict, Verdict::Pass);
    assert!(
        reduced.unique_states < full.unique_states,
        "{} vs {}",
        reduced.unique_states,
        full.unique_states
    );
    // Canonical representatives: the same count on every run and thread count.
    for threads in [1, 2] {
        let again = check::check(spec.clone(), exhaustive(true, threads), &mut |_| {});
        assert_eq!(
            again.unique_states, reduced.unique_states,
            "{threads} threads"
        );
    }
}

#[test]
fn symmetry_reduction_finds_the_same_violations() {
    for bug in [Bug::CommitBeforeComplete, Bug::SourceOffsetOffByOne] {
        let spec = Arc::new(
            Spec::parse("broadcast-small", SMALL_BROADCAST)
                .expect("valid")
                .with_bugs(BugSet::of(&[bug])),
        );
        let reduced = check::check(spec.clone(), exhaustive(true, 2), &mut |_| {});
        let full = check::check(spec.clone(), exhaustive(false, 2), &mut |_| {});
        let (Verdict::Violated { invariant: a }, Verdict::Violated { invariant: b }) =
            (&reduced.verdict, &full.verdict)
        else {
            panic!("{bug}: {:?} / {:?}", reduced.verdict, full.verdict);
        };
        assert_eq!(a, b, "{bug}");
        // The reduced search's counterexample is a real run of the unreduced model.
        let counterexample = reduced.counterexample.expect("counterexample");
        let trace = Trace::new(
            &spec,
            BugSet::of(&[bug]),
            Origin::Check {
                strategy: "dfs".into(),
            },
            counterexample.actions,
            Expected::Violation {
                invariant: a.to_string(),
            },
        );
        let oracle = Oracle::new(&spec);
        let replayed = trace::replay(&spec, &oracle, &trace, "symmetric").expect("replays");
        assert_eq!(replayed.outcome.invariant(), Some(*a), "{bug}");
    }
}

#[test]
fn a_bounded_run_is_partial_never_a_pass() {
    let spec = Arc::new(Spec::default_model());
    let summary = check::check(spec.clone(), bounded(20_000), &mut |_| {});
    assert!(
        matches!(summary.verdict, Verdict::Partial { .. }),
        "{:?}",
        summary.verdict
    );
    assert!(summary
        .properties
        .iter()
        .any(|p| p.status == Status::Unknown));
    let depth = CheckOptions {
        max_depth: Some(10),
        ..bounded(10_000_000)
    };
    let summary = check::check(spec, depth, &mut |_| {});
    assert!(
        matches!(summary.verdict, Verdict::Partial { .. }),
        "{:?}",
        summary.verdict
    );
}

#[test]
fn the_time_limit_stops_a_single_threaded_search() {
    // stateright ignores its own timeout with one thread; the harness's limit must still work.
    let spec = Arc::new(Spec::load("models/keyed-aggregate.toml").expect("loads"));
    let options = CheckOptions {
        threads: 1,
        time_limit: Some(Duration::from_secs(2)),
        ..CheckOptions::default()
    };
    let started = std::time::Instant::now();
    let summary = check::check(spec, options, &mut |_| {});
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        summary.verdict,
        Verdict::Partial {
            bound: check::Bound::TimeLimit
        }
    );
}

#[test]
fn an_unreached_non_vacuity_property_fails_the_check() {
    // Two checkpoints can never be in flight before the horizon: the first periodic trigger is
    // beyond it, and the end-of-data checkpoint is alone.
    let model = r#"
name = "vacuous"
description = "max_concurrent 2 but only one checkpoint can ever run"
[[operators]]
name = "source"
kind = "source"
records = 1
[[operators]]
name = "sink"
kind = "two-phase-commit-sink"
[[edges]]
from = "source"
to = "sink"
[checkpointing]
interval = 50
max_concurrent = 2
timeout = 40
[bounds]
time = 20
"#;
    let spec = Arc::new(Spec::parse("vacuous", model).expect("valid"));
    let summary = check::check(spec, exhaustive(false, 2), &mut |_| {});
    match summary.verdict {
        Verdict::Vacuous { unreached } => {
            assert!(
                unreached.contains(&"two-checkpoints-in-flight"),
                "{unreached:?}"
            )
        }
        other => panic!("expected a vacuous verdict, got {other:?}"),
    }
}

/// `verify`'s options for an exhaustive check (depth first, symmetry and reduction as it runs
/// them), with no state cap.
fn as_verify_checks() -> CheckOptions {
    CheckOptions {
        strategy: Strategy::Dfs,
        threads: 2,
        symmetry: true,
        ..CheckOptions::default()
    }
}

/// Every model too large to complete has a small instance (`models/X.toml`'s `[small]` table)
/// that does, with every property held and every applicable non-vacuity property reached, and
/// `verify`'s record of its size (which sizes the plan) is the size it has.
/// `line` without its `, max depth N` part.
fn max_depth_left_out(line: &str) -> String {
    match line.find(", max depth ") {
        Some(at) => {
            let rest = &line[at + ", max depth ".len()..];
            let end = rest.find(',').unwrap_or(rest.len());
            format!("{}{}", &line[..at], &rest[end..])
        }
        None => line.to_string(),
    }
}

#[test]
fn every_small_instance_is_checked_exhaustively_and_its_size_is_recorded() {
    use checkpoint_harness::verify::EXHAUSTIVE;
    let mut table = String::new();
    for spec in Spec::all_embedded() {
        let Some(instance) = spec.small_instance() else {
            continue;
        };
        assert_eq!(instance.name, format!("{}@small", spec.name));
        let summary = check::check(Arc::new(instance.clone()), as_verify_checks(), &mut |_| {});
        let line = summary_line(&instance, &summary);
        assert_eq!(summary.verdict, Verdict::Pass, "{line}");
        let recorded = EXHAUSTIVE.iter().find(|(name, _)| *name == instance.name);
        assert_eq!(
            recorded.map(|(_, states)| *states),
            Some(summary.total_states),
            "verify::EXHAUSTIVE must record the states {}'s check generates: {line}",
            instance.name
        );
        // The size is the unique and generated states; the deepest path a search on several
        // threads first reaches a state by varies from run to run, so it is left out here.
        let sized = max_depth_left_out(&line);
        let _ = writeln!(table, "{sized}");
    }
    for (name, _) in EXHAUSTIVE {
        if let Some(base) = Spec::small_base(name) {
            let model = Spec::embedded(base).unwrap_or_else(|| panic!("{name}: no model {base}"));
            assert!(model.small.is_some(), "{name}: {base} has no [small] table");
        }
    }
    insta::assert_snapshot!(table);
}
