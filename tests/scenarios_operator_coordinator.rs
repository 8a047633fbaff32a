//! Operator-coordinator scenario tests: the rules of Flink's `OperatorCoordinatorHolder` (the
//! event valve around the coordinator's checkpoint), `SplitAssignmentTracker` and
//! `SourceCoordinator` (split assignment, `subtaskReset`), restated on the `split-source` model and
//! replayed through the world (`world::apply` over scripted actions, each checked against
//! `world::enabled_with`). Named after the Flink tests they restate (`OperatorCoordinatorHolderTest`,
//! `SplitAssignmentTrackerTest`, `SourceCoordinatorTest`) and, for the lost event, after the rule
//! FLINK-21996 put into `SubtaskGatewayImpl`, and for a savepoint's completion (on the
//! `split-source-savepoint` model) after `CheckpointCoordinator.cleanupAfterCompletedCheckpoint`.
//!
//! Not restated: `OperatorCoordinatorHolderTest#triggeringFailsIfOtherTriggeringInProgress` (the
//! model never triggers two checkpoints at once: `isTriggering`), the tests of a coordinator whose
//! checkpoint fails (the enumerator's snapshot never fails here) and those of events a task sends
//! back besides its split request.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::coordinator::operator_coordinator::SourceCoordinator;
use checkpoint_harness::ghost::LastStep;
use checkpoint_harness::protocol::{CheckpointId, SourceEvent, TaskId};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::task::operator::OperatorState;
use checkpoint_harness::world::{self, Action, Rpc, RpcKind, Timer};

const READER0: TaskId = TaskId(0);
const READER1: TaskId = TaskId(1);

fn model(bugs: &[Bug]) -> Spec {
    Spec::embedded("split-source")
        .expect("embedded")
        .with_bugs(BugSet::of(bugs))
}

mod scripted;

// Every action must be enabled where it is taken; no time horizon, so that a checkpoint's
// timeout can fire.
scripted_run!(Run);

impl Run {
    fn new(bugs: &[Bug]) -> Run {
        Run::without_horizon(model(bugs))
    }

    fn without_horizon(spec: Spec) -> Run {
        Run(scripted::Scripted::new(spec).without_horizon())
    }

    fn rpc(&self, kind: RpcKind, task: TaskId) -> Option<world::RpcKey> {
        self.world
            .rpcs
            .iter()
            .map(Rpc::key)
            .find(|k| k.kind == kind && k.task == task)
    }

    fn deliver(&mut self, kind: RpcKind, task: TaskId) {
        let rpc = self
            .rpc(kind, task)
            .unwrap_or_else(|| panic!("no {kind:?} RPC of {task:?}: {:?}", self.world.rpcs));
        self.apply(Action::DeliverRpc { rpc });
    }

    /// The reader sends its split request (it has no split yet).
    fn request(&mut self, reader: TaskId) {
        self.apply(Action::Emit { task: reader });
        assert!(self.rpc(RpcKind::SplitRequest, reader).is_some());
    }

    /// The periodic trigger fires; the pending checkpoint waits in its asynchronous phase.
    fn trigger(&mut self) -> CheckpointId {
        self.apply(Action::Fire {
            timer: Timer::Periodic,
        });
        self.world
            .coordinator
            .coordinator_snapshot
            .expect("triggering")
    }

    fn reader_splits(&self, reader: TaskId) -> Vec<(u8, u8)> {
        match &self.world.task(reader).operator {
            OperatorState::SplitReader { splits, .. } => splits.clone(),
            other => panic!("not a reader: {other:?}"),
        }
    }

    fn source_events(&self) -> Vec<(TaskId, SourceEvent)> {
        self.world
            .rpcs
            .iter()
            .filter_map(|r| match r {
                Rpc::SourceEvent { task, event } => Some((*task, *event)),
                _ => None,
            })
            .collect()
    }

    /// Delivers channel heads until `task` has taken its snapshot of checkpoint `id`.
    fn deliver_until_snapshot(&mut self, task: TaskId, id: CheckpointId) {
        while self.world.task(task).last_checkpoint_id < id {
            let channel = self
                .spec
                .channel_ids()
                .find(|c| !self.world.channels[c.0 as usize].is_empty())
                .expect("a barrier in flight");
            self.apply(Action::Deliver { channel });
        }
    }

    /// Completes checkpoint `id`: both phases of the trigger, then every barrier and ack.
    fn complete(&mut self, id: CheckpointId) {
        self.apply(Action::FinishTriggering);
        if self.world.coordinator.coordinator_snapshot == Some(id) {
            self.apply(Action::FinishTriggering);
        }
        for reader in [READER0, READER1] {
            self.deliver(RpcKind::Trigger, reader);
        }
        let sink = TaskId(2);
        self.deliver_until_snapshot(sink, id);
        for task in [READER0, READER1, sink] {
            self.deliver(RpcKind::Ack, task);
        }
        assert!(self
            .world
            .coordinator
            .store
            .latest()
            .is_some_and(|c| c.id == id));
    }
}

#[test]
fn operator_coordinator_holder_test_events_before_checkpoint_future_completion_pass_through() {
    let mut run = Run::new(&[]);
    run.request(READER0);
    let id = run.trigger();
    // The coordinator has not checkpointed yet: the answer goes out at once.
    run.deliver(RpcKind::SplitRequest, READER0);
    assert_eq!(
        run.source_events(),
        vec![(READER0, SourceEvent::AddSplit(0))]
    );
    assert!(run.world.source_coordinator.held.is_empty());
    // Its state then says split 0 is assigned.
    run.apply(Action::FinishTriggering);
    let pending = run.world.coordinator.pending(id).expect("pending");
    assert_eq!(pending.coordinator_state.map(|s| s.unassigned), Some(0b10));
    assert_eq!(run.current_violation(), None);
}

#[test]
fn operator_coordinator_holder_test_events_are_blocked_after_checkpoint_future_completes() {
    let mut run = Run::new(&[]);
    run.request(READER0);
    let id = run.trigger();
    // The coordinator's checkpoint is a step of its own, before any trigger RPC (reference §1.7
    // step 7: coordinators first, tasks last).
    run.apply(Action::FinishTriggering);
    assert_eq!(run.world.source_coordinator.marked, Some(id));
    assert!(run.rpc(RpcKind::Trigger, READER0).is_none());
    assert_eq!(
        run.world
            .coordinator
            .pending(id)
            .and_then(|p| p.coordinator_state)
            .map(|s| s.unassigned),
        Some(0b11)
    );
    run.deliver(RpcKind::SplitRequest, READER0);
    assert!(run.world.last.has(LastStep::EVENT_HELD_BY_VALVE));
    assert!(run.source_events().is_empty(), "{:?}", run.world.rpcs);
    assert_eq!(
        run.world.source_coordinator.held,
        vec![(READER0, SourceEvent::AddSplit(0))]
    );
}

#[test]
fn operator_coordinator_holder_test_source_barrier_injection_releases_blocked_events() {
    let mut run = Run::new(&[]);
    run.request(READER0);
    run.trigger();
    run.apply(Action::FinishTriggering);
    run.deliver(RpcKind::SplitRequest, READER0);
    // The trigger RPCs go out (the barriers are injected), then the valve opens.
    run.apply(Action::FinishTriggering);
    assert_eq!(run.world.source_coordinator.marked, None);
    let to_reader: Vec<RpcKind> = run
        .world
        .rpcs
        .iter()
        .map(Rpc::key)
        .filter(|k| k.task == READER0 && matches!(k.kind, RpcKind::Trigger | RpcKind::SourceEvent))
        .map(|k| k.kind)
        .collect();
    assert_eq!(to_reader, vec![RpcKind::Trigger, RpcKind::SourceEvent]);
    // Per-pair FIFO: the reader takes the barrier first, so its snapshot does not hold the
    // split, which the coordinator's checkpoint still has unassigned.
    run.deliver(RpcKind::Trigger, READER0);
    run.deliver(RpcKind::SourceEvent, READER0);
    assert_eq!(run.reader_splits(READER0), vec![(0, 0)]);
    assert_eq!(run.current_violation(), None);
}

#[test]
fn operator_coordinator_holder_test_aborted_checkpoint_releases_blocked_events() {
    // A timeout shorter than the interval, so that the canceller fires first.
    let text = include_str!("../models/split-source.toml").replace("timeout = 40", "timeout = 1");
    let mut run = Run::without_horizon(Spec::parse("short.toml", &text).expect("valid"));
    run.request(READER0);
    let id = run.trigger();
    run.apply(Action::FinishTriggering);
    run.deliver(RpcKind::SplitRequest, READER0);
    // The checkpoint expires in its trigger phase: `abortCurrentTriggering` opens the valve.
    run.apply(Action::Fire {
        timer: Timer::CheckpointTimeout { checkpoint: id },
    });
    assert!(run.world.coordinator.pending(id).is_none());
    assert_eq!(run.world.source_coordinator.marked, None);
    assert_eq!(
        run.source_events(),
        vec![(READER0, SourceEvent::AddSplit(0))]
    );
    assert!(run.rpc(RpcKind::Trigger, READER0).is_none());
}

#[test]
fn split_assignment_tracker_test_get_and_remove_uncheckpointed_assignment() {
    let spec = model(&[]);
    let mut coordinator = SourceCoordinator::new(&spec);
    assert_eq!(coordinator.unassigned, 0b11);
    coordinator.handle_split_request(&spec, READER0);
    let state = coordinator.checkpoint(CheckpointId(1));
    assert_eq!(state.unassigned, 0b10);
    assert!(coordinator.open_valve().is_empty());
    coordinator.handle_split_request(&spec, READER1);
    assert_eq!(coordinator.uncheckpointed, vec![(READER1, 1)]);
    // Restoring checkpoint 1: what reader 0 got before it stays, what reader 1 got after it
    // comes back.
    assert_eq!(coordinator.subtask_reset(READER0, CheckpointId(1)), 0);
    assert_eq!(coordinator.subtask_reset(READER1, CheckpointId(1)), 0b10);
    assert_eq!(coordinator.unassigned, 0b10);
}

#[test]
fn split_assignment_tracker_test_on_checkpoint_complete() {
    let spec = model(&[]);
    let mut coordinator = SourceCoordinator::new(&spec);
    coordinator.handle_split_request(&spec, READER0);
    coordinator.checkpoint(CheckpointId(1));
    coordinator.open_valve();
    assert_eq!(
        coordinator.by_checkpoint,
        vec![(CheckpointId(1), READER0, 0)]
    );
    // Not completed: a reset to an earlier checkpoint gives the split back.
    let mut earlier = coordinator.clone();
    assert_eq!(earlier.subtask_reset(READER0, CheckpointId::NONE), 0b01);
    // Completed: the assignment is final.
    coordinator.checkpoint_complete(CheckpointId(1));
    assert!(coordinator.by_checkpoint.is_empty());
    assert_eq!(coordinator.subtask_reset(READER0, CheckpointId::NONE), 0);
}

#[test]
fn source_coordinator_test_subtask_failed_and_revert_uncompleted_assignments() {
    let mut run = Run::new(&[]);
    run.request(READER0);
    run.deliver(RpcKind::SplitRequest, READER0);
    run.deliver(RpcKind::SourceEvent, READER0);
    let id = run.trigger();
    run.complete(id);
    // After checkpoint 1 (its notification delivered first: one connection, in order), reader 1
    // gets split 1, then fails.
    run.deliver(RpcKind::NotifyComplete, READER1);
    run.request(READER1);
    run.deliver(RpcKind::SplitRequest, READER1);
    run.deliver(RpcKind::SourceEvent, READER1);
    assert_eq!(run.reader_splits(READER1), vec![(1, 0)]);
    run.apply(Action::Crash { task: READER1 });
    run.deliver(RpcKind::TaskFailed, READER1);
    assert!(run.world.last.has(LastStep::RESTORED));
    assert!(run.world.last.has(LastStep::SPLITS_ADDED_BACK));
    // Split 0 is restored with reader 0 (its snapshot), split 1 is back at the enumerator.
    assert_eq!(run.reader_splits(READER0), vec![(0, 0)]);
    assert!(run.reader_splits(READER1).is_empty());
    assert_eq!(run.world.source_coordinator.unassigned, 0b10);
    assert_eq!(run.current_violation(), None);
}

#[test]
fn subtask_gateway_lost_event_fails_the_target_task() {
    // FLINK-21996: "An OperatorEvent from an OperatorCoordinator to a task was lost. Triggering
    // task failover to ensure consistency."
    let mut run = Run::new(&[]);
    run.request(READER0);
    run.deliver(RpcKind::SplitRequest, READER0);
    let rpc = run.rpc(RpcKind::SourceEvent, READER0).expect("the event");
    run.apply(Action::LoseRpc { rpc });
    assert!(run.world.last.has(LastStep::LOST_EVENT_FAILED_READER));
    assert!(!run.world.task(READER0).is_running());
    run.deliver(RpcKind::TaskFailed, READER0);
    // No checkpoint: every split is unassigned again, and the restarted reader asks anew.
    assert_eq!(run.world.source_coordinator.unassigned, 0b11);
    assert_eq!(run.current_violation(), None);
    run.request(READER0);
}

#[test]
fn a_lost_event_that_leaves_its_reader_running_loses_the_split() {
    // Before FLINK-21996: the checkpoint counts the split as assigned, no reader has it.
    let mut run = Run::new(&[Bug::LostEventNotFailingReader]);
    run.request(READER0);
    run.deliver(RpcKind::SplitRequest, READER0);
    let rpc = run.rpc(RpcKind::SourceEvent, READER0).expect("the event");
    run.apply(Action::LoseRpc { rpc });
    assert!(run.world.task(READER0).is_running());
    assert!(run.rpc(RpcKind::TaskFailed, READER0).is_none());
    let id = run.trigger();
    run.complete(id);
    assert_eq!(
        run.current_violation(),
        Some("completed-checkpoint-consistent")
    );
}

#[test]
fn an_event_that_bypasses_the_valve_makes_a_restore_own_the_split_twice() {
    let mut run = Run::new(&[Bug::SplitEventBypassesValve]);
    run.request(READER0);
    let id = run.trigger();
    run.apply(Action::FinishTriggering);
    run.deliver(RpcKind::SplitRequest, READER0);
    // Sent at once, ahead of the trigger RPC.
    assert_eq!(
        run.source_events(),
        vec![(READER0, SourceEvent::AddSplit(0))]
    );
    run.deliver(RpcKind::SourceEvent, READER0);
    run.complete(id);
    run.apply(Action::Crash { task: READER1 });
    run.deliver(RpcKind::TaskFailed, READER1);
    assert_eq!(run.current_violation(), Some("restored-splits-owned-once"));
}

#[test]
fn split_source_models_are_validated() {
    let base = include_str!("../models/split-source.toml");
    let forward = base.replace("partitioning = \"rebalance\"", "partitioning = \"forward\"");
    let forward = forward.replace("name = \"sink\"", "name = \"sink\"\nparallelism = 2");
    let error = Spec::parse("f.toml", &forward).expect_err("forward edge");
    assert_eq!(error.key, "edges[0].partitioning");
    let unordered = base.replace("rpc_order = \"per-pair-fifo\"", "rpc_order = \"unordered\"");
    let error = Spec::parse("u.toml", &unordered).expect_err("unordered RPCs");
    assert_eq!(error.key, "network.rpc_order");
    let misplaced = base.replace(
        "kind = \"two-phase-commit-sink\"",
        "kind = \"two-phase-commit-sink\"\nsplits = 2",
    );
    let error = Spec::parse("m.toml", &misplaced).expect_err("splits on a sink");
    assert_eq!(error.key, "operators[1].splits");
    assert!(
        error.reason.contains("only a split-source"),
        "{}",
        error.reason
    );
}

/// A savepoint on `split-source-savepoint` (one reader, task 0; the sink, task 1): reader 0 is
/// assigned the only split, then a savepoint is taken to completion and reader 0 crashes.
/// Returns the run after the failover, the checkpoint the savepoint was.
fn savepoint_then_crash(bugs: &[Bug]) -> (Run, CheckpointId) {
    let spec = Spec::embedded("split-source-savepoint")
        .expect("embedded")
        .with_bugs(BugSet::of(bugs));
    let mut run = Run::without_horizon(spec);
    let sink = TaskId(1);
    run.request(READER0);
    run.deliver(RpcKind::SplitRequest, READER0);
    run.deliver(RpcKind::SourceEvent, READER0);
    assert_eq!(run.reader_splits(READER0), vec![(0, 0)]);
    run.apply(Action::User {
        request: world::UserRequestKind::Savepoint,
    });
    let id = run
        .world
        .coordinator
        .coordinator_snapshot
        .expect("the savepoint's coordinator checkpoint runs first");
    run.apply(Action::FinishTriggering);
    run.apply(Action::FinishTriggering);
    run.deliver(RpcKind::Trigger, READER0);
    run.deliver_until_snapshot(sink, id);
    run.deliver(RpcKind::Ack, READER0);
    run.deliver(RpcKind::Ack, sink);
    assert!(run.world.last.has(LastStep::SAVEPOINT_COMPLETED));
    assert!(
        run.world.coordinator.store.latest().is_none(),
        "never stored"
    );
    run.apply(Action::Crash { task: READER0 });
    run.deliver(RpcKind::TaskFailed, READER0);
    assert!(run.world.last.has(LastStep::RESTORED));
    (run, id)
}

#[test]
fn checkpoint_coordinator_savepoint_completion_notifies_no_operator_coordinator() {
    // `CheckpointCoordinator.cleanupAfterCompletedCheckpoint` sends `notifyCheckpointComplete` to
    // the tasks and to every operator coordinator only for a checkpoint that is not a savepoint
    // or is synchronous: the tracker keeps the assignment it recorded for the savepoint.
    let (run, id) = savepoint_then_crash(&[]);
    assert!(run.rpc(RpcKind::NotifyComplete, READER0).is_none());
    // No checkpoint was completed: the failover restores none, and `subtaskReset(reader, -1)`
    // gives the split back to the enumerator, which assigns it anew.
    assert!(run.world.last.has(LastStep::SPLITS_ADDED_BACK));
    assert_eq!(run.world.source_coordinator.unassigned, 0b1);
    assert!(run.reader_splits(READER0).is_empty());
    assert!(id > CheckpointId::NONE);
    assert_eq!(run.current_violation(), None);
}

#[test]
fn a_savepoint_that_notifies_the_operator_coordinators_loses_the_split() {
    let (run, _) = savepoint_then_crash(&[Bug::SavepointNotifiesOperatorCoordinators]);
    assert!(!run.world.last.has(LastStep::SPLITS_ADDED_BACK));
    assert_eq!(run.world.source_coordinator.unassigned, 0);
    assert_eq!(run.current_violation(), Some("restored-splits-owned-once"));
}
