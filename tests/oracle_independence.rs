//! The oracle owes nothing to the code it judges: each test breaks the system under test in a way
//! the step functions' own reports would not reveal, and shows the property that now sees it
//! (issue: "an oracle that owes nothing to the code under test").

use checkpoint_harness::invariants::{self, Oracle};
use checkpoint_harness::protocol::{CheckpointId, TaskId};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::{self, Action, Rpc, RpcKind, World};

/// source -> map -> two-phase-commit sink, one subtask each, one manual checkpoint allowed.
fn linear() -> Spec {
    Spec::parse(
        "linear-test",
        r#"
name = "linear-test"

[[operators]]
name = "source"
kind = "source"
records = 1

[[operators]]
name = "map"
kind = "map"

[[operators]]
name = "sink"
kind = "two-phase-commit-sink"

[[edges]]
from = "source"
to = "map"

[[edges]]
from = "map"
to = "sink"

[checkpointing]
interval = 10
timeout = 1000
tolerable_failures = "unlimited"
"#,
    )
    .expect("a valid model")
}

fn deliver(world: &World, kind: RpcKind, task: u8) -> Action {
    let rpc = world
        .rpcs
        .iter()
        .map(Rpc::key)
        .find(|k| k.kind == kind && k.task == TaskId(task))
        .unwrap_or_else(|| panic!("a {kind:?} RPC to task {task} is in flight"));
    Action::DeliverRpc { rpc }
}

/// The world right after the first periodic checkpoint was triggered (cp1 pending).
fn with_cp1_pending(spec: &Spec) -> World {
    let w = World::initial(spec);
    let w = world::apply(
        spec,
        &w,
        Action::Fire {
            timer: world::Timer::Periodic,
        },
    )
    .unwrap();
    let w = world::apply(spec, &w, Action::FinishTriggering).unwrap();
    assert!(w.coordinator.pending(CheckpointId(1)).is_some());
    w
}

/// Delivers an abort notification of `id` to `task` (put in flight by hand).
fn notify_abort(spec: &Spec, mut w: World, task: TaskId, id: CheckpointId) -> World {
    w.rpcs.push(Rpc::NotifyAborted {
        task,
        id,
        latest_completed: CheckpointId::NONE,
    });
    w.rpcs.sort();
    let action = deliver(&w, RpcKind::NotifyAborted, task.0);
    world::apply(spec, &w, action).unwrap()
}

/// A task that fails itself on the abort of an ordinary checkpoint (as if its step function
/// mistook it for the synchronous savepoint it is stopping on) fails the job over. Before
/// `no-spurious-failure`, nothing objected: the failover looked like any other.
#[test]
fn a_task_failing_on_an_ordinary_abort_is_a_spurious_failure() {
    let spec = linear();
    let oracle = Oracle::new(&spec);
    let mut w = with_cp1_pending(&spec);
    let cp1 = CheckpointId(1);
    // The broken variant: task 1 believes cp1 is its synchronous savepoint.
    w.tasks[1].sync_savepoint = cp1;
    let w = notify_abort(&spec, w, TaskId(1), cp1);
    let violation = invariants::check_all(&spec, &oracle, &w).expect_err("caught");
    assert_eq!(violation.invariant, "no-spurious-failure");

    // Every other property was blind to it.
    let others: Vec<&str> = invariants::PROPERTIES
        .iter()
        .filter(|p| p.name != "no-spurious-failure")
        .filter(|p| p.check(&spec, &oracle, &w).is_err())
        .map(|p| p.name)
        .collect();
    assert!(others.is_empty(), "also caught by {others:?}");
}

/// The same abort of a real synchronous savepoint (stop-with-savepoint) fails the task
/// legitimately (reference §2.8): no violation.
#[test]
fn a_task_failing_on_its_aborted_synchronous_savepoint_is_not_spurious() {
    let spec = linear();
    let oracle = Oracle::new(&spec);
    let mut w = with_cp1_pending(&spec);
    let cp1 = CheckpointId(1);
    // The world saw the coordinator trigger cp1 as a synchronous savepoint.
    w.ghost.sync_savepoints.insert(cp1);
    w.tasks[1].sync_savepoint = cp1;
    let w = notify_abort(&spec, w, TaskId(1), cp1);
    let property = invariants::property("no-spurious-failure").expect("registered");
    assert_eq!(property.check(&spec, &oracle, &w), Ok(()));
}

/// A failover with no failure report, no failure-manager verdict and no JobManager failover:
/// the coordinator restores on its own.
#[test]
fn a_failover_without_a_cause_is_a_spurious_failure() {
    use checkpoint_harness::coordinator::{CoordinatorContext, CoordinatorInput};
    let spec = linear();
    let oracle = Oracle::new(&spec);
    let mut w = World::initial(&spec);
    // The broken variant: the coordinator handles a task-failure report nobody sent.
    let ctx = CoordinatorContext {
        spec: &spec,
        now: w.now,
        storage_write_fails: false,
    };
    let attempt = w.coordinator.attempt;
    let outputs = w.coordinator.step(
        &ctx,
        CoordinatorInput::TaskFailed {
            task: TaskId(0),
            attempt,
        },
    );
    for output in outputs {
        if let checkpoint_harness::coordinator::CoordinatorOutput::Event(event) = output {
            w.ghost.observe(&spec, w.now, &event, &mut w.last);
        }
    }
    let property = invariants::property("no-spurious-failure").expect("registered");
    assert!(property.check(&spec, &oracle, &w).is_err());
}

/// `pending-within-max-concurrent` states its own rule for which savepoints may exceed the
/// limit, so a wrong `savepoints_forced` in the coordinator's configuration helper is not
/// mirrored: under unaligned checkpoints no savepoint is forced, so a third pending savepoint over
/// a limit of two is a violation whatever the helper says.
#[test]
fn max_concurrency_judges_savepoints_by_its_own_rule() {
    use checkpoint_harness::coordinator::UserRequest;
    use checkpoint_harness::coordinator::{Coordinator, CoordinatorContext};
    let spec = Spec::parse(
        "uc-savepoints",
        r#"
name = "uc-savepoints"

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
mode = "unaligned"
max_concurrent = 1
timeout = 1000
tolerable_failures = "unlimited"
"#,
    )
    .expect("a valid model");
    let oracle = Oracle::new(&spec);
    let mut w = World::initial(&spec);
    // Two savepoints pending at once, as a coordinator that treated them as forced would leave.
    let ctx = CoordinatorContext {
        spec: &spec,
        now: 0,
        storage_write_fails: false,
    };
    let mut c: Coordinator = w.coordinator.clone();
    c.step(
        &ctx,
        checkpoint_harness::coordinator::CoordinatorInput::User(UserRequest::Savepoint),
    );
    c.step(
        &ctx,
        checkpoint_harness::coordinator::CoordinatorInput::TriggerPhaseDone,
    );
    let first = c.pending[0].clone();
    let mut second = first.clone();
    second.id = CheckpointId(first.id.0 + 1);
    c.pending.push(second);
    w.coordinator = c;
    let property = invariants::property("pending-within-max-concurrent").expect("registered");
    assert!(property.check(&spec, &oracle, &w).is_err());
}

/// `abort-notified-at-most-once` counts the notifications the world actually sent. With the
/// catalogued `abort-notified-twice` (one Aborted event, every notification sent twice) the
/// coordinator's events are as for a correct abort, so the old event-based check was blind;
/// the new count sees it.
#[test]
fn duplicate_abort_notifications_are_counted_from_the_rpcs() {
    use checkpoint_harness::bugs::{Bug, BugSet};
    use checkpoint_harness::coordinator::CoordinatorEvent;
    let spec = linear().with_bugs(BugSet::of(&[Bug::AbortNotifiedTwice]));
    let oracle = Oracle::new(&spec);
    let w = with_cp1_pending(&spec);
    let timeout = Action::Fire {
        timer: world::Timer::CheckpointTimeout {
            checkpoint: CheckpointId(1),
        },
    };
    let (w, events) = world::apply_traced(&spec, &w, timeout).unwrap();
    let aborted_events = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                world::StepEvent::Coordinator(CoordinatorEvent::Aborted { .. })
            )
        })
        .count();
    assert_eq!(aborted_events, 1, "the events look like a correct abort");
    let violation = invariants::check_all(&spec, &oracle, &w).expect_err("caught");
    assert_eq!(violation.invariant, "abort-notified-at-most-once");
    assert!(
        violation.detail.contains("second abort notification"),
        "{violation}"
    );
}

/// A plan that leaves a running task out of the tasks to wait for: the coordinator's own
/// `expected` set agrees with the acks it got, so the old check (acks against the coordinator's
/// plan) passed; the world says every task was running when the checkpoint was allocated.
#[test]
fn a_plan_that_forgets_a_running_task_is_caught_at_completion() {
    let spec = linear();
    let oracle = Oracle::new(&spec);
    let mut w = with_cp1_pending(&spec);
    // The broken variant: the pending checkpoint does not wait for the sink.
    let sink = TaskId(2);
    w.coordinator.pending[0].not_yet_acked.remove(sink);
    // The source and the map acknowledge (barriers flow, acks arrive).
    for _ in 0..200 {
        if w.coordinator.store.latest().is_some() {
            break;
        }
        let next = world::enabled(&spec, &w)
            .into_iter()
            .find(|a| matches!(a, Action::Deliver { .. } | Action::DeliverRpc { .. }))
            .expect("progress");
        w = world::apply(&spec, &w, next).unwrap();
        if w.ghost.just_completed.is_some() {
            break;
        }
    }
    assert!(w.ghost.just_completed.is_some(), "cp1 completed");
    let property = invariants::property("completed-has-every-ack").expect("registered");
    let error = property.check(&spec, &oracle, &w).expect_err("caught");
    assert!(error.detail.contains("sink"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// The reference's half: cuts built from what the world saw, tallies from the states' own
// contents, and the reference's own expansion and routing.
// ---------------------------------------------------------------------------------------------

use checkpoint_harness::coordinator::store::CompletedCheckpoint;
use checkpoint_harness::protocol::Digest;
use checkpoint_harness::reference::{self, Cut, CutTask};
use checkpoint_harness::scheduler::SchedulerKind;
use checkpoint_harness::sim::{self, Outcome, RunBounds};
use checkpoint_harness::task::operator::OperatorState;

/// Takes the first enabled emit or delivery, step by step, until `done` holds.
fn drive(spec: &Spec, mut w: World, done: impl Fn(&World) -> bool) -> World {
    for _ in 0..200 {
        if done(&w) {
            return w;
        }
        let next = world::enabled(spec, &w)
            .into_iter()
            .find(|a| {
                matches!(
                    a,
                    Action::Emit { .. } | Action::Deliver { .. } | Action::DeliverRpc { .. }
                )
            })
            .expect("progress");
        w = world::apply(spec, &w, next).unwrap();
    }
    panic!("not reached within 200 steps");
}

/// The cut as the old check built it: the coordinator's `finished` set decides who may be
/// missing, and the states' ghost digests what they account for.
fn planned_cut<'a>(spec: &Spec, checkpoint: &'a CompletedCheckpoint) -> Vec<CutTask<'a>> {
    spec.task_ids()
        .map(|task| {
            let snapshot = checkpoint.snapshot(task);
            CutTask {
                operator: snapshot.map(|s| &s.operator),
                channel_state: snapshot
                    .map(|s| s.channel_state.clone())
                    .unwrap_or_default(),
                finished: checkpoint.finished.contains(task),
            }
        })
        .collect()
}

/// Whether every stateful task of a replayed cut accounts for exactly what the reference fold
/// at the cut's offsets says (the digest part of the cut comparison).
fn digests_agree(spec: &Spec, cut: &[CutTask], effective: &[Option<reference::Effective>]) -> bool {
    let expected = reference::fold(spec, &reference::cut_offsets(spec, cut));
    effective.iter().zip(&expected).all(|(actual, want)| {
        actual
            .as_ref()
            .is_none_or(|a| !a.stateful || a.digest == Digest::of(&want.consumed))
    })
}

/// The linear job after its one record reached the sink and cp1 completed.
fn cp1_completed_with_the_record_in_the_sink(spec: &Spec, tamper: impl Fn(&mut World)) -> World {
    let w = World::initial(spec);
    let mut w = drive(
        spec,
        w,
        |w| matches!(&w.tasks[2].operator, OperatorState::TwoPhaseCommitSink { absorbed, .. } if absorbed.count == 1),
    );
    tamper(&mut w);
    let w = world::apply(
        spec,
        &w,
        Action::Fire {
            timer: world::Timer::Periodic,
        },
    )
    .unwrap();
    let w = world::apply(spec, &w, Action::FinishTriggering).unwrap();
    drive(spec, w, |w| w.ghost.just_completed.is_some())
}

/// A completed checkpoint that lacks a running task's state. The old cut check skipped every
/// task without a state (as "finished or absent"), and trusted the coordinator's `finished` set
/// for which tasks may be absent; the reference's cut now asks the world, and a task it did not
/// see finish before the trigger must be in the cut.
#[test]
fn a_task_missing_from_a_completed_checkpoint_breaks_the_cut() {
    let spec = linear();
    let w = cp1_completed_with_the_record_in_the_sink(&spec, |_| {});
    let sink = TaskId(2);
    for planned_finished in [false, true] {
        let mut checkpoint = w.coordinator.store.latest().expect("cp1").clone();
        // The broken variant: the sink's state is not in the checkpoint, and (second round) the
        // coordinator's plan even claims the sink had finished.
        checkpoint.snapshots.retain(|(t, _)| *t != sink);
        if planned_finished {
            checkpoint.finished.insert(sink);
        }

        // The old replay skipped it: nothing to compare, nothing wrong.
        let old = planned_cut(&spec, &checkpoint);
        let replayed = reference::replay_cut(&spec, &old);
        assert!(replayed[sink.0 as usize].is_none());
        assert!(digests_agree(&spec, &old, &replayed));

        // The world saw every task running when cp1 was triggered.
        let cut = Cut::of_checkpoint(&spec, &w, &checkpoint);
        let error = reference::replay(&spec, &cut).expect_err("caught");
        assert!(error.contains("`sink` has no state in the cut"), "{error}");
    }
}

/// A two-phase-commit sink whose `process` counts a record in its ghost digest but loses it
/// from its open transaction. The old cut check compared the ghost digest `process` itself keeps
/// and agreed (only the end-to-end check would see it, once the job finished); the reference now
/// counts what the sink's state holds (open and pre-committed transactions) plus what the
/// external output holds from its committed ones.
#[test]
fn a_sink_whose_process_loses_a_record_is_caught_at_the_cut() {
    let spec = linear();
    let w = cp1_completed_with_the_record_in_the_sink(&spec, |w| {
        if let OperatorState::TwoPhaseCommitSink { current, .. } = &mut w.tasks[2].operator {
            current.clear(); // The broken variant: the record is gone, `absorbed` still has it.
        }
    });
    let checkpoint = w.coordinator.store.latest().expect("cp1");

    // The old replay trusted the ghost digest: it agreed with the reference.
    let old = planned_cut(&spec, checkpoint);
    assert!(digests_agree(
        &spec,
        &old,
        &reference::replay_cut(&spec, &old)
    ));
    let property = invariants::property("end-to-end-exactly-once").expect("registered");
    assert_eq!(property.check(&spec, &Oracle::new(&spec), &w), Ok(()));

    let cut = Cut::of_checkpoint(&spec, &w, checkpoint);
    let effective = reference::replay(&spec, &cut).expect("a complete cut");
    assert!(!digests_agree(&spec, &cut.tasks, &effective));
    assert_eq!(effective[2].as_ref().map(|e| e.digest.count), Some(0));
}

/// The same sink, correct, after cp1's notification committed its transaction: the committed
/// records are in the external output, not in its state, and still count.
#[test]
fn a_committed_transaction_counts_for_the_sink_that_wrote_it() {
    let spec = linear();
    let w = cp1_completed_with_the_record_in_the_sink(&spec, |_| {});
    let w = drive(&spec, w, |w| !w.external.records.is_empty());
    let checkpoint = w.coordinator.store.latest().expect("cp1");
    let cut = Cut::of_checkpoint(&spec, &w, checkpoint);
    let effective = reference::replay(&spec, &cut).expect("a complete cut");
    assert!(digests_agree(&spec, &cut.tasks, &effective));
}

/// Finds a violation within the first seeds of the simulator, if any.
fn first_violation(spec: &Spec) -> Option<invariants::Violation> {
    let oracle = Oracle::new(spec);
    (0..40).find_map(|seed| {
        match sim::run(
            spec,
            &oracle,
            seed,
            SchedulerKind::Random,
            RunBounds::of(spec),
        )
        .outcome
        {
            Outcome::Violation { violation, .. } => Some(violation),
            Outcome::Pass => None,
        }
    })
}

/// source (2 records, 2 keys) -hash-> keyed aggregate (2) -forward-> two-phase-commit sink (2).
fn keyed() -> Spec {
    Spec::parse(
        "keyed-test",
        r#"
name = "keyed-test"

[[operators]]
name = "source"
kind = "source"
records = 2
keys = 2

[[operators]]
name = "count"
kind = "keyed-aggregate"
parallelism = 2

[[operators]]
name = "sink"
kind = "two-phase-commit-sink"
parallelism = 2

[[edges]]
from = "source"
to = "count"
partitioning = "hash"

[[edges]]
from = "count"
to = "sink"

[checkpointing]
interval = 4
timeout = 1000
tolerable_failures = "unlimited"
"#,
    )
    .expect("a valid model")
}

/// A source expanded with the wrong input (every record keyed 0, as a `source_records` that
/// ignored `keys` would make it). The old fold read the expanded `input_records` too and agreed
/// with the system; the reference now derives each source's records from the declaration.
#[test]
fn a_source_expanded_with_the_wrong_records_is_not_mirrored() {
    let mut spec = keyed();
    assert_eq!(first_violation(&spec), None, "the model itself passes");
    for record in &mut spec.tasks[0].input_records {
        record.key = 0;
    }
    let violation = first_violation(&spec).expect("caught");
    assert_eq!(violation.invariant, "completed-checkpoint-consistent");
}

/// A join wired to the wrong sides (the expansion gave the first declared input the right side).
/// The system and the old fold both read the expanded side and agreed; the reference now takes
/// the side from the declaration order of the edges.
#[test]
fn a_join_wired_to_the_wrong_sides_is_not_mirrored() {
    let mut spec = Spec::embedded("two-input-join").expect("an embedded model");
    spec.faults = Default::default();
    assert_eq!(first_violation(&spec), None, "the model itself passes");
    for edge in spec.edges.iter_mut().filter(|e| e.to == 2) {
        edge.input_side = 1 - edge.input_side;
    }
    for task in spec.tasks.iter_mut().filter(|t| t.operator == 2) {
        for input in &mut task.inputs {
            input.side = 1 - input.side;
        }
    }
    let violation = first_violation(&spec).expect("caught");
    assert!(
        violation.invariant == "completed-checkpoint-consistent"
            || violation.invariant == "end-to-end-exactly-once",
        "{violation}"
    );
}

/// The reference states the rebalance partitioner on its own: it agrees with the system's hash
/// for every lineage the models can make, so a change to `Lineage::hash64` (which the old
/// reference called itself, and so followed) now shows as records routed where the reference does
/// not expect them.
#[test]
fn the_reference_states_the_rebalance_partitioner_itself() {
    use checkpoint_harness::protocol::{Lineage, Provenance};
    let provenances = (0..8u8).flat_map(|source| {
        (0..=255u8)
            .step_by(5)
            .map(move |offset| Provenance { source, offset })
    });
    let mut seen = 0;
    for first in provenances.clone() {
        for second in [
            None,
            Some(Provenance {
                source: 1,
                offset: 3,
            }),
        ] {
            let lineage = Lineage { first, second };
            for parallelism in 1..=16u8 {
                let system = (lineage.hash64() % u64::from(parallelism)) as u8;
                assert_eq!(
                    reference::rebalance_target(lineage, parallelism),
                    system,
                    "{lineage}"
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 10_000);

    // And the reference module neither calls the system's hash or routing nor reads its
    // expansion of the graph (comments aside).
    let source = include_str!("../src/oracle/reference.rs");
    let code: Vec<&str> = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    for forbidden in [
        "hash64",
        "topology::",
        "source_records",
        ".process(",
        "spec.task(",
        "spec.sources",
        "spec.channels",
        "spec.key_space",
        "spec.topological_order",
        "input_side",
        "first_task",
        "input_records",
        "source_index",
        ".accounted(",
    ] {
        let uses: Vec<&&str> = code.iter().filter(|l| l.contains(forbidden)).collect();
        assert!(uses.is_empty(), "reference.rs uses {forbidden}: {uses:?}");
    }
}
