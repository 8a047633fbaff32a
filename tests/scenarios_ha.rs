//! Scenarios of HA storage under JobManager failures, named after the Flink tests whose rule
//! each one asserts (none of them is among the reference's §4 scenarios, which do not cover HA
//! writes; docs/scenarios.md says so):
//!
//! - `CheckpointCoordinatorFailureTest#testCleanupForGenericFailure` /
//!   `#testCleanupOmissionForPossibleInconsistentStateException`: a failed store add is cleaned
//!   up, unless it is possibly inconsistent (`addCompletedCheckpointToStoreAndSubsumeOldest`);
//! - `DefaultCompletedCheckpointStoreTest#testShutdownShouldNotDiscardStateHandleWhenJobIsNotGloballyTerminalState`:
//!   losing leadership (SUSPENDED) deletes nothing from HA storage;
//! - recovery by a new leader (`DefaultCompletedCheckpointStoreUtils.retrieveCompletedCheckpoints`)
//!   reads back a checkpoint whose add reported a failure but landed;
//! - a restart that is not atomic (`DefaultScheduler.restartTasksWithDelay`): leadership lost
//!   between the cancellation and the restore, or the restore after the delay.
//!
//! Each runs the `ha-failures` model's world (or its coordinator's step function) to the
//! situation, then asserts Flink's outcome; the invariants are checked after every step.

use checkpoint_harness::bugs::Bug;
use checkpoint_harness::coordinator::store::Discarder;
use checkpoint_harness::coordinator::{
    CoordinatorContext, CoordinatorEvent, CoordinatorInput, CoordinatorOutput, StepFaults,
};
use checkpoint_harness::ghost::LastStep;
use checkpoint_harness::invariants::{self, Oracle};
use checkpoint_harness::protocol::{CheckpointId, FailureReason};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::{self, Action, Rpc, RpcKind, StepEvent, World};

fn spec() -> Spec {
    Spec::embedded("ha-failures").expect("embedded")
}

fn with_bug(bug: Bug) -> Spec {
    let mut spec = spec();
    spec.bugs.insert(bug);
    spec
}

/// Applies `action` and checks every invariant; returns the world and the step's events.
fn step(spec: &Spec, w: &World, action: Action) -> (World, Vec<StepEvent>) {
    let (next, events) = world::apply_traced(spec, w, action).expect("enabled");
    if !spec.bugs.is_empty() {
        return (next, events);
    }
    let oracle = Oracle::new(spec);
    if let Err(v) = invariants::check_all(spec, &oracle, &next) {
        panic!("{v} after {action:?}");
    }
    (next, events)
}

/// Runs fault-free, non-user actions (timers last) until `until` holds.
fn drive(spec: &Spec, mut w: World, until: impl Fn(&World) -> bool) -> World {
    for _ in 0..500 {
        if until(&w) {
            return w;
        }
        let actions = world::enabled(spec, &w);
        let next = actions
            .iter()
            .find(|a| !a.is_fault() && !a.is_user() && !a.is_timer())
            .or_else(|| actions.iter().find(|a| a.is_timer()))
            .copied()
            .expect("something is enabled");
        w = step(spec, &w, next).0;
    }
    panic!("not reached");
}

/// cp1's acknowledgement from a task it still waits for, if one is in flight.
fn awaited_ack(w: &World) -> Option<&Rpc> {
    let pending = w.coordinator.pending(CheckpointId(1))?;
    w.rpcs.iter().find(|r| {
        matches!(r, Rpc::Ack { id, .. } if *id == CheckpointId(1))
            && pending.not_yet_acked.contains(r.key().task)
    })
}

/// cp1 waits for one acknowledgement, which is in flight.
fn last_ack_of_cp1_in_flight(spec: &Spec) -> World {
    drive(spec, World::initial(spec), |w| {
        w.coordinator
            .pending(CheckpointId(1))
            .is_some_and(|p| p.not_yet_acked.len() == 1)
            && awaited_ack(w).is_some()
    })
}

fn last_ack(w: &World) -> Action {
    let key = awaited_ack(w).expect("in flight").key();
    assert_eq!(key.kind, RpcKind::Ack);
    Action::DeliverRpc { rpc: key }
}

/// The coordinator's outputs for cp1's last acknowledgement with the store add failing.
fn store_add_fails(store_write_lands: bool) -> (Vec<CoordinatorOutput>, CheckpointId) {
    let spec = spec();
    let w = last_ack_of_cp1_in_flight(&spec);
    let Some(Rpc::Ack {
        task,
        attempt,
        id,
        snapshot,
    }) = awaited_ack(&w).cloned()
    else {
        unreachable!()
    };
    let ctx = CoordinatorContext {
        spec: &spec,
        now: w.now,
        storage_write_fails: true,
    };
    let faults = StepFaults {
        store_write_lands,
        restart_may_park: false,
    };
    let mut coordinator = w.coordinator.clone();
    let out = coordinator.step_with(
        &ctx,
        faults,
        CoordinatorInput::Ack {
            task,
            attempt,
            id,
            snapshot,
        },
    );
    assert!(
        coordinator.store.entries.is_empty(),
        "not in the local copy"
    );
    assert_eq!(
        coordinator
            .store
            .ha_only
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        if store_write_lands { vec![id] } else { vec![] },
        "only a possibly inconsistent add is in HA storage"
    );
    (out, id)
}

fn violation(spec: &Spec, w: &World) -> invariants::Violation {
    invariants::check_all(spec, &Oracle::new(spec), w).expect_err("violated")
}

fn discards(out: &[CoordinatorOutput]) -> Vec<(CheckpointId, Discarder)> {
    out.iter()
        .filter_map(|o| match o {
            CoordinatorOutput::DiscardState { id, by } => Some((*id, *by)),
            _ => None,
        })
        .collect()
}

/// Common to both: FINALIZE_CHECKPOINT_FAILURE reaches the failure manager at job level (and is
/// counted: tolerance 0 fails the job), the tasks are sent abort notifications naming the latest
/// checkpoint of the local store (none).
fn assert_reported_and_aborted(out: &[CoordinatorOutput], id: CheckpointId) {
    assert!(out.iter().any(|o| matches!(
        o,
        CoordinatorOutput::Event(CoordinatorEvent::FailureReported {
            id: Some(i),
            reason: FailureReason::FinalizeCheckpointFailure,
            ..
        }) if *i == id
    )));
    assert!(out.iter().any(|o| matches!(
        o,
        CoordinatorOutput::Event(CoordinatorEvent::FailedByFailureManager)
    )));
    assert!(out.iter().any(|o| matches!(
        o,
        CoordinatorOutput::NotifyAborted { id: i, latest_completed, .. }
            if *i == id && latest_completed.is_none()
    )));
}

#[test]
fn ccft_test_cleanup_for_generic_failure() {
    let (out, id) = store_add_fails(false);
    assert_reported_and_aborted(&out, id);
    assert_eq!(discards(&out), vec![(id, Discarder::FailedStoring)]);
}

#[test]
fn ccft_test_cleanup_omission_for_possible_inconsistent_state_exception() {
    let (out, id) = store_add_fails(true);
    assert_reported_and_aborted(&out, id);
    assert_eq!(discards(&out), vec![], "the state may be read back: kept");
}

/// The world's possibly inconsistent fault (the storage fault, then made landing) and a new
/// leader: it recovers the checkpoint from HA storage and restores it, state intact; the sinks
/// commit its transaction, which is now complete.
#[test]
fn jm_failover_recovers_a_possibly_inconsistent_checkpoint() {
    let spec = spec();
    let w = last_ack_of_cp1_in_flight(&spec);
    let (w, _) = step(&spec, &w, Action::FailStorageWrite);
    let (w, _) = step(&spec, &w, Action::FailStorageWrite);
    assert!(w.storage_fault_armed && w.storage_fault_lands);
    let ack = last_ack(&w);
    let (w, events) = step(&spec, &w, ack);
    assert!(events.iter().any(|e| matches!(
        e,
        StepEvent::Coordinator(CoordinatorEvent::Aborted {
            reason: FailureReason::FinalizeCheckpointFailure,
            ..
        })
    )));
    assert!(w.ghost.possibly_inconsistent.contains(CheckpointId(1)));
    assert_eq!(w.coordinator.store.ha_only.len(), 1);
    // The failure manager's verdict (tolerance 0) restarts the job: parked, the one
    // non-atomic restart of the model; the JobManager loses leadership meanwhile.
    assert!(w.coordinator.parked_restart.is_some());
    let (w, events) = step(&spec, &w, Action::FailoverCoordinator);
    assert!(w.last.has(LastStep::LEADERSHIP_LOST_DURING_RESTART));
    assert!(w.last.has(LastStep::RESTORED_POSSIBLY_INCONSISTENT));
    assert!(events.iter().any(|e| matches!(
        e,
        StepEvent::Coordinator(CoordinatorEvent::Restored { id: Some(i), .. }) if *i == CheckpointId(1)
    )));
    assert_eq!(
        w.coordinator
            .store
            .entries
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        vec![CheckpointId(1)]
    );
    assert!(w.coordinator.store.ha_only.is_empty());
    assert!(w.files.discarded().is_empty());
}

/// The same run with the pre-FLINK-22494 clean-up: HA storage names a checkpoint whose files
/// are gone, which `restored-checkpoint-intact` reports at once.
#[test]
fn discard_on_possibly_inconsistent_write_violates_restored_checkpoint_intact() {
    let spec = with_bug(Bug::DiscardOnPossiblyInconsistentWrite);
    let w = last_ack_of_cp1_in_flight(&spec);
    let (w, _) = step(&spec, &w, Action::FailStorageWrite);
    let (w, _) = step(&spec, &w, Action::FailStorageWrite);
    let ack = last_ack(&w);
    let (w, _) = step(&spec, &w, ack);
    assert_eq!(
        w.files.discarded(),
        &[(CheckpointId(1), Discarder::FailedStoring)]
    );
    let v = violation(&spec, &w);
    assert_eq!(v.invariant, "restored-checkpoint-intact");
}

/// Losing leadership suspends the job: HA storage keeps cp1 and its files; the new leader
/// restores it. With `ha-cleanup-on-suspend` the files are deleted (FLINK-4201).
#[test]
fn dccst_test_shutdown_should_not_discard_state_handle_when_job_is_not_globally_terminal_state() {
    for bug in [None, Some(Bug::HaCleanupOnSuspend)] {
        let spec = bug.map_or_else(spec, with_bug);
        let w = drive(&spec, World::initial(&spec), |w| {
            !w.coordinator.store.entries.is_empty()
        });
        let (w, _) = step(&spec, &w, Action::FailoverCoordinator);
        assert_eq!(
            w.coordinator.store.latest_id(),
            CheckpointId(1),
            "recovered from HA storage"
        );
        assert!(w.last.has(LastStep::RESTORED));
        match bug {
            None => assert!(w.files.discarded().is_empty()),
            Some(_) => {
                assert_eq!(
                    w.files.discarded(),
                    &[(CheckpointId(1), Discarder::Shutdown)]
                );
                assert!(w.last.has(LastStep::RESTORED_DISCARDED));
                let v = violation(&spec, &w);
                assert_eq!(v.invariant, "restored-checkpoint-intact");
            }
        }
    }
}

/// cp1 completed, then a task crashed and its failure report parked the restart.
fn restart_parked_after_crash(spec: &Spec) -> World {
    let w = drive(spec, World::initial(spec), |w| {
        !w.coordinator.store.entries.is_empty()
    });
    let crash = world::enabled(spec, &w)
        .into_iter()
        .find(|a| matches!(a, Action::Crash { .. }))
        .expect("a task runs");
    let (w, _) = step(spec, &w, crash);
    let failed = w
        .rpcs
        .iter()
        .find(|r| r.key().kind == RpcKind::TaskFailed)
        .expect("the failure is reported")
        .key();
    step(spec, &w, Action::DeliverRpc { rpc: failed }).0
}

/// A task crash's restart is parked (the model's one non-atomic restart): between the
/// cancellation and the restore only the restart itself or a leadership loss may happen; the
/// restart then restores the latest checkpoint.
#[test]
fn restart_tasks_with_delay_restores_after_the_delay() {
    let spec = spec();
    let w = restart_parked_after_crash(&spec);
    assert!(w.coordinator.parked_restart.is_some());
    assert_eq!(w.used.non_atomic_restarts, 1);
    assert!(!w.last.has(LastStep::RESTORED), "not restored yet");
    assert_eq!(
        world::enabled(&spec, &w),
        vec![Action::FinishTriggering, Action::FailoverCoordinator]
    );
    let (w, events) = step(&spec, &w, Action::FinishTriggering);
    assert!(w.coordinator.parked_restart.is_none());
    assert!(events.iter().any(|e| matches!(
        e,
        StepEvent::Coordinator(CoordinatorEvent::Restored { id: Some(i), .. }) if *i == CheckpointId(1)
    )));
    // Only the first restart of a run is non-atomic in this model.
    assert_eq!(spec.faults.non_atomic_restarts, 1);
}

/// Leadership lost while the job restarts: the parked restart never happens; the new leader
/// recovers the store from HA storage (deleting nothing) and restores the job from it.
#[test]
fn leadership_loss_during_restart_recovers_from_ha_storage() {
    let spec = spec();
    let w = restart_parked_after_crash(&spec);
    let attempt = w.coordinator.attempt;
    let (w, events) = step(&spec, &w, Action::FailoverCoordinator);
    assert!(w.last.has(LastStep::LEADERSHIP_LOST_DURING_RESTART));
    assert!(w.coordinator.parked_restart.is_none(), "a new leader");
    let restores = events
        .iter()
        .filter(|e| matches!(e, StepEvent::Coordinator(CoordinatorEvent::Restored { .. })))
        .count();
    assert_eq!(restores, 1, "only the new leader restores");
    assert_eq!(w.coordinator.store.latest_id(), CheckpointId(1));
    assert!(w.files.discarded().is_empty());
    assert!(w.coordinator.attempt > attempt);
}
