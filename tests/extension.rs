//! An outside crate adds its own invariant: `Oracle::with_property` puts it beside the built-in
//! table, and the simulator and the model checker judge it like theirs (issue: "extending is
//! documented and possible from outside").

use checkpoint_harness::check::{self, CheckOptions, Limits, Status, Verdict};
use checkpoint_harness::invariants::{Kind, Oracle, Property, MAX_PROPERTIES, PROPERTIES};
use checkpoint_harness::scheduler::SchedulerKind;
use checkpoint_harness::sim::{self, RunBounds, Shard, Sweep};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::World;
use std::sync::Arc;

/// At most one completed checkpoint is retained: false for `retained-checkpoints` (it keeps
/// two), true for `linear` (it keeps one).
fn store_holds_one(_: &Spec, _: &Oracle, world: &World) -> Result<(), String> {
    match world.coordinator.store.entries.len() {
        0 | 1 => Ok(()),
        n => Err(format!("{n} completed checkpoints retained")),
    }
}

static STORE_HOLDS_ONE: Property = Property::safety(
    "store-holds-one",
    "at most one completed checkpoint is retained",
    store_holds_one,
);

static TWO_RETAINED: Property = Property::sometimes(
    "two-retained",
    "two completed checkpoints are retained at once",
    |_, world| world.coordinator.store.entries.len() >= 2,
    |spec| spec.checkpointing.retained >= 2,
);

fn sweep(spec: &Spec, oracle: &Oracle) -> sim::SweepReport {
    let request = Sweep {
        seeds: 0..300,
        shard: Shard::ALL,
        scheduler: SchedulerKind::Random,
        bounds: RunBounds::of(spec),
        threads: 2,
    };
    sim::sweep(spec, oracle, &request, &|_| {})
}

#[test]
fn an_added_safety_property_is_checked_by_the_simulator_and_the_checker() {
    let spec = Spec::embedded("retained-checkpoints").expect("embedded");
    let oracle = Oracle::new(&spec)
        .with_property(&STORE_HOLDS_ONE)
        .expect("a new name");
    let (seed, run) = sweep(&spec, &oracle)
        .failure
        .expect("the simulator sees it");
    assert_eq!(
        run.outcome.invariant(),
        Some("store-holds-one"),
        "seed {seed}"
    );

    let options = CheckOptions {
        max_states: Some(200_000),
        threads: 1,
        ..CheckOptions::default()
    };
    let summary = check::check_with(
        Arc::new(spec),
        oracle,
        options,
        Limits::default(),
        &mut |_| {},
    );
    assert_eq!(
        summary.verdict,
        Verdict::Violated {
            invariant: "store-holds-one"
        }
    );
    let counterexample = summary.counterexample.expect("a counterexample");
    assert_eq!(counterexample.invariant, "store-holds-one");
    assert!(counterexample
        .detail
        .contains("2 completed checkpoints retained"));
}

#[test]
fn an_added_property_that_holds_raises_no_alarm() {
    let spec = Spec::embedded("linear").expect("embedded");
    let oracle = Oracle::new(&spec)
        .with_property(&STORE_HOLDS_ONE)
        .expect("a new name");
    assert!(sweep(&spec, &oracle).failure.is_none());
}

#[test]
fn an_added_sometimes_property_is_reported_by_name() {
    let spec = Spec::embedded("retained-checkpoints").expect("embedded");
    let oracle = Oracle::new(&spec)
        .with_property(&TWO_RETAINED)
        .expect("a new name");
    let options = CheckOptions {
        threads: 2,
        ..CheckOptions::default()
    };
    let summary = check::check_with(
        Arc::new(spec),
        oracle,
        options,
        Limits::default(),
        &mut |_| {},
    );
    let mine = summary
        .properties
        .iter()
        .find(|p| p.name == "two-retained")
        .expect("registered by its own name");
    assert_eq!(mine.kind, Kind::Sometimes);
    assert_eq!(mine.status, Status::Reached);
    assert_eq!(summary.verdict, Verdict::Pass);
}

#[test]
fn a_name_in_use_or_too_many_properties_is_an_error() {
    let spec = Spec::embedded("linear").expect("embedded");
    let error = Oracle::new(&spec)
        .with_property(&PROPERTIES[0])
        .expect_err("a built-in name");
    assert!(error.contains(PROPERTIES[0].name), "{error}");
    let error = Oracle::new(&spec)
        .with_property(&STORE_HOLDS_ONE)
        .and_then(|o| o.with_property(&STORE_HOLDS_ONE))
        .expect_err("added twice");
    assert!(error.contains("store-holds-one"), "{error}");
    // The checker has a slot per property: room is bounded, and the bound is an error.
    static MANY: [Property; MAX_PROPERTIES] = {
        const NAMES: [&str; 62] = [
            "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12", "p13",
            "p14", "p15", "p16", "p17", "p18", "p19", "p20", "p21", "p22", "p23", "p24", "p25",
            "p26", "p27", "p28", "p29", "p30", "p31", "p32", "p33", "p34", "p35", "p36", "p37",
            "p38", "p39", "p40", "p41", "p42", "p43", "p44", "p45", "p46", "p47", "p48", "p49",
            "p50", "p51", "p52", "p53", "p54", "p55", "p56", "p57", "p58", "p59", "p60", "p61",
        ];
        assert!(NAMES.len() >= MAX_PROPERTIES);
        let mut many = [const { Property::safety("", "", store_holds_one) }; MAX_PROPERTIES];
        let mut i = 0;
        while i < MAX_PROPERTIES {
            many[i] = Property::safety(NAMES[i], "filler", store_holds_one);
            i += 1;
        }
        many
    };
    let mut oracle = Ok(Oracle::new(&spec));
    for property in &MANY {
        oracle = oracle.and_then(|o| o.with_property(property));
    }
    let error = oracle.expect_err("more than the checker has slots for");
    assert!(
        error.contains(&format!("at most {MAX_PROPERTIES}")),
        "{error}"
    );
}
