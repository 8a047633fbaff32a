//! Conformance with real Flink: seeded schedules of the model's coordinator inputs, and every
//! saved trace, run through the model and through Flink 2.3's own `CheckpointCoordinator` (the
//! Java driver in `conformance/`), compared after every input. Zero divergences are allowed; a
//! catalogued coordinator bug switched on in the model must make them diverge (the canary).
//!
//! Needs Java 17 and Flink's jars (`conformance/fetch-flink.sh`). Without them each test prints
//! that it was skipped and how to enable it, and passes; with `CI` set it fails instead.

mod support;

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::conformance::flink::{FlinkDriver, HOW_TO_ENABLE};
use checkpoint_harness::conformance::{self, Coverage, Verdict, REQUIRED_COVERAGE};
use checkpoint_harness::spec::{FailoverStrategy, Spec};
use checkpoint_harness::trace::Trace;

fn driver(test: &str) -> Option<FlinkDriver> {
    match FlinkDriver::start(None) {
        Ok(driver) => Some(driver),
        Err(why) => {
            support::skip_or_fail(test, &format!("real Flink ({why})"), HOW_TO_ENABLE);
            None
        }
    }
}

/// Runs `seeds` schedules of `spec`; panics with the first divergence, shrunk.
fn sweep(driver: &mut FlinkDriver, spec: &Spec, seeds: std::ops::Range<u64>) -> (Coverage, u64) {
    let mut coverage = Coverage::default();
    let mut stopped = 0;
    for seed in seeds {
        let actions = conformance::schedule(spec, seed);
        match conformance::compare(driver, spec, &actions, &mut coverage).expect("driver runs") {
            Verdict::Conforms { stopped: s, .. } => {
                if let Some(why) = s {
                    stopped += 1;
                    if std::env::var_os("CONFORMANCE_SHOW_STOPS").is_some() {
                        eprintln!("seed {seed}: stopped {why}");
                    }
                }
            }
            Verdict::Diverges(d) => {
                let shrunk = conformance::shrink(driver, spec, &actions, 400).expect("shrinks");
                let mut unused = Coverage::default();
                let verdict = conformance::compare(driver, spec, &shrunk, &mut unused).unwrap();
                let d = verdict
                    .divergence()
                    .cloned()
                    .map(|b| *Box::new(b))
                    .unwrap_or(*d);
                panic!(
                    "{}: seed {seed} diverges at input {} ({}): model {} / flink {}\nscript:\n{}\n\
                     answers:\n{}\nmodel:\n{}flink:\n{}",
                    spec.name,
                    d.input + 1,
                    d.field,
                    d.model_value,
                    d.flink_value,
                    d.script.join("\n"),
                    d.answers.join("\n"),
                    d.model.describe(),
                    d.flink.describe()
                );
            }
            other => panic!("{}: {other:?}", spec.name),
        }
    }
    (coverage, stopped)
}

/// Models whose schedules conform on every seed tried, with the seeds each test runs.
const CONFORMING: &[(&str, u64)] = &[
    ("keyed-join-2pc", 2000),
    ("coordinator-faults", 500),
    ("retained-checkpoints", 2000),
    ("short-timeout", 2000),
    ("linear", 300),
    ("diamond", 300),
    ("alignment-timeout", 300),
    ("unaligned-union", 300),
    ("at-least-once", 300),
    // Possibly inconsistent store writes and delayed restarts (`delayed_restarts`, `restart`).
    ("ha-failures", 500),
    // Acknowledgements come later (the sink's flush); the coordinator side is unchanged.
    ("async-sink", 300),
    // Compared with Flink's end-of-data rule switched on (DELIBERATE_DEVIATIONS).
    ("savepoints-2pc", 1000),
    // The TERMINATE savepoint (`terminate_savepoint`), likewise with Flink's end-of-data rule.
    ("drain", 300),
    // Transaction identity is task-side (the sink and the external system); the coordinator is
    // unchanged.
    ("transactions", 300),
    // The split source's operator coordinator: the calls on it (checkpoint, notifications,
    // subtaskReset) are compared; its enumerator and events are task-side for the driver.
    ("split-source", 300),
    ("split-source-savepoint", 300),
    // Tasks that deploy and finish as steps of their own: RUNNING reports (`running`), tasks
    // left DEPLOYING by every (re)deployment (`"running": false`).
    ("task-lifecycle", 500),
    // Failed commits are task-side; the resume from an older checkpoint stops the projection
    // (the driver has no such input), and its stop is compared with Flink's end-of-data rule.
    ("transactions-retry", 300),
    ("transactions-resume", 300),
    // Region failover: Flink's region restarts and per-execution attempts; Flink's
    // end-of-data listener forgets the survivors after a region restart (end_of_data.rs).
    ("region-failover", 1000),
    // Incremental checkpoints from a retained checkpoint in NO_CLAIM mode: acks carry the
    // shared files, the store starts with the retained checkpoint, and the shared files each
    // input deletes are compared (`shared_discarded`).
    ("incremental", 2000),
    // The committed mark is sink-side (the table and the committer); the stop before the
    // resume is compared with Flink's end-of-data rule, as for transactions-resume.
    ("transactions-mark", 300),
    // Broadcast fan-out, a keyed aggregate, a two-input join and unaligned checkpoints: the
    // coordinator sees their acks and declines like any other model's.
    ("broadcast", 300),
    ("keyed-aggregate", 300),
    ("two-input-join", 300),
    ("unaligned", 300),
];

/// Divergences found and not yet resolved, asserted as still open so that fixing one is
/// noticed (each is described in docs/fidelity.md, "Open conformance divergences"). Seeds below
/// the first open one conform and are part of the suite. Empty when none is open; the
/// mechanism stays for the next one found.
const OPEN: &[(&str, u64)] = conformance::OPEN_DIVERGENCES;

#[test]
fn schedules_of_the_conforming_models_agree_with_real_flink() {
    let Some(mut driver) = driver("schedules_of_the_conforming_models_agree_with_real_flink")
    else {
        return;
    };
    let mut coverage = Coverage::default();
    for (name, seeds) in CONFORMING {
        let spec = conformance::compared_spec(Spec::embedded(name).expect("embedded"));
        let (reached, stopped) = sweep(&mut driver, &spec, 0..*seeds);
        println!("{name}: {seeds} schedules conform ({stopped} stopped early)");
        coverage.merge(&reached);
    }
    for (name, first_open) in OPEN {
        let spec = Spec::embedded(name).expect("embedded");
        let (reached, _) = sweep(&mut driver, &spec, 0..*first_open);
        coverage.merge(&reached);
    }
    // Coverage that is measured, not assumed: what the compared schedules reached.
    let missing: Vec<&str> = REQUIRED_COVERAGE
        .iter()
        .copied()
        .filter(|item| !coverage.reached(item))
        .collect();
    println!("coverage: {:?}", coverage.counts);
    assert_eq!(
        missing, KNOWN_UNREACHED,
        "the compared schedules' coverage changed: update KNOWN_UNREACHED (and the README)"
    );
}

/// Required coverage the compared schedules do not reach yet: no model's task declines with the
/// plain CHECKPOINT_DECLINED reason (tasks decline on cancellation barriers, subsumption and
/// asynchronous failures); the scripted driver scenarios in conformance/scripts/ cover it.
const KNOWN_UNREACHED: &[&str] = &["outcome: failed CHECKPOINT_DECLINED"];

#[test]
fn the_open_divergences_are_still_open() {
    let Some(mut driver) = driver("the_open_divergences_are_still_open") else {
        return;
    };
    for (name, seed) in OPEN {
        assert!(
            !CONFORMING.iter().any(|(conforming, _)| conforming == name),
            "{name} is listed both as conforming and as having an open divergence"
        );
        let spec = Spec::embedded(name).expect("embedded");
        let actions = conformance::schedule(&spec, *seed);
        let mut coverage = Coverage::default();
        let verdict = conformance::compare(&mut driver, &spec, &actions, &mut coverage).unwrap();
        assert!(
            verdict.divergence().is_some(),
            "{name} seed {seed} conforms now: the open divergence was resolved; move {name} to \
             CONFORMING and update docs/fidelity.md"
        );
    }
}

#[test]
fn each_deliberate_deviation_is_exactly_flinks_rule() {
    let Some(mut driver) = driver("each_deliberate_deviation_is_exactly_flinks_rule") else {
        return;
    };
    for (name, rule, seed) in conformance::DELIBERATE_DEVIATIONS {
        assert!(
            CONFORMING.iter().any(|(conforming, _)| conforming == name),
            "{name} deviates on purpose: it is compared with Flink's rule switched on"
        );
        // Without Flink's rule the model still diverges there...
        let spec = Spec::embedded(name).expect("embedded");
        assert!(!spec.has_bug(*rule));
        let actions = conformance::schedule(&spec, *seed);
        let mut coverage = Coverage::default();
        let verdict = conformance::compare(&mut driver, &spec, &actions, &mut coverage).unwrap();
        assert!(
            verdict.divergence().is_some(),
            "{name} seed {seed} conforms without {}: the deviation is gone; remove it from \
             DELIBERATE_DEVIATIONS and docs/fidelity.md",
            rule.name()
        );
        // ...and with it, the same seed conforms: the deviation is that rule and no other.
        let spec = conformance::compared_spec(spec);
        let actions = conformance::schedule(&spec, *seed);
        let verdict = conformance::compare(&mut driver, &spec, &actions, &mut coverage).unwrap();
        assert!(
            verdict.divergence().is_none(),
            "{name} seed {seed} diverges with {} switched on",
            rule.name()
        );
    }
}

#[test]
fn every_saved_trace_conforms_unless_it_injects_a_coordinator_bug() {
    let Some(mut driver) = driver("every_saved_trace_conforms_unless_it_injects_a_coordinator_bug")
    else {
        return;
    };
    let mut paths = Vec::new();
    collect_traces(std::path::Path::new("traces"), &mut paths);
    assert!(paths.len() >= 20, "the traces moved: {paths:?}");
    let mut diverging_bugs = Vec::new();
    for path in &paths {
        let trace = Trace::load(path).expect("a valid trace");
        let spec = trace.spec(path).expect("its model");
        let mut coverage = Coverage::default();
        let verdict = conformance::compare(&mut driver, &spec, &trace.actions, &mut coverage)
            .expect("the driver runs");
        let coordinator_bug = trace
            .bugs
            .iter()
            .any(|name| Bug::from_name(name).is_some_and(|bug| bug.layer() == "coordinator"));
        match verdict {
            Verdict::Diverges(_) if coordinator_bug => diverging_bugs.extend(trace.bugs.clone()),
            Verdict::Diverges(d) => panic!(
                "{path}: diverges at input {} ({}): model {} / flink {}\n{}",
                d.input + 1,
                d.field,
                d.model_value,
                d.flink_value,
                d.script.join("\n")
            ),
            Verdict::Conforms { .. } => {}
            // Region failover is not compared (`script::setup`, docs/fidelity.md).
            Verdict::NotExpressible { .. } if spec.failover == FailoverStrategy::Region => {}
            other => panic!("{path}: {other:?}"),
        }
    }
    println!("traces whose coordinator bug Flink disagrees with: {diverging_bugs:?}");
    assert!(
        !diverging_bugs.is_empty(),
        "no coordinator bug's trace diverged: the comparison cannot fail"
    );
}

/// A split source's vertex gets the driver's recording operator coordinator, so the calls Flink's
/// `CheckpointCoordinator` and scheduler make on it are compared; a model that notifies the
/// coordinator of a savepoint's completion (which Flink 2.3 does not) diverges on them.
#[test]
fn operator_coordinator_calls_are_compared() {
    let spec = Spec::embedded("split-source-savepoint").expect("embedded");
    let setup = conformance::script::setup(&spec).expect("expressible");
    assert_eq!(setup["setup"]["operator_coordinator"], "source");
    let Some(mut driver) = driver("operator_coordinator_calls_are_compared") else {
        return;
    };
    let buggy = spec.with_bugs(BugSet::of(&[Bug::SavepointNotifiesOperatorCoordinators]));
    let mut coverage = Coverage::default();
    let diverging = (0..50).find_map(|seed| {
        let actions = conformance::schedule(&buggy, seed);
        match conformance::compare(&mut driver, &buggy, &actions, &mut coverage).expect("runs") {
            Verdict::Diverges(d) => Some(d),
            _ => None,
        }
    });
    let d = diverging.expect("a savepoint completes in some schedule and Flink does not notify");
    assert_eq!(d.field, "operator_coordinator", "{d:?}");
}

/// A region-failover model is refused with the reason: the driver restarts every task on a
/// failover and cannot restore some subtasks only.
/// Region failover is compared: the driver restarts pipelined regions
/// (`RestartPipelinedRegionFailoverStrategy`, per-execution attempts), and the model's region
/// restarts become its inputs (the setup says `"failover": "region"`).
#[test]
fn region_failover_models_are_compared_with_flinks_region_restarts() {
    let spec = Spec::embedded("region-failover").expect("embedded");
    let setup = conformance::script::setup(&spec).expect("expressible");
    assert_eq!(setup["setup"]["failover"], "region", "{setup}");
    assert!(CONFORMING
        .iter()
        .any(|(name, _)| *name == "region-failover"));
}

/// Every embedded model is compared with Flink over its schedules here, or its setup is refused
/// with the model-file key that makes it inexpressible (none is today).
#[test]
fn every_embedded_model_is_compared_with_flink() {
    for spec in Spec::all_embedded() {
        let listed = CONFORMING.iter().any(|(name, _)| *name == spec.name);
        match conformance::script::setup(&spec) {
            Ok(_) => assert!(
                listed,
                "{}: expressible in the driver but not in CONFORMING",
                spec.name
            ),
            Err(refused) => assert!(!listed, "{}: refused ({})", spec.name, refused.0),
        }
    }
}

/// A model started from a retained checkpoint is set up with it: the driver's store starts with
/// checkpoint 1 and each task's shared file, registered under the model's claim mode, and acks
/// name the files they upload and reuse (no Java needed to check the script).
#[test]
fn a_start_from_a_retained_checkpoint_is_set_up_in_its_claim_mode() {
    let spec = Spec::embedded("incremental").expect("embedded");
    assert!(spec.checkpointing.start_from_retained);
    let setup = conformance::script::setup(&spec).expect("expressible");
    let setup = &setup["setup"];
    assert_eq!(setup["incremental"], true);
    assert_eq!(setup["claim_mode"], "no_claim");
    assert_eq!(
        setup["initial_checkpoint"],
        serde_json::json!({"id": 1, "tasks": [
            {"task": 0, "shared": ["t0@1"]},
            {"task": 1, "shared": ["t1@1"]},
        ]})
    );
    // Models without incremental checkpoints keep their setup.
    let linear = conformance::script::setup(&Spec::embedded("linear").expect("embedded"))
        .expect("expressible");
    assert!(linear["setup"].get("incremental").is_none());
    assert!(linear["setup"].get("initial_checkpoint").is_none());
    // An incremental ack after the first (forced FULL) checkpoint reuses a file: uploads are real
    // handles, the reused file a placeholder.
    let actions = conformance::schedule(&spec, 0);
    let projection = conformance::model::project(&spec, &actions);
    let reusing = projection
        .inputs
        .iter()
        .map(|i| i.to_json_for(&spec))
        .find(|line| line.get("reused").is_some())
        .expect("some checkpoint reuses a file");
    assert_eq!(reusing["op"], "ack");
    assert_eq!(reusing["uploaded"].as_array().map(Vec::len), Some(1));
    assert_eq!(reusing["reused"].as_array().map(Vec::len), Some(1));
}

/// Flink shuts a finished job's store down (`StandaloneCompletedCheckpointStore.shutdown` on a
/// globally terminal status: `unregisterUnusedState` below the lowest checkpoint it keeps),
/// deleting the job's shared files but never the NO_CLAIM snapshot's; the model performs no
/// terminal clean-up, so the projection expects those deletions at the input that ends the job
/// (a deliberate deviation of the comparison, docs/fidelity.md). Seed 0 was the first
/// divergence before the projection knew it; Flink deletes these files there (the sweep
/// compares it).
#[test]
fn the_input_that_finishes_an_incremental_job_expects_flinks_terminal_clean_up() {
    let spec = Spec::embedded("incremental").expect("embedded");
    let actions = conformance::schedule(&spec, 0);
    let projection = conformance::model::project(&spec, &actions);
    // The last task's FINISHED report ends the job: its input expects the deletions.
    let ending: Vec<&Vec<String>> = projection
        .inputs
        .iter()
        .zip(&projection.expected)
        .filter(|(input, expected)| {
            matches!(input, conformance::script::Input::Finished { .. })
                && !expected.shared_discarded.is_empty()
        })
        .map(|(_, expected)| &expected.shared_discarded)
        .collect();
    assert_eq!(
        ending,
        [&["t0@10", "t0@5", "t0@9", "t1@10", "t1@5"]
            .map(String::from)
            .to_vec()]
    );
    // No input before it expects the NO_CLAIM snapshot's files (`@1`) deleted.
    assert!(projection
        .expected
        .iter()
        .flat_map(|o| &o.shared_discarded)
        .all(|key| !key.ends_with("@1")));
}

/// Which shared files the coordinator deletes is compared: the catalogued shared-state bugs
/// diverge from Flink exactly there (`shared_discarded`), on the first input whose registry
/// verdict differs. `no-claim-discards-restored-shared-state` (FLINK-26985) deletes the
/// retained snapshot's files; `subsume-discards-shared-state` deletes a subsumed checkpoint's
/// files that the retained checkpoint still uses.
#[test]
fn shared_state_deletions_are_compared() {
    let Some(mut driver) = driver("shared_state_deletions_are_compared") else {
        return;
    };
    let spec = Spec::embedded("incremental").expect("embedded");
    for bug in [
        Bug::NoClaimDiscardsRestoredSharedState,
        Bug::SubsumeDiscardsSharedState,
    ] {
        let buggy = spec.clone().with_bugs(BugSet::of(&[bug]));
        let mut coverage = Coverage::default();
        let diverging = (0..100).find_map(|seed| {
            let actions = conformance::schedule(&buggy, seed);
            match conformance::compare(&mut driver, &buggy, &actions, &mut coverage).expect("runs")
            {
                Verdict::Diverges(d) => Some(d),
                _ => None,
            }
        });
        let d = diverging.unwrap_or_else(|| panic!("{} conforms on 100 seeds", bug.name()));
        assert_eq!(d.field, "shared_discarded", "{}: {d:?}", bug.name());
        // The model deletes a file Flink keeps: the bug's deletion, not a missing one.
        assert!(
            d.model.shared_discarded.len() > d.flink.shared_discarded.len(),
            "{}: model {:?} / flink {:?}",
            bug.name(),
            d.model.shared_discarded,
            d.flink.shared_discarded
        );
        if bug == Bug::NoClaimDiscardsRestoredSharedState {
            // FLINK-26985: the files deleted are the retained snapshot's (created by cp1).
            assert!(
                d.model.shared_discarded.iter().any(|k| k.ends_with("@1")),
                "{:?}",
                d.model.shared_discarded
            );
        }
    }
    // The forced FULL checkpoint after a NO_CLAIM start is compared too (the trigger's type).
    let buggy = spec.with_bugs(BugSet::of(&[Bug::NoClaimNotForcedFull]));
    let actions = conformance::schedule(&buggy, 0);
    let mut coverage = Coverage::default();
    let verdict = conformance::compare(&mut driver, &buggy, &actions, &mut coverage).unwrap();
    let d = verdict
        .divergence()
        .expect("the first checkpoint is not FULL");
    assert_eq!(d.field, "rpcs", "{d:?}");
    assert!(
        d.flink_value.contains("full_checkpoint"),
        "{}",
        d.flink_value
    );
}

fn collect_traces(dir: &std::path::Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("traces/")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_traces(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path.display().to_string());
        }
    }
}

/// The canary: a catalogued coordinator bug switched on in the model makes it disagree with
/// Flink, found by the same sweep (and `conform --bug` exits 1, tests/cli.rs-style below).
#[test]
fn a_coordinator_bug_in_the_model_is_a_divergence() {
    let Some(mut driver) = driver("a_coordinator_bug_in_the_model_is_a_divergence") else {
        return;
    };
    let mut bugs = BugSet::default();
    bugs.insert(Bug::MiscountTolerableFailures);
    let spec = Spec::embedded("coordinator-faults")
        .expect("embedded")
        .with_bugs(bugs);
    let found = (0..300).find(|&seed| {
        let actions = conformance::schedule(&spec, seed);
        let mut coverage = Coverage::default();
        conformance::compare(&mut driver, &spec, &actions, &mut coverage)
            .expect("the driver runs")
            .divergence()
            .is_some()
    });
    assert!(
        found.is_some(),
        "miscount-tolerable-failures conforms to Flink on 300 seeds"
    );

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_checkpoint-harness"))
        .args([
            "conform",
            "coordinator-faults",
            "--seeds",
            "0..300",
            "--bug",
        ])
        .arg("miscount-tolerable-failures")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("DIVERGENCE coordinator-faults seed"),
        "{stdout}"
    );
    assert!(stdout.contains("rerun: "), "{stdout}");
}

/// Exploration aid: `CONFORMANCE_MODEL=NAME CONFORMANCE_SEEDS=N cargo test --release --test
/// conformance explore_one_model -- --ignored --nocapture` (with `CONFORMANCE_KEEP_GOING=1`:
/// list every diverging seed instead of stopping at the first).
#[test]
#[ignore]
fn explore_one_model() {
    let Some(mut driver) = driver("explore_one_model") else {
        return;
    };
    let name = std::env::var("CONFORMANCE_MODEL").unwrap_or_else(|_| "linear".into());
    let seeds: u64 = std::env::var("CONFORMANCE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let spec = Spec::embedded(&name).expect("an embedded model");
    if std::env::var_os("CONFORMANCE_KEEP_GOING").is_some() {
        // Every diverging seed, one line each (the last input of its unshrunk script).
        let mut diverging = 0;
        for seed in 0..seeds {
            let actions = conformance::schedule(&spec, seed);
            let mut coverage = Coverage::default();
            let verdict = conformance::compare(&mut driver, &spec, &actions, &mut coverage);
            if let Some(d) = verdict.expect("the driver runs").divergence() {
                diverging += 1;
                println!(
                    "seed {seed}: input {} ({}) {}",
                    d.input + 1,
                    d.field,
                    d.script.last().map_or("", String::as_str)
                );
            }
        }
        println!("{name}: {diverging} of {seeds} seeds diverge");
        return;
    }
    let (coverage, stopped) = sweep(&mut driver, &spec, 0..seeds);
    println!(
        "{name}: {stopped} of {seeds} stopped early; coverage {:?}",
        coverage.counts
    );
}

/// The task side: the model's barrier handlers agree with Flink's own
/// (`CheckpointBarrierTracker`, `SingleCheckpointBarrierHandler.aligned` / `.alternating`) on
/// seeded input sequences, and every catalogued handler bug makes some handler diverge (the
/// comparison can fail).
#[test]
fn barrier_handlers_agree_with_flinks_and_their_bugs_diverge() {
    use checkpoint_harness::conformance::handlers::{self, HandlerKind};
    let Some(mut driver) = driver("barrier_handlers_agree_with_flinks_and_their_bugs_diverge")
    else {
        return;
    };
    let correct = handlers::handler_spec(BugSet::default());
    for kind in HandlerKind::ALL {
        let mut inputs = 0;
        let mut reached = std::collections::BTreeSet::new();
        for seed in 0..2000 {
            let (channels, sequence) = handlers::sequence(kind, &correct, seed);
            match handlers::compare(&mut driver, kind, &correct, channels, &sequence)
                .expect("the driver runs")
            {
                Ok(done) => {
                    inputs += done.inputs;
                    reached.extend(done.reached);
                }
                Err(d) => panic!(
                    "{} seed {seed} diverges at input {} ({}): model {} / Flink {}\n{}",
                    kind.name(),
                    d.input + 1,
                    d.field,
                    d.model_value,
                    d.flink_value,
                    d.script.join("\n")
                ),
            }
        }
        assert!(inputs > 10_000, "{}: only {inputs} inputs", kind.name());
        // Non-vacuity: the agreed inputs reach every way each handler triggers and aborts.
        let required: &[&str] = match kind {
            HandlerKind::Tracker => &[
                "at_least_once trigger on barrier",
                "at_least_once trigger on end of partition",
                "abort CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER",
            ],
            HandlerKind::Aligned => &[
                "aligned trigger on barrier",
                "aligned trigger on end of partition",
                "abort CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER",
                "abort CHECKPOINT_DECLINED_SUBSUMED",
                "channel blocked",
            ],
            HandlerKind::Alternating => &[
                "timeoutable trigger on barrier",
                "unaligned trigger on barrier",
                "unaligned trigger on alignment timer",
                "abort CHECKPOINT_DECLINED_SUBSUMED",
                "channel blocked",
            ],
        };
        for situation in required {
            assert!(
                reached.contains(*situation),
                "{}: never reached {situation:?}; reached {reached:?}",
                kind.name()
            );
        }
    }
    for bug in [
        Bug::IgnoreCancellationMarker,
        Bug::ObsoleteBarrierCounted,
        Bug::NoBlockAfterBarrier,
        Bug::SnapshotBeforeAllBarriers,
        Bug::ForwardBarrierBeforeSnapshot,
        Bug::EndOfPartitionLeavesBlocked,
    ] {
        let mut bugs = BugSet::default();
        bugs.insert(bug);
        let spec = handlers::handler_spec(bugs);
        let caught = HandlerKind::ALL.iter().any(|&kind| {
            (0..1000).any(|seed| {
                let (channels, sequence) = handlers::sequence(kind, &spec, seed);
                handlers::compare(&mut driver, kind, &spec, channels, &sequence)
                    .expect("the driver runs")
                    .is_err()
            })
        });
        assert!(
            caught,
            "{bug:?} agrees with Flink's handlers on 1000 sequences each"
        );
    }

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_checkpoint-harness"))
        .args(["conform", "--handler", "all", "--seeds", "0..300", "--bug"])
        .arg("ignore-cancellation-marker")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DIVERGENCE handler "), "{stdout}");
    assert!(stdout.contains("rerun: "), "{stdout}");
}
