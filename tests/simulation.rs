//! The seeded simulator and traces: determinism, replay, sweeps over every model, the canary
//! (a deliberately broken variant must be caught and its trace must shrink), and a pinned
//! rendering of a timeline.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::render;
use checkpoint_harness::scheduler::SchedulerKind;
use checkpoint_harness::sim::{self, Outcome, RunBounds, Shard, Sweep};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::trace::{self, Expected, Origin, Trace};

fn trace_of(spec: &Spec, seed: u64, kind: SchedulerKind) -> (Trace, sim::RunReport) {
    let oracle = Oracle::new(spec);
    let run = sim::run(spec, &oracle, seed, kind, RunBounds::of(spec));
    let mut trace = Trace::new(
        spec,
        BugSet::default(),
        Origin::Sim {
            scheduler: kind,
            config: run.config.describe(),
        },
        run.actions.clone(),
        Expected::of(&run.outcome),
    );
    trace.seed = Some(seed);
    trace.healed_at = Some(run.healed_at);
    (trace, run)
}

#[test]
fn the_same_seed_gives_byte_identical_traces() {
    for spec in Spec::all_embedded() {
        for seed in [0, 1, 7, 12345] {
            for kind in [SchedulerKind::Random, SchedulerKind::Pct { depth: 3 }] {
                let (first, _) = trace_of(&spec, seed, kind);
                let (second, _) = trace_of(&spec, seed, kind);
                let a = serde_json::to_string_pretty(&first).expect("serializes");
                let b = serde_json::to_string_pretty(&second).expect("serializes");
                assert_eq!(a, b, "{} seed {seed} {kind}: traces differ", spec.name);
                assert!(!first.actions.is_empty());
            }
        }
    }
}

#[test]
fn different_seeds_explore_different_schedules() {
    let spec = Spec::load("models/keyed-join-2pc.toml").expect("loads");
    let traces: Vec<Vec<_>> = (0..20)
        .map(|seed| trace_of(&spec, seed, SchedulerKind::Random).0.actions)
        .collect();
    let mut distinct = traces.clone();
    distinct.sort();
    distinct.dedup();
    assert!(
        distinct.len() >= 15,
        "only {} distinct schedules in 20 seeds",
        distinct.len()
    );
}

#[test]
fn replaying_a_trace_reaches_the_identical_final_world() {
    for spec in Spec::all_embedded() {
        let oracle = Oracle::new(&spec);
        for seed in [3, 99] {
            let (trace, run) = trace_of(&spec, seed, SchedulerKind::Random);
            let replayed = trace::replay(&spec, &oracle, &trace, "in-memory").expect("replays");
            assert_eq!(
                replayed.world, run.final_world,
                "{} seed {seed}: replay diverged",
                spec.name
            );
            assert_eq!(Expected::of(&replayed.outcome), trace.expected);
        }
    }
}

#[test]
fn a_saved_trace_loads_back_equal_and_replays_from_the_embedded_model() {
    let spec = Spec::load("models/diamond.toml").expect("loads");
    let (trace, _) = trace_of(&spec, 5, SchedulerKind::Random);
    let dir = std::env::temp_dir().join(format!("ch-trace-{}", std::process::id()));
    let path = dir.join("t.json");
    let path = path.to_str().expect("utf-8");
    trace.save(path).expect("saves");
    let loaded = Trace::load(path).expect("loads");
    assert_eq!(loaded, trace);
    let embedded = loaded.spec(path).expect("embedded model parses");
    assert_eq!(embedded.text, spec.text);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "atomic save left files behind: {leftovers:?}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_sweep_of_2000_seeds_passes_on_every_model() {
    for spec in Spec::all_embedded() {
        let oracle = Oracle::new(&spec);
        for (kind, seeds) in [
            (SchedulerKind::Random, 0..2000),
            (SchedulerKind::Pct { depth: 3 }, 0..500),
        ] {
            let request = Sweep {
                seeds: seeds.clone(),
                shard: Shard::ALL,
                scheduler: kind,
                bounds: RunBounds::of(&spec),
                threads: 2,
            };
            let report = sim::sweep(&spec, &oracle, &request, &|_| {});
            if let Some((seed, run)) = &report.failure {
                panic!(
                    "{} {kind} seed {seed}: {:?}\nreplay: checkpoint-harness sim {} --seed {seed}",
                    spec.name, run.outcome, spec.file
                );
            }
            assert_eq!(report.seeds_run, seeds.end - seeds.start);
            // Non-vacuity: every run finishes its job, and the sweep exercises what the model
            // is about.
            let count = |name: &str| {
                report
                    .reached
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(0, |(_, c)| *c)
            };
            assert_eq!(count("job-finished"), report.seeds_run, "{}", spec.name);
            if spec.faults.task_crashes > 0 {
                assert!(
                    count("restore-with-newer-pending") > 0,
                    "{} {kind}: no restore with a newer pending checkpoint",
                    spec.name
                );
            }
            if spec.checkpointing.unaligned_enabled() {
                assert!(count("barrier-overtook-records") > 0, "{}", spec.name);
            }
        }
    }
}

#[test]
fn sweep_results_do_not_depend_on_the_thread_count() {
    let spec = Spec::load("models/linear.toml")
        .expect("loads")
        .with_bugs(BugSet::of(&[Bug::SourceOffsetOffByOne]));
    let oracle = Oracle::new(&spec);
    let run = |threads| {
        let request = Sweep {
            seeds: 0..400,
            shard: Shard::ALL,
            scheduler: SchedulerKind::Random,
            bounds: RunBounds::of(&spec),
            threads,
        };
        let report = sim::sweep(&spec, &oracle, &request, &|_| {});
        (
            report.seeds_run,
            report.steps,
            report.failure.map(|(seed, run)| (seed, run.actions)),
        )
    };
    let one = run(1);
    assert!(one.2.is_some(), "the broken variant must fail");
    assert_eq!(one, run(2));
    assert_eq!(one, run(4));
}

#[test]
fn shards_partition_a_seed_range() {
    let all: Vec<u64> = Shard::ALL.seeds(10..30).collect();
    let mut union: Vec<u64> = (0..3)
        .flat_map(|index| Shard { index, count: 3 }.seeds(10..30))
        .collect();
    union.sort();
    assert_eq!(union, all);
    let first: Vec<u64> = Shard { index: 0, count: 3 }.seeds(10..30).collect();
    assert_eq!(first, vec![10, 13, 16, 19, 22, 25, 28]);
}

/// The canary: the simulator must catch a deliberately broken coordinator variant, and shrinking
/// must make its trace shorter while keeping the same violation.
#[test]
fn canary_the_simulator_catches_a_broken_variant_and_shrink_shortens_it() {
    let spec = Spec::load("models/keyed-join-2pc.toml")
        .expect("loads")
        .with_bugs(BugSet::of(&[Bug::CommitOnlyNotifiedTransaction]));
    let oracle = Oracle::new(&spec);
    let request = Sweep {
        seeds: 0..2000,
        shard: Shard::ALL,
        scheduler: SchedulerKind::Random,
        bounds: RunBounds::of(&spec),
        threads: 2,
    };
    let report = sim::sweep(&spec, &oracle, &request, &|_| {});
    let (seed, run) = report.failure.expect("the broken variant is caught");
    let Outcome::Violation { violation, .. } = &run.outcome else {
        panic!("a failure is a violation")
    };
    assert_eq!(violation.invariant, "end-to-end-exactly-once");
    let mut trace = Trace::new(
        &spec,
        BugSet::of(&[Bug::CommitOnlyNotifiedTransaction]),
        Origin::Sim {
            scheduler: SchedulerKind::Random,
            config: run.config.describe(),
        },
        run.actions.clone(),
        Expected::of(&run.outcome),
    );
    trace.seed = Some(seed);
    trace.healed_at = Some(run.healed_at);
    let shrunk = trace::shrink(&spec, &oracle, &trace, "canary").expect("shrinks");
    assert!(
        shrunk.after < shrunk.before,
        "shrink did not shorten: {} -> {}",
        shrunk.before,
        shrunk.after
    );
    let replayed = trace::replay(&spec, &oracle, &shrunk.trace, "canary-shrunk").expect("replays");
    assert_eq!(
        replayed.outcome.invariant(),
        Some("end-to-end-exactly-once")
    );
}

#[test]
fn a_replayed_timeline_renders_readably() {
    // A fixed, hand-checked trace: the default model with a sink that commits at pre-commit.
    let trace = Trace::load("traces/canary-commit-before-complete.json").expect("loads");
    let spec = trace
        .spec("traces/canary-commit-before-complete.json")
        .expect("parses");
    let oracle = Oracle::new(&spec);
    let replayed = trace::replay(&spec, &oracle, &trace, "timeline").expect("replays");
    insta::assert_snapshot!(render::timeline(&spec, &replayed, trace.healed_at));
}

/// The healed phase's liveness message names what is still running. Reproduces the case the
/// message used to leave empty: the healed budget runs out while the backlog drains, after every
/// subtask finished, with only RPCs and a pending checkpoint left ("unfinished subtasks: none",
/// formerly "still running: " with nothing after it).
#[test]
fn a_healed_run_out_of_budget_after_every_subtask_finished_names_what_is_still_running() {
    use checkpoint_harness::task::TaskStatus;
    use checkpoint_harness::world::describe::describe_rpc;
    let spec = Spec::embedded("linear").expect("embedded");
    let oracle = Oracle::new(&spec);
    let bounds = RunBounds {
        faulty_steps: spec.bounds.faulty_steps,
        healed_steps: 20,
    };
    let found = (0..300).find_map(|seed| {
        let run = sim::run(&spec, &oracle, seed, SchedulerKind::Random, bounds);
        let Outcome::Violation { violation, .. } = &run.outcome else {
            return None;
        };
        let world = &run.final_world;
        let all_finished = world.tasks.iter().all(|t| t.status == TaskStatus::Finished);
        (violation.invariant == sim::HEALED_RUN_FINISHES && all_finished)
            .then(|| (seed, violation.detail.clone(), run.final_world.clone()))
    });
    let (seed, detail, world) =
        found.expect("a seed whose healed budget runs out after every subtask finished");
    assert!(!world.rpcs.is_empty() || !world.coordinator.pending.is_empty());
    assert!(
        detail.contains("budget of 20 healed steps ran out"),
        "{detail}"
    );
    let (_, still) = detail.split_once("still running: ").unwrap_or_else(|| {
        panic!("seed {seed}: the message names nothing still running: {detail}")
    });
    assert!(!still.trim().is_empty(), "seed {seed}: {detail}");
    for rpc in world.rpcs.iter().take(4) {
        let said = describe_rpc(&spec, &rpc.key());
        assert!(
            still.contains(&said),
            "seed {seed}: {said} not named in {detail}"
        );
    }
    for pending in &world.coordinator.pending {
        assert!(
            still.contains(&format!("checkpoint {} pending", pending.id)),
            "seed {seed}: {} not named in {detail}",
            pending.id
        );
    }
    // A world with nothing left anywhere, yet a job the coordinator never declared finished:
    // the message says so rather than listing nothing.
    let mut drained = world.clone();
    drained.rpcs.clear();
    drained.coordinator.pending.clear();
    drained.coordinator.periodic_due = None;
    drained.coordinator.coordinator_snapshot = None;
    drained.coordinator.queue = Default::default();
    drained.coordinator.job = checkpoint_harness::coordinator::JobStatus::Running;
    let detail = sim::healed_violation(&spec, &drained, 20).detail;
    let (_, still) = detail.split_once("still running: ").expect("named");
    assert!(
        still.starts_with("nothing: every subtask finished") && still.contains("never declared"),
        "{detail}"
    );
}
