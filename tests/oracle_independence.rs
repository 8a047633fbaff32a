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
