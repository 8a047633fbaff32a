//! Rules the oracle states for itself instead of reading them off the code it judges: failure
//! counting from the causes the world delivered, and the request decider's order, refusal and
//! minimum-pause rules from what each input did to the queue. Each test feeds the world's ghost
//! a step that the code under test could produce and shows the flag the property reads; the
//! first tests are the cases the earlier oracle, which followed the coordinator's own failure
//! reports, could not see.

use checkpoint_harness::coordinator::decider::TriggerRequest;
use checkpoint_harness::coordinator::failure_manager::FailureLevel;
use checkpoint_harness::coordinator::CoordinatorEvent;
use checkpoint_harness::ghost::{Ghost, LastStep, RequestTraffic};
use checkpoint_harness::protocol::{CheckpointId, FailureReason, SnapshotKind};
use checkpoint_harness::spec::Spec;

/// coordinator-faults: no tolerable failure, a minimum pause of 5, periodic interval 10.
fn spec() -> Spec {
    Spec::embedded("coordinator-faults").expect("embedded")
}

fn allocated(ghost: &mut Ghost, spec: &Spec, id: u32, last: &mut LastStep) {
    ghost.observe(
        spec,
        0,
        &CoordinatorEvent::Allocated(CheckpointId(id), SnapshotKind::Checkpoint),
        last,
    );
}

#[test]
fn a_failover_for_a_failure_the_coordinator_reported_but_nothing_caused_is_seen() {
    let spec = spec();
    let (mut ghost, mut last) = (Ghost::default(), LastStep::default());
    allocated(&mut ghost, &spec, 1, &mut last);
    // The coordinator claims a counted task-level decline that no task sent, and fails over.
    for event in [
        CoordinatorEvent::FailureReported {
            id: Some(CheckpointId(1)),
            kind: SnapshotKind::Checkpoint,
            reason: FailureReason::CheckpointDeclined,
            level: FailureLevel::Task,
        },
        CoordinatorEvent::FailedByFailureManager,
    ] {
        ghost.observe(&spec, 0, &event, &mut last);
    }
    ghost.end_step(&mut last);
    assert!(
        last.has(LastStep::FAILOVER_WITHOUT_CAUSE),
        "the report is not a cause: {last:?}"
    );
}

#[test]
fn a_delivered_decline_over_the_tolerance_demands_a_failover() {
    let spec = spec();
    let (mut ghost, mut last) = (Ghost::default(), LastStep::default());
    allocated(&mut ghost, &spec, 1, &mut last);
    // A task's decline was delivered; the coordinator neither reports nor counts it.
    ghost.delivered_failure(
        &spec,
        CheckpointId(1),
        SnapshotKind::Checkpoint,
        FailureReason::CheckpointDeclined,
        FailureLevel::Task,
    );
    ghost.end_step(&mut last);
    assert!(last.has(LastStep::FAILOVER_MISSING), "{last:?}");
}

#[test]
fn uncounted_causes_and_job_level_savepoint_failures_demand_nothing() {
    let spec = spec();
    for (kind, reason, level) in [
        (
            SnapshotKind::Checkpoint,
            FailureReason::CheckpointDeclinedTaskNotReady,
            FailureLevel::Task,
        ),
        (
            SnapshotKind::Savepoint,
            FailureReason::CheckpointExpired,
            FailureLevel::Job,
        ),
    ] {
        let (mut ghost, mut last) = (Ghost::default(), LastStep::default());
        allocated(&mut ghost, &spec, 1, &mut last);
        ghost.delivered_failure(&spec, CheckpointId(1), kind, reason, level);
        ghost.end_step(&mut last);
        assert_eq!(last, LastStep::default(), "{kind:?} {reason:?}");
    }
}

fn request(kind: SnapshotKind, periodic: bool, created: u32, seq: u32) -> TriggerRequest {
    TriggerRequest {
        kind,
        periodic,
        forced: kind.is_savepoint(),
        created,
        seq,
    }
}

fn traffic_flags(
    ghost: &Ghost,
    before: &[TriggerRequest],
    after: &[TriggerRequest],
    periodic_input: bool,
    failed: &[(SnapshotKind, FailureReason)],
    now: u32,
    periodic_due: Option<u32>,
) -> LastStep {
    let mut last = LastStep::default();
    let traffic = RequestTraffic {
        now,
        before,
        after,
        periodic_input,
        failed,
        periodic_due,
    };
    ghost.request_traffic(&spec(), &traffic, &mut last);
    last
}

#[test]
fn a_periodic_request_taken_before_a_queued_savepoint_is_out_of_order() {
    let ghost = Ghost::default();
    let periodic = request(SnapshotKind::Checkpoint, true, 10, 0);
    let savepoint = request(SnapshotKind::Savepoint, false, 12, 1);
    let manual = request(SnapshotKind::Checkpoint, false, 11, 2);
    let before = [periodic, savepoint, manual];
    // Flink's order: the savepoint first.
    let right = traffic_flags(
        &ghost,
        &before,
        &[periodic, manual],
        false,
        &[],
        20,
        Some(30),
    );
    assert!(!right.has(LastStep::REQUEST_OUT_OF_ORDER), "{right:?}");
    let wrong = traffic_flags(
        &ghost,
        &before,
        &[savepoint, manual],
        false,
        &[],
        20,
        Some(30),
    );
    assert!(wrong.has(LastStep::REQUEST_OUT_OF_ORDER), "{wrong:?}");
    // A user checkpoint goes before a periodic one even when it is younger.
    let wrong = traffic_flags(
        &ghost,
        &[periodic, manual],
        &[manual],
        false,
        &[],
        20,
        Some(30),
    );
    assert!(wrong.has(LastStep::REQUEST_OUT_OF_ORDER), "{wrong:?}");
}

#[test]
fn a_refusal_below_capacity_is_seen() {
    let ghost = Ghost::default();
    let queued = [request(SnapshotKind::Checkpoint, false, 1, 0)];
    let refused = [(
        SnapshotKind::Checkpoint,
        FailureReason::TooManyCheckpointRequests,
    )];
    let last = traffic_flags(&ghost, &queued, &queued, false, &refused, 5, Some(10));
    assert!(last.has(LastStep::REFUSED_BELOW_CAPACITY), "{last:?}");
}

#[test]
fn the_minimum_pause_drops_only_periodic_requests_inside_the_pause_and_rearms_at_its_end() {
    let spec = spec();
    let mut ghost = Ghost::default();
    let mut last = LastStep::default();
    ghost.observe(
        &spec,
        20,
        &CoordinatorEvent::Completed {
            id: CheckpointId(1),
            kind: SnapshotKind::Checkpoint,
        },
        &mut last,
    );
    let dropped = [(
        SnapshotKind::Checkpoint,
        FailureReason::MinimumTimeBetweenCheckpoints,
    )];
    // The periodic timer at t=22 submits a request inside the pause (ends at 25): dropped, and
    // the trigger is due at 25.
    let right = traffic_flags(&ghost, &[], &[], true, &dropped, 22, Some(25));
    assert!(!right.has(LastStep::MIN_PAUSE_MISAPPLIED), "{right:?}");
    // Re-armed for another time.
    let late = traffic_flags(&ghost, &[], &[], true, &dropped, 22, Some(47));
    assert!(late.has(LastStep::MIN_PAUSE_MISAPPLIED), "{late:?}");
    // A user's request (not the periodic timer's, none periodic queued) is never dropped.
    let user = traffic_flags(&ghost, &[], &[], false, &dropped, 22, Some(25));
    assert!(user.has(LastStep::MIN_PAUSE_MISAPPLIED), "{user:?}");
    // After the pause there is nothing to drop for.
    let over = traffic_flags(&ghost, &[], &[], true, &dropped, 25, Some(25));
    assert!(over.has(LastStep::MIN_PAUSE_MISAPPLIED), "{over:?}");
}
