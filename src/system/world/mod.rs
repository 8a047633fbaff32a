//! The world and the single transition relation: `enabled(spec, world)` lists every action that
//! may happen next, in a deterministic order, and `apply(spec, world, action)` performs one by
//! calling the coordinator's and the tasks' pure step functions and routing their outputs into
//! FIFO channels, RPCs in flight and the external system.
//!
//! The seeded simulator and stateright explore exactly this relation; nothing else defines
//! semantics. This file is the router: the types, `apply`, and nothing else. What may happen
//! next is in `enabled.rs`, how each action is performed in `step.rs` (one short method per
//! action), failures and recovery in `failover.rs`, RPCs in `rpc.rs`, the external system the
//! sinks write to in `external.rs`. `World` holds only dynamic state (the static `Spec` is passed in) and is cheap to
//! clone and hash: small integer ids, canonical (sorted) collections, no strings.

pub mod describe;
mod enabled;
mod external;
mod failover;
mod files;
pub mod ghost;
mod lifecycle;
mod rpc;
mod sources;
mod step;

pub use enabled::{enabled, enabled_with, has_enabled, is_quiescent};
pub use external::{Broker, BrokerTxn, External, TxnState, Writer};
pub use files::{CheckpointFiles, RETAINED_CHECKPOINT};
pub use rpc::{Rpc, RpcKey, RpcKind};

use crate::system::coordinator::operator_coordinator::SourceCoordinator;
use crate::system::coordinator::store::CompletedCheckpoint;
use crate::system::coordinator::{Coordinator, CoordinatorEvent, JobStatus, UserRequest};
use crate::system::protocol::{
    ChannelEvent, ChannelId, CheckpointId, Record, SharedFile, TaskId, Tick,
};
use crate::system::spec::Spec;
use crate::system::task::operator::{OperatorState, TxnId};
use crate::system::task::Task;
use crate::system::world::ghost::{Ghost, LastStep};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use step::Step;

/// A timer that may fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "timer")]
pub enum Timer {
    /// The coordinator's periodic trigger.
    Periodic,
    /// The canceller of a pending checkpoint.
    CheckpointTimeout { checkpoint: CheckpointId },
    /// A task's active alignment timer (alternating unaligned mode).
    Alignment { task: TaskId },
    /// A sender's output timer: queued timeoutable barriers of this checkpoint become unaligned.
    OutputAlignment { checkpoint: CheckpointId },
}

/// Everything that can happen next. Closed: the world offers nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Action {
    /// Deliver the head of a channel to its receiver.
    Deliver { channel: ChannelId },
    /// Deliver an unaligned barrier ahead of the records queued before it.
    DeliverPriority { channel: ChannelId },
    /// A task's own asynchronous progress: a source emits its next record (or its end of data);
    /// an async sink's oldest send in flight completes and reaches the external system.
    Emit { task: TaskId },
    /// Deliver an RPC in flight.
    DeliverRpc { rpc: RpcKey },
    /// The coordinator's asynchronous work in progress finishes: the operator-coordinator
    /// snapshot of the triggering checkpoint, or (non-atomic restarts) the delay of a parked
    /// restart, after which the tasks are restored.
    FinishTriggering,
    /// The earliest timer fires (the clock jumps to its due time).
    Fire { timer: Timer },
    /// The user requests a manual checkpoint, a savepoint or stop-with-savepoint.
    User { request: UserRequestKind },
    /// The user resumes a job stopped with a savepoint from that savepoint.
    ResumeFromSavepoint,
    /// The user resumes a job stopped with a savepoint from a retained checkpoint older than
    /// that savepoint (`user.resume_older`): a new job run whose ids continue from the
    /// checkpoint's, reusing ids the stopped run used after it.
    ResumeFromOlder { checkpoint: CheckpointId },
    /// Fault: a task crashes; for an async sink with sends in flight and `failed_sends` budget
    /// left, one of its sends fails fatally instead (`AsyncSinkWriter`'s fatal exception
    /// consumer throws in the mailbox, failing the task the same way).
    Crash { task: TaskId },
    /// Fault: the coordinator (JobManager) fails over to a new leader.
    FailoverCoordinator,
    /// Fault: an RPC is lost.
    LoseRpc { rpc: RpcKey },
    /// Fault: a task's asynchronous snapshot fails; its acknowledgement becomes a decline.
    DeclineSnapshot { rpc: RpcKey },
    /// Fault: the next write to checkpoint storage fails. Offered again while such a fault is
    /// armed (models with `faults.possibly_inconsistent_writes`), it makes the armed fault
    /// possibly inconsistent: a completed-checkpoint store add it strikes reaches HA storage
    /// although it reports a failure.
    FailStorageWrite,
    /// Fault: the external system is unavailable for the next commit attempt of a
    /// two-phase-commit sink, which fails transiently (`retryLater`); armed faults add up, one
    /// per attempt (`faults.failed_commits`).
    FailCommit,
}

/// Serializable mirror of [`UserRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserRequestKind {
    ManualCheckpoint,
    Savepoint,
    StopWithSavepoint,
}

impl From<UserRequestKind> for UserRequest {
    fn from(kind: UserRequestKind) -> UserRequest {
        match kind {
            UserRequestKind::ManualCheckpoint => UserRequest::ManualCheckpoint,
            UserRequestKind::Savepoint => UserRequest::Savepoint,
            UserRequestKind::StopWithSavepoint => UserRequest::StopWithSavepoint,
        }
    }
}

impl Action {
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            Action::Crash { .. }
                | Action::FailoverCoordinator
                | Action::LoseRpc { .. }
                | Action::DeclineSnapshot { .. }
                | Action::FailStorageWrite
                | Action::FailCommit
        )
    }

    pub fn is_timer(&self) -> bool {
        matches!(self, Action::Fire { .. })
    }

    pub fn is_user(&self) -> bool {
        matches!(
            self,
            Action::User { .. } | Action::ResumeFromSavepoint | Action::ResumeFromOlder { .. }
        )
    }
}

/// Something that happened during one step, for timelines and renderers (`apply_traced`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepEvent {
    /// A channel event was put on a channel.
    Sent {
        channel: ChannelId,
        event: ChannelEvent,
    },
    /// A channel event was delivered (`priority`: an unaligned barrier that overtook `overtaken`
    /// records).
    Delivered {
        channel: ChannelId,
        event: ChannelEvent,
        priority: bool,
        overtaken: usize,
    },
    /// An RPC was sent (by value: what it carries, e.g. an abort's latest completed id, is part
    /// of what happened even when a failover in the same step removes it again).
    RpcSent(Rpc),
    RpcDelivered(RpcKey),
    RpcLost(RpcKey),
    /// A task's asynchronous snapshot failed: its acknowledgement became a decline.
    SnapshotFailed(RpcKey),
    TimerFired {
        timer: Timer,
        now: Tick,
    },
    TriggerPhaseDone,
    /// A split source's coordinator took its checkpoint (`checkpointCoordinator`) and closed
    /// its gateways.
    CoordinatorCheckpointed(CheckpointId),
    /// Another call on a split source's operator coordinator (what conformance compares).
    OperatorCoordinator(CoordinatorCall),
    /// The coordinator deleted these shared (incremental) state files: its shared-state
    /// registry found them unused after a store add (`unregisterUnusedState`), or an injected
    /// bug deleted them (what conformance compares with the files Flink discards).
    SharedDiscarded(Vec<SharedFile>),
    UserRequested(UserRequestKind),
    Resumed {
        from: CheckpointId,
    },
    Snapshotted {
        task: TaskId,
        id: CheckpointId,
        unaligned: bool,
    },
    Committed {
        sink: TaskId,
        transaction: CheckpointId,
        records: usize,
    },
    /// The job resumed from an older retained checkpoint.
    ResumedOlder {
        from: CheckpointId,
    },
    /// A commit attempt failed transiently (the external system was unavailable).
    CommitFailed {
        sink: TaskId,
        transaction: CheckpointId,
    },
    Written {
        sink: TaskId,
        record: Record,
    },
    Finished(TaskId),
    Crashed(TaskId),
    CoordinatorFailedOver,
    StorageFaultArmed,
    Coordinator(CoordinatorEvent),
}

/// A call on a split source's operator coordinator (`OperatorCoordinatorCheckpointContext`)
/// besides its checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinatorCall {
    /// `notifyCheckpointComplete(id)`.
    Complete(CheckpointId),
    /// `notifyCheckpointAborted(id)`.
    Aborted(CheckpointId),
    /// `resetToCheckpoint(id, state)`: a new leader (or a resumed job) restores a checkpoint.
    Reset(CheckpointId),
    /// `subtaskReset(subtask, restored)` (`CheckpointId::NONE`: no checkpoint restored).
    SubtaskReset {
        task: TaskId,
        restored: CheckpointId,
    },
}

/// Faults and user requests used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Used {
    pub task_crashes: u8,
    pub coordinator_failovers: u8,
    pub lost_rpcs: u8,
    pub declined_snapshots: u8,
    pub storage_failures: u8,
    pub possibly_inconsistent_writes: u8,
    pub non_atomic_restarts: u8,
    pub manual_checkpoints: u8,
    pub savepoints: u8,
    pub stop_with_savepoint: u8,
    pub failed_sends: u8,
}

/// The whole system's dynamic state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct World {
    pub now: Tick,
    pub coordinator: Coordinator,
    pub tasks: Vec<Task>,
    /// FIFO channels by channel id.
    pub channels: Vec<VecDeque<ChannelEvent>>,
    /// RPCs in flight. Unordered: a sorted multiset, any of them may arrive next. Per-pair FIFO:
    /// grouped by connection (sorted), in sending order within a connection.
    pub rpcs: Vec<Rpc>,
    pub external: External,
    /// The user's latest savepoint (savepoints are not in the coordinator's store).
    pub savepoint: Option<CompletedCheckpoint>,
    pub used: Used,
    /// The next checkpoint-storage write fails.
    pub storage_fault_armed: bool,
    /// The armed fault is possibly inconsistent: a store add it strikes lands in HA storage.
    pub storage_fault_lands: bool,
    /// Checkpoint storage: whose state files were deleted.
    pub files: CheckpointFiles,
    /// The split source's operator coordinator (`sources.rs`; empty without a split source).
    pub source_coordinator: SourceCoordinator,
    pub ghost: Ghost,
    pub last: LastStep,
    /// Resumes from an older checkpoint so far (`user.resume_older`).
    pub older_resumes: OlderResumes,
}

/// How often the job was resumed from an older checkpoint. Zero hashes to nothing, so that the
/// models without such resumes hash as they did before it existed (state sampling by hash stays
/// put). Equal values hash equally.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct OlderResumes(pub u8);

impl std::hash::Hash for OlderResumes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if self.0 != 0 {
            self.0.hash(state);
        }
    }
}

/// Which actions `enabled` offers: the model checker takes the defaults; the simulator's healed
/// phase switches faults and user requests off and fires timers only when nothing else can run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub faults: bool,
    pub user_requests: bool,
    /// Timers due after this tick do not fire (`None`: no horizon).
    pub horizon: Option<Tick>,
    /// Offer timers only when no other action is enabled (a prompt network).
    pub timers_last: bool,
}

impl Options {
    pub fn exhaustive(spec: &Spec) -> Options {
        Options {
            faults: true,
            user_requests: true,
            horizon: Some(spec.bounds.time),
            timers_last: false,
        }
    }

    pub fn healed() -> Options {
        Options {
            faults: false,
            user_requests: false,
            horizon: None,
            timers_last: true,
        }
    }
}

impl World {
    /// The initial world: a freshly submitted job.
    pub fn initial(spec: &Spec) -> World {
        let mut world = World {
            now: 0,
            coordinator: Coordinator::new(spec, 0),
            tasks: spec.task_ids().map(|t| Task::new(spec, t)).collect(),
            channels: vec![VecDeque::new(); spec.channels.len()],
            rpcs: Vec::new(),
            external: External::default(),
            savepoint: None,
            used: Used::default(),
            storage_fault_armed: false,
            storage_fault_lands: false,
            files: CheckpointFiles::default(),
            source_coordinator: SourceCoordinator::new(spec),
            ghost: Ghost::default(),
            last: LastStep::default(),
            older_resumes: OlderResumes::default(),
        };
        if spec.checkpointing.start_from_retained {
            world = files::started_from_retained(spec, world);
        }
        lifecycle::deploy_all(spec, &mut world.tasks);
        // With transaction identity, each sink's first producer initialises its id (`KafkaWriter`
        // opens the producer of checkpoint 1 when it starts).
        for (task, state) in world.tasks.iter().enumerate() {
            if let OperatorState::TwoPhaseCommitSink { open, .. } = &state.operator {
                if *open != TxnId::NONE {
                    let sink = TaskId(task as u8);
                    world.external.init_transactional_id(sink, *open);
                }
            }
        }
        world
    }

    pub fn task(&self, task: TaskId) -> &Task {
        &self.tasks[task.0 as usize]
    }

    pub fn job_done(&self) -> bool {
        matches!(self.coordinator.job, JobStatus::Finished)
    }

    /// The retained completed checkpoints older than the stop's savepoint, which a job stopped
    /// with that savepoint may be resumed from instead (`Action::ResumeFromOlder`).
    pub fn older_checkpoints(&self) -> impl Iterator<Item = CheckpointId> + '_ {
        let newest = self.savepoint.as_ref().map_or(CheckpointId::NONE, |s| s.id);
        self.coordinator
            .store
            .entries
            .iter()
            .map(|c| c.id)
            .filter(move |id| *id < newest)
    }
}

/// A reason an action could not be applied (only ever from a replayed trace that does not fit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotEnabled(pub Action);

/// Performs one action. The action must be enabled; `apply` checks the parts it relies on and
/// returns `NotEnabled` otherwise (a trace from another model or version), never panics.
pub fn apply(spec: &Spec, world: &World, action: Action) -> Result<World, NotEnabled> {
    apply_inner(spec, world, action, None)
}

/// [`apply`], also returning what happened during the step.
pub fn apply_traced(
    spec: &Spec,
    world: &World,
    action: Action,
) -> Result<(World, Vec<StepEvent>), NotEnabled> {
    let mut events = Vec::new();
    let next = apply_inner(spec, world, action, Some(&mut events))?;
    Ok((next, events))
}

fn apply_inner(
    spec: &Spec,
    world: &World,
    action: Action,
    events: Option<&mut Vec<StepEvent>>,
) -> Result<World, NotEnabled> {
    let mut next = world.clone();
    next.last = LastStep::default();
    next.ghost.just_completed = None;
    let mut step = Step {
        spec,
        world: &mut next,
        events,
        handling_abort_of: None,
        aborts_notified: Vec::new(),
        storage_target: None,
    };
    step.perform(action).map_err(|()| NotEnabled(action))?;
    step.settle_valve();
    step.finish_ready_tasks();
    for (_, id) in std::mem::take(&mut step.aborts_notified) {
        next.ghost.abort_notified.insert(id);
    }
    next.files
        .forget_unnamed(&next.coordinator.store, &next.tasks);
    next.ghost.end_step(&mut next.last);
    Ok(next)
}
