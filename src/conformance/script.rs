//! The driver's script schema (`conformance/SCHEMA.md`, schema version 1) on the Rust side: the
//! setup a model maps to, and the coordinator inputs, each rendered as one JSON line.
//!
//! Time: one model tick is [`TICK_MS`] milliseconds of the driver's virtual clock (Flink rejects
//! intervals and timeouts under 10 ms, and the models use ticks from 1 up).

use crate::system::protocol::{ClaimMode, FailureReason, SharedFile, SnapshotKind};
use crate::system::spec::{CheckpointMode, FailoverStrategy, Partitioning, Spec};
use crate::system::world::World;
use serde_json::{json, Value};

/// Milliseconds of Flink's virtual time per model tick.
pub const TICK_MS: u64 = 10;

/// What a user asked for (`request.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestKind {
    Checkpoint,
    Savepoint,
    StopWithSavepoint,
    /// Stop-with-savepoint with drain (`drain: true`: `SavepointType.terminate`).
    StopWithDrain,
}

/// Where an injected storage fault strikes (`storage_fault.stage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StorageStage {
    /// Initialising a checkpoint's storage location (trigger pipeline): `IO_EXCEPTION`.
    Location,
    /// Adding the completed checkpoint to the store: `FINALIZE_CHECKPOINT_FAILURE`.
    Store,
    /// Adding the completed checkpoint to the store, possibly inconsistently: the add throws
    /// `PossibleInconsistentStateException` after the checkpoint reached HA storage
    /// (`FINALIZE_CHECKPOINT_FAILURE`, no clean-up, read back by the next leader).
    StoreInconsistent,
}

/// One coordinator input, in the driver's vocabulary. `at` is the model's clock in ticks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Periodic {
        at: u64,
    },
    Request {
        kind: RequestKind,
        handle: String,
        at: u64,
    },
    /// `shared`: with incremental checkpoints, the shared files the snapshot references (those
    /// created by this checkpoint are its uploads, the others reused placeholders).
    Ack {
        task: u8,
        attempt: u32,
        id: u32,
        shared: Vec<SharedFile>,
        at: u64,
    },
    Decline {
        task: u8,
        attempt: u32,
        id: u32,
        reason: FailureReason,
        at: u64,
    },
    Timeout {
        id: u32,
        at: u64,
    },
    EndOfData {
        task: u8,
        attempt: u32,
        at: u64,
    },
    Finished {
        task: u8,
        attempt: u32,
        at: u64,
    },
    TaskFailed {
        task: u8,
        attempt: u32,
        at: u64,
    },
    /// A deployed task reports RUNNING (`[lifecycle] deploy_steps`; the driver's tasks are
    /// otherwise RUNNING as soon as they are deployed).
    Running {
        task: u8,
        at: u64,
    },
    /// A trigger RPC sent earlier failed on delivery (the task had finished).
    TriggerFailed {
        task: u8,
        id: u32,
        at: u64,
    },
    /// The delay of a delayed (non-atomic) restart elapsed: `restartTasks` runs.
    Restart {
        at: u64,
    },
    JmFailover {
        at: u64,
    },
    StorageFault {
        stage: StorageStage,
    },
}

impl Input {
    /// The coverage class of this input (`conform`'s report counts them).
    pub fn class(&self) -> &'static str {
        match self {
            Input::Periodic { .. } => "periodic",
            Input::Request { kind, .. } => match kind {
                RequestKind::Checkpoint => "request checkpoint",
                RequestKind::Savepoint => "request savepoint",
                RequestKind::StopWithSavepoint => "request stop-with-savepoint",
                RequestKind::StopWithDrain => "request stop-with-savepoint --drain",
            },
            Input::Ack { .. } => "ack",
            Input::Decline { .. } => "decline",
            Input::Timeout { .. } => "timeout",
            Input::EndOfData { .. } => "end of data",
            Input::Finished { .. } => "task finished",
            Input::TaskFailed { .. } => "task failed",
            Input::Running { .. } => "task running",
            Input::TriggerFailed { .. } => "trigger RPC failed",
            Input::JmFailover { .. } => "JobManager failover",
            Input::Restart { .. } => "delayed restart",
            Input::StorageFault { stage } => match stage {
                StorageStage::Location => "storage fault (location)",
                StorageStage::Store => "storage fault (store)",
                StorageStage::StoreInconsistent => "storage fault (store, possibly inconsistent)",
            },
        }
    }

    /// The JSON line the driver reads for a model's run: with `[lifecycle] deploy_steps`, the
    /// tasks any input (re)deploys stay DEPLOYING (`running: false`; a failover can follow from
    /// a task failure, a timeout, a decline or a finalize failure alike) until their own
    /// `running` input, as the model's tasks stay deploying until their RUNNING report.
    pub fn to_json_for(&self, spec: &Spec) -> Value {
        let mut line = self.to_json();
        if spec.lifecycle.deploy_steps && !matches!(self, Input::StorageFault { .. }) {
            line["running"] = Value::Bool(false);
        }
        line
    }

    /// The JSON line the driver reads.
    pub fn to_json(&self) -> Value {
        let ms = |at: &u64| at.saturating_mul(TICK_MS);
        match self {
            Input::Periodic { at } => json!({"op": "periodic", "at": ms(at)}),
            Input::Request { kind, handle, at } => {
                let (name, drain) = match kind {
                    RequestKind::Checkpoint => ("checkpoint", false),
                    RequestKind::Savepoint => ("savepoint", false),
                    RequestKind::StopWithSavepoint => ("stop_with_savepoint", false),
                    RequestKind::StopWithDrain => ("stop_with_savepoint", true),
                };
                if drain {
                    json!({"op": "request", "kind": name, "handle": handle, "drain": true, "at": ms(at)})
                } else {
                    json!({"op": "request", "kind": name, "handle": handle, "at": ms(at)})
                }
            }
            Input::Ack {
                task,
                attempt,
                id,
                shared,
                at,
            } => {
                let mut line = json!({"op": "ack", "task": task, "attempt": attempt, "id": id,
                                      "state": true, "at": ms(at)});
                // `IncrementalRemoteKeyedStateHandle`'s shared state: new uploads as real
                // handles, reused files as `PlaceholderStreamStateHandle`s.
                let (uploaded, reused): (Vec<&SharedFile>, Vec<&SharedFile>) =
                    shared.iter().partition(|f| f.created.0 == *id);
                if !uploaded.is_empty() {
                    line["uploaded"] = keys(uploaded);
                }
                if !reused.is_empty() {
                    line["reused"] = keys(reused);
                }
                line
            }
            Input::Decline {
                task,
                attempt,
                id,
                reason,
                at,
            } => json!({"op": "decline", "task": task, "attempt": attempt, "id": id,
                        "reason": flink_reason(*reason), "at": ms(at)}),
            Input::Timeout { id, at } => json!({"op": "timeout", "id": id, "at": ms(at)}),
            Input::EndOfData { task, attempt, at } => {
                json!({"op": "end_of_data", "task": task, "attempt": attempt, "at": ms(at)})
            }
            Input::Finished { task, attempt, at } => {
                json!({"op": "finished", "task": task, "attempt": attempt, "at": ms(at)})
            }
            Input::TaskFailed { task, attempt, at } => {
                json!({"op": "task_failed", "task": task, "attempt": attempt, "at": ms(at)})
            }
            Input::Running { task, at } => {
                json!({"op": "running", "task": task, "at": ms(at)})
            }
            Input::TriggerFailed { task, id, at } => {
                json!({"op": "trigger_failed", "task": task, "id": id, "at": ms(at)})
            }
            Input::JmFailover { at } => json!({"op": "jm_failover", "at": ms(at)}),
            Input::Restart { at } => json!({"op": "restart", "at": ms(at)}),
            Input::StorageFault { stage } => {
                let stage = match stage {
                    StorageStage::Location => "location",
                    StorageStage::Store => "store",
                    StorageStage::StoreInconsistent => "store_inconsistent",
                };
                json!({"op": "storage_fault", "stage": stage})
            }
        }
    }
}

/// The driver's key of a shared file (`t<task>@<checkpoint that uploaded it>`): the handle name
/// of its recording `StreamStateHandle`, from which Flink's `SharedStateRegistryKey` is derived.
pub fn shared_key(file: &SharedFile) -> String {
    format!("t{}@{}", file.task.0, file.created.0)
}

fn keys<'a>(files: impl IntoIterator<Item = &'a SharedFile>) -> Value {
    Value::Array(
        files
            .into_iter()
            .map(|f| Value::String(shared_key(f)))
            .collect(),
    )
}

/// Flink's `CheckpointFailureReason` name for a model reason.
pub fn flink_reason(reason: FailureReason) -> &'static str {
    use FailureReason::*;
    match reason {
        PeriodicSchedulerShutdown => "PERIODIC_SCHEDULER_SHUTDOWN",
        TooManyCheckpointRequests => "TOO_MANY_CHECKPOINT_REQUESTS",
        MinimumTimeBetweenCheckpoints => "MINIMUM_TIME_BETWEEN_CHECKPOINTS",
        NotAllRequiredTasksRunning => "NOT_ALL_REQUIRED_TASKS_RUNNING",
        IoException => "IO_EXCEPTION",
        CheckpointAsyncException => "CHECKPOINT_ASYNC_EXCEPTION",
        CheckpointExpired => "CHECKPOINT_EXPIRED",
        CheckpointSubsumed => "CHECKPOINT_SUBSUMED",
        CheckpointDeclined => "CHECKPOINT_DECLINED",
        CheckpointDeclinedTaskNotReady => "CHECKPOINT_DECLINED_TASK_NOT_READY",
        CheckpointDeclinedTaskClosing => "CHECKPOINT_DECLINED_TASK_CLOSING",
        CheckpointDeclinedSubsumed => "CHECKPOINT_DECLINED_SUBSUMED",
        CheckpointDeclinedOnCancellationBarrier => "CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER",
        CheckpointDeclinedInputEndOfStream => "CHECKPOINT_DECLINED_INPUT_END_OF_STREAM",
        CheckpointCoordinatorShutdown => "CHECKPOINT_COORDINATOR_SHUTDOWN",
        CheckpointCoordinatorSuspend => "CHECKPOINT_COORDINATOR_SUSPEND",
        JobFailover => "JOB_FAILOVER_REGION",
        TaskFailure => "TASK_FAILURE",
        TriggerCheckpointFailure => "TRIGGER_CHECKPOINT_FAILURE",
        FinalizeCheckpointFailure => "FINALIZE_CHECKPOINT_FAILURE",
    }
}

/// The driver's name for a snapshot kind (`trigger.kind`, `pending[].kind`).
pub fn flink_kind(kind: SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::Checkpoint => "checkpoint",
        SnapshotKind::Savepoint => "savepoint",
        SnapshotKind::SyncSavepoint => "sync_savepoint",
        SnapshotKind::TerminatingSavepoint => "terminate_savepoint",
    }
}

/// The setup's `initial_checkpoint` for a job started from a retained checkpoint: its id and each
/// task's shared files, read from the model's initial store (`World::initial`), or null.
fn initial_checkpoint(spec: &Spec) -> Value {
    if !spec.checkpointing.start_from_retained {
        return Value::Null;
    }
    let world = World::initial(spec);
    let Some(retained) = world.coordinator.store.entries.first() else {
        return Value::Null;
    };
    let tasks: Vec<Value> = retained
        .snapshots
        .iter()
        .map(|(task, snapshot)| json!({"task": task.0, "shared": keys(&snapshot.shared)}))
        .collect();
    json!({"id": retained.id.0, "tasks": tasks})
}

/// Why a model cannot be set up in the driver, and the model-file key that makes it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(pub String, pub &'static str);

/// The setup line for a model: its operators as job vertices (in the model's order, which must
/// be topological, so that the driver's task indices are the model's), its edges as POINTWISE
/// (forward) or ALL_TO_ALL, its checkpoint configuration in milliseconds, the model's failover
/// strategy (full, or region: the driver's `RestartPipelinedRegionFailoverStrategy`), the failure
/// manager's fail-job verdict carried out as a global failover, a split source's operator
/// coordinator, and with incremental checkpoints the claim mode and the retained checkpoint a
/// job starts from.
pub fn setup(spec: &Spec) -> Result<Value, SetupError> {
    for edge in &spec.edges {
        if edge.from >= edge.to {
            return Err(SetupError(
                format!(
                "edge {} -> {} goes against the operators' order; the driver needs vertices in \
                 topological order",
                spec.operators[edge.from].name, spec.operators[edge.to].name
            ),
                "edges",
            ));
        }
    }
    let vertices: Vec<Value> = spec
        .operators
        .iter()
        .map(|o| json!({"name": o.name, "parallelism": o.parallelism}))
        .collect();
    let edges: Vec<Value> = spec
        .edges
        .iter()
        .map(|e| {
            let pattern = match e.partitioning {
                Partitioning::Forward => "pointwise",
                _ => "all_to_all",
            };
            json!({"from": spec.operators[e.from].name, "to": spec.operators[e.to].name,
                   "pattern": pattern})
        })
        .collect();
    let c = &spec.checkpointing;
    let ms = |ticks: u64| ticks.saturating_mul(TICK_MS);
    let checkpointing = json!({
        "interval": c.interval.map(|i| ms(i as u64)),
        "timeout": ms(c.timeout as u64),
        "min_pause": ms(c.min_pause as u64),
        "max_concurrent": c.max_concurrent,
        "tolerable_failures": c.tolerable_failures.map_or(-1, i64::from),
        "unaligned": c.mode == CheckpointMode::Unaligned,
        "aligned_timeout": ms(c.alignment_timeout as u64),
        "retained": c.retained,
        "exactly_once": c.mode != CheckpointMode::AtLeastOnce,
    });
    let mut setup = json!({"setup": {
        "vertices": vertices,
        "edges": edges,
        "checkpointing": checkpointing,
        "auto_drain": true,
        "failover": match spec.failover {
            FailoverStrategy::Region => "region",
            FailoverStrategy::Full => "full",
        },
        "fail_job": "failover",
        // The model's first N restarts are non-atomic: the driver delays them until a
        // `restart` input (or a JobManager failover, which drops them).
        "delayed_restarts": spec.faults.non_atomic_restarts,
        // `[lifecycle] deploy_steps`: the first deployment leaves the tasks DEPLOYING until
        // their `running` inputs.
        "running": !spec.lifecycle.deploy_steps,
        // A split source's vertex gets an operator coordinator whose calls the driver records
        // (`RecordingCoordinator`): which calls Flink makes, and when, is compared; what the
        // enumerator does with them is not (docs/fidelity.md).
        "operator_coordinator": spec
            .split_source
            .as_ref()
            .map(|source| spec.operators[source.operator].name.clone()),
    }});
    if c.incremental {
        // Incremental checkpoints: acks carry keyed state naming the shared files (recording
        // handles whose discards the driver reports), and the store's shared-state registry
        // runs under the job's claim mode (`RecoveryClaimMode`); a job started from a retained
        // checkpoint (`start_from_retained`) has it in the store from the start, its files
        // registered under the mode and ids continuing after it. Other models' setups stay as
        // they were.
        let setup = &mut setup["setup"];
        setup["incremental"] = Value::Bool(true);
        setup["claim_mode"] = json!(match c.restore_mode {
            ClaimMode::Claim => "claim",
            ClaimMode::NoClaim => "no_claim",
        });
        setup["initial_checkpoint"] = initial_checkpoint(spec);
    }
    Ok(setup)
}
