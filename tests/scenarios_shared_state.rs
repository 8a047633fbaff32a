//! Scenarios of incremental checkpoints, the shared-state registry and restore (claim) modes,
//! named after the Flink tests whose rule each asserts (reference §4.3, §4.4, §4.8):
//!
//! - `CheckpointCoordinatorTest#testSharedStateRegistrationOnRestore` (CLAIM and NO_CLAIM);
//! - `CheckpointCoordinatorTest#testSharedStateNotDiscaredOnAbort`;
//! - `CheckpointCoordinatorTriggeringTest#testTriggeringFullSnapshotAfterJobmasterFailover` and
//!   `#testTriggeringFullCheckpoints`.
//!
//! They drive the registry (`coordinator/shared_state.rs`) or the `incremental` model's
//! coordinator step function and assert Flink's outcome.

use checkpoint_harness::coordinator::shared_state::{ClaimMode, SharedStateRegistry};
use checkpoint_harness::coordinator::{
    Coordinator, CoordinatorContext, CoordinatorInput, CoordinatorOutput, UserRequest,
};
use checkpoint_harness::protocol::{CheckpointId, SharedFile, TaskId};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::task::TaskSnapshot;
use checkpoint_harness::world::{World, RETAINED_CHECKPOINT};

fn spec(restore_mode: &str) -> Spec {
    let text = checkpoint_harness::spec::EMBEDDED_MODELS
        .iter()
        .find(|(name, _)| *name == "incremental")
        .expect("embedded")
        .1
        .replace(
            "restore_mode = \"no-claim\"",
            &format!("restore_mode = \"{restore_mode}\""),
        );
    Spec::parse("incremental.toml", &text).expect("valid")
}

fn file(task: u8, created: u32) -> SharedFile {
    SharedFile {
        task: TaskId(task),
        created: CheckpointId(created),
    }
}

/// The registry of a job restored from checkpoint 1 (files `t0@cp1`, `t1@cp1`) in `mode`, whose
/// checkpoint 2 reuses `t0@cp1` and uploads `t0@cp2`, `t1@cp2` (task 1's snapshot is full).
fn restored_then_checkpoint(mode: ClaimMode) -> (SharedStateRegistry, Vec<SharedFile>) {
    let spec = spec(match mode {
        ClaimMode::Claim => "claim",
        ClaimMode::NoClaim => "no-claim",
    });
    let mut registry = SharedStateRegistry::default();
    registry.register_restored(
        &spec,
        CheckpointId(1),
        [file(0, 1), file(1, 1)].into_iter(),
        mode,
    );
    registry
        .register(&[file(0, 1), file(0, 2)], CheckpointId(2))
        .expect("known placeholder");
    registry
        .register(&[file(1, 2)], CheckpointId(2))
        .expect("a new upload");
    // Checkpoint 2 enters the store and subsumes checkpoint 1.
    let deleted = registry.unregister_unused(CheckpointId(2));
    (registry, deleted)
}

// CCT#testSharedStateRegistrationOnRestore (CLAIM) — Flink asserts: after the restore the
// handles are registered again; CLAIM mode may delete the handles only the oldest (restored)
// checkpoint referenced, and keeps the ones still used.
#[test]
fn cct_test_shared_state_registration_on_restore_claim() {
    let (registry, deleted) = restored_then_checkpoint(ClaimMode::Claim);
    assert_eq!(deleted, vec![file(1, 1)]);
    let kept: Vec<SharedFile> = registry.entries.iter().map(|e| e.file).collect();
    assert_eq!(kept, vec![file(0, 1), file(0, 2), file(1, 2)]);
}

// CCT#testSharedStateRegistrationOnRestore (NO_CLAIM) — Flink asserts: NO_CLAIM never deletes
// the restored checkpoint's handles, even once unused.
#[test]
fn cct_test_shared_state_registration_on_restore_no_claim() {
    let (registry, deleted) = restored_then_checkpoint(ClaimMode::NoClaim);
    assert!(deleted.is_empty(), "deleted {deleted:?}");
    // The unused entry is unregistered all the same.
    assert!(registry.entries.iter().all(|e| e.file != file(1, 1)));
}

// CCT#testSharedStateNotDiscaredOnAbort — Flink asserts: the shared handle of an ack whose
// checkpoint is aborted is kept (registered on the ack), and released only after a later
// checkpoint completes.
#[test]
fn cct_test_shared_state_not_discarded_on_abort() {
    let mut registry = SharedStateRegistry::default();
    // Checkpoint 1's ack registers its upload; checkpoint 1 is then declined.
    registry
        .register(&[file(0, 1)], CheckpointId(1))
        .expect("a new upload");
    assert_eq!(registry.entries.len(), 1);
    // Checkpoint 2 (full, the task never reuses unconfirmed state) completes.
    registry
        .register(&[file(0, 2)], CheckpointId(2))
        .expect("a new upload");
    assert_eq!(
        registry.unregister_unused(CheckpointId(2)),
        vec![file(0, 1)]
    );
}

// Rule 7's other side: a placeholder for a file the registry does not know is refused
// ("Attempt to reference unknown state"), so the acknowledgement is dropped, and none of its new
// uploads is registered: `RocksIncrementalSnapshotStrategy` lists the reused files before the
// uploads, so Flink throws before registering one (conformance found a driver that listed them
// the other way round: Flink then registered, and later deleted, an upload the model never knew).
#[test]
fn unknown_placeholder_is_refused_and_registers_nothing() {
    let mut registry = SharedStateRegistry::default();
    assert!(registry
        .register(&[file(0, 1), file(0, 2)], CheckpointId(2))
        .is_err());
    assert!(registry.is_empty());
}

fn ctx(spec: &Spec) -> CoordinatorContext<'_> {
    CoordinatorContext {
        spec,
        now: 5,
        storage_write_fails: false,
    }
}

/// Triggers one checkpoint (or savepoint) and returns whether its barriers are FULL.
fn trigger(spec: &Spec, c: &mut Coordinator, input: CoordinatorInput) -> bool {
    c.step(&ctx(spec), input);
    let out = c.step(&ctx(spec), CoordinatorInput::TriggerPhaseDone);
    let barriers: Vec<bool> = out
        .iter()
        .filter_map(|o| match o {
            CoordinatorOutput::TriggerTask { barrier, .. } => Some(barrier.full),
            _ => None,
        })
        .collect();
    assert!(!barriers.is_empty(), "no trigger RPC in {out:?}");
    barriers[0]
}

/// Acknowledges checkpoint `id` from every task with state of its own only.
fn ack_all(spec: &Spec, c: &mut Coordinator, id: u32) {
    for task in spec.task_ids() {
        let snapshot = TaskSnapshot {
            operator: World::initial(spec).task(task).operator.snapshot(),
            channel_state: Vec::new(),
            shared: Vec::new(),
        };
        c.step(
            &ctx(spec),
            CoordinatorInput::Ack {
                task,
                attempt: c.attempt,
                id: CheckpointId(id),
                snapshot: snapshot.into(),
            },
        );
    }
}

// CCTT#testTriggeringFullSnapshotAfterJobmasterFailover — Flink asserts: after a NO_CLAIM
// restore and a JobManager failover, the first checkpoint is a FULL_CHECKPOINT.
#[test]
fn cctt_test_triggering_full_snapshot_after_jobmaster_failover() {
    let spec = spec("no-claim");
    let world = World::initial(&spec);
    assert_eq!(world.coordinator.store.unclaimed, Some(RETAINED_CHECKPOINT));
    let mut out = Vec::new();
    let mut recovered = world.coordinator.recover(&ctx(&spec), &mut out);
    assert!(trigger(
        &spec,
        &mut recovered,
        CoordinatorInput::PeriodicTimer
    ));
}

// CCTT#testTriggeringFullCheckpoints — Flink asserts: after a NO_CLAIM restore a completed
// savepoint does not clear the flag: the next checkpoint is FULL; once a checkpoint entered the
// store, the next one is incremental again.
#[test]
fn cctt_test_triggering_full_checkpoints() {
    let spec = spec("no-claim");
    let mut c = World::initial(&spec).coordinator;
    assert!(!trigger(
        &spec,
        &mut c,
        CoordinatorInput::User(UserRequest::Savepoint)
    ));
    ack_all(&spec, &mut c, 2);
    assert!(c.force_full, "a savepoint cleared forceFullSnapshot");
    assert!(trigger(&spec, &mut c, CoordinatorInput::PeriodicTimer));
    ack_all(&spec, &mut c, 3);
    assert_eq!(c.store.latest_id(), CheckpointId(3));
    assert!(!trigger(&spec, &mut c, CoordinatorInput::PeriodicTimer));
}

// In CLAIM mode nothing is forced: the restored checkpoint is the job's own.
#[test]
fn claim_mode_does_not_force_a_full_checkpoint() {
    let spec = spec("claim");
    let mut c = World::initial(&spec).coordinator;
    assert_eq!(c.store.unclaimed, None);
    assert!(!trigger(&spec, &mut c, CoordinatorInput::PeriodicTimer));
}
