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

/// Output values come from the declaration, not from the operators: a source record `j` is
/// worth `j + 1`, a map makes `3v + 1`, a join adds both sides; a record derived through a keyed
/// aggregate may carry any value (its running count depends on arrival order).
#[test]
fn the_reference_states_the_output_values_itself() {
    use checkpoint_harness::protocol::{Lineage, Provenance, TaskId};
    use checkpoint_harness::reference::OutputValues;
    let single = |source, offset| Lineage::single(Provenance { source, offset });
    let values = |model: &str, sink: u8, lineage| {
        let spec = Spec::embedded(model).expect("embedded");
        OutputValues::of(&spec)
            .expected(TaskId(sink), lineage)
            .map(|v| v.iter().flatten().copied().collect::<Vec<u16>>())
    };
    // diamond: source -> (map a, map b) -> union -> sink (task 4): both paths map once.
    assert_eq!(values("diamond", 4, single(0, 1)), Some(vec![7]));
    // keyed-join-2pc: orders, payments -> join -> sink (task 3): 1 + 1.
    let joined = Lineage::joined(single(0, 0), single(1, 0));
    assert_eq!(values("keyed-join-2pc", 3, joined), Some(vec![2]));
    // keyed-aggregate: any value (None), and no expectation for a lineage the sink never gets.
    let spec = Spec::embedded("keyed-aggregate").expect("embedded");
    let sink = TaskId(spec.tasks.len() as u8 - 1);
    assert_eq!(values("keyed-aggregate", sink.0, single(0, 0)), None);
    assert_eq!(values("diamond", 4, single(7, 0)), None);
}

/// A record whose value is wrong fails `end-to-end-exactly-once` even where its lineage is
/// right: the canary for the value check.
#[test]
fn a_wrong_output_value_is_caught() {
    use checkpoint_harness::invariants::{self, Oracle};
    use checkpoint_harness::protocol::{Lineage, Provenance, Record, TaskId};
    use checkpoint_harness::world::{World, Writer};
    let spec = Spec::embedded("diamond").expect("embedded");
    let oracle = Oracle::new(&spec);
    let lineage = Lineage::single(Provenance {
        source: 0,
        offset: 0,
    });
    let written = |value| {
        let mut world = World::initial(&spec);
        world.external.records.push((
            Record {
                key: 0,
                value,
                lineage,
            },
            Writer {
                sink: TaskId(4),
                transaction: None,
            },
        ));
        invariants::check_all(&spec, &oracle, &world).err()
    };
    assert!(written(4).is_none(), "3 * 1 + 1 is right");
    let violation = written(1).expect("the source's value, not the map's");
    assert_eq!(violation.invariant, "end-to-end-exactly-once");
    assert!(violation.detail.contains("value 1"), "{}", violation.detail);
}

/// Where a keyed aggregate feeds the sink, the order of a key's records is free but its counts
/// are not: a finished job's output for each key must count 1, 2, ..., n. Two records of key 0
/// that both say 1 (an aggregate that forwards the source's value, or one that lost its count)
/// are caught; the same counts in either order are not.
#[test]
fn a_keyed_aggregate_output_must_count_each_key_from_one() {
    use checkpoint_harness::protocol::{Lineage, Provenance, Record, TaskId};
    use checkpoint_harness::reference::OutputValues;
    // unaligned: left, right (2 records, 2 keys each) -> union -> count -> sink (task 4).
    let spec = Spec::embedded("unaligned").expect("embedded");
    let values = OutputValues::of(&spec);
    let record = |source, offset, value| Record {
        key: 0,
        value,
        lineage: Lineage::single(Provenance { source, offset }),
    };
    let sink = TaskId(4);
    let miscounted =
        |records: &[Record]| values.miscounted(&spec, records.iter().map(|r| (sink, r)));
    // Key 0 is offset 0 of either source, key 1 offset 1.
    let counted = [
        record(1, 0, 1),
        record(0, 0, 2),
        record(0, 1, 1),
        record(1, 1, 2),
    ];
    assert_eq!(miscounted(&counted), None);
    let forwarded = [
        record(1, 0, 1),
        record(0, 0, 1),
        record(0, 1, 1),
        record(1, 1, 2),
    ];
    let (operator, key, found) = miscounted(&forwarded).expect("key 0 counted 1 twice");
    assert_eq!((spec.operators[operator].name.as_str(), key), ("sink", 0));
    assert_eq!(found, vec![1, 1]);
    // A sink fed by anything else has no such rule.
    let diamond = Spec::embedded("diamond").expect("embedded");
    let diamond_values = OutputValues::of(&diamond);
    let repeated = [record(0, 0, 5), record(0, 0, 5)];
    assert_eq!(
        diamond_values.miscounted(&diamond, repeated.iter().map(|r| (TaskId(4), r))),
        None
    );
}
