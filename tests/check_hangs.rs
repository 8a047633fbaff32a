//! Hangs in the checker (`src/explore/hang.rs`): `check` with its defaults catches the
//! catalogue's hang bugs as `healed-run-finishes`, raises no false hang on the correct model, and
//! its counterexample (the path, then the healed continuation from `healed_at`) replays to the
//! same violation.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::check::{self, CheckOptions, Status, Summary, Verdict};
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::sim::HEALED_RUN_FINISHES;
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{self, Expected, Origin, Trace};
use std::sync::Arc;
use std::time::Duration;

/// `check MODEL --time-limit 60`: the user's defaults, within the minute.
fn user_check(spec: &Spec) -> Summary {
    let options = CheckOptions {
        time_limit: Some(Duration::from_secs(60)),
        ..CheckOptions::default()
    };
    check::check(Arc::new(spec.clone()), options, &mut |_| {})
}

fn with_bug(model: &str, bug: &str) -> Spec {
    let bug = Bug::from_name(bug).expect("catalogued");
    let spec = match Spec::small_base(model) {
        Some(base) => Spec::embedded(base)
            .and_then(|spec| spec.small_instance())
            .expect("an embedded model's small instance"),
        None => Spec::embedded(model).expect("embedded"),
    };
    spec.with_bugs(BugSet::of(&[bug]))
}

/// The bug is caught as a hang, and its counterexample replays to the same violation.
fn caught_and_replayed(model: &str, bug: &str) {
    let spec = with_bug(model, bug);
    let summary = user_check(&spec);
    assert_eq!(
        summary.verdict,
        Verdict::Violated {
            invariant: HEALED_RUN_FINISHES
        },
        "{bug} on {model}: {:?}",
        summary.verdict
    );
    let counterexample = summary.counterexample.expect("a violation has one");
    let healed_at = counterexample
        .healed_at
        .expect("a hang's counterexample carries its healed continuation");
    assert!(healed_at < counterexample.actions.len());
    let mut trace = Trace::new(
        &spec,
        BugSet::default(),
        Origin::Check {
            strategy: "test".into(),
        },
        counterexample.actions.clone(),
        Expected::Violation {
            invariant: HEALED_RUN_FINISHES.into(),
        },
    );
    trace.healed_at = Some(healed_at);
    let replayed = trace::replay(&spec, &Oracle::new(&spec), &trace, "test").expect("replays");
    assert_eq!(
        replayed.outcome.invariant(),
        Some(HEALED_RUN_FINISHES),
        "{bug}: replay disagrees"
    );
}

#[test]
fn end_of_data_checkpoint_while_stopping_is_a_hang_check_finds() {
    caught_and_replayed("savepoints-2pc", "end-of-data-checkpoint-while-stopping");
}

/// FLINK-2519's stuck alignment: deeper in diamond than the user's 60 s reach, within its small
/// instance's horizon, which `check diamond` names when it stops at its bound.
#[test]
fn end_of_partition_leaves_blocked_is_a_hang_check_finds_on_the_small_instance() {
    caught_and_replayed("diamond@small", "end-of-partition-leaves-blocked");
}

#[test]
fn the_correct_models_raise_no_false_hang() {
    // Exhaustive: the property held everywhere it was evaluated.
    let spec = Spec::embedded("retained-checkpoints").expect("embedded");
    let summary = user_check(&spec);
    assert_eq!(summary.verdict, Verdict::Pass, "{:?}", summary.verdict);
    let hang = summary
        .properties
        .iter()
        .find(|p| p.name == HEALED_RUN_FINISHES)
        .expect("registered");
    assert_eq!(hang.status, Status::Held);
    // The hang bugs' own models without the bug: no violation within a bound.
    for model in ["savepoints-2pc", "diamond"] {
        let spec = Spec::embedded(model).expect("embedded");
        let options = CheckOptions {
            max_states: Some(300_000),
            ..CheckOptions::default()
        };
        let summary = check::check(Arc::new(spec), options, &mut |_| {});
        assert!(
            matches!(summary.verdict, Verdict::Partial { .. } | Verdict::Pass),
            "{model}: {:?}",
            summary.verdict
        );
    }
}
