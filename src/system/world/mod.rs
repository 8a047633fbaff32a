//! The world and the single transition relation: `enabled(spec, world)` lists every action that
//! may happen next, in a deterministic order, and `apply(spec, world, action)` performs one by
//! calling the coordinator's and the tasks' pure step functions and routing their outputs into
//! FIFO channels, RPCs in flight and the external system.
//!
//! The seeded simulator and stateright explore exactly this relation; nothing else defines
//! semantics. `World` holds only dynamic state (the static `Spec` is passed in) and is cheap to
//! clone and hash: small integer ids, canonical (sorted) collections, no strings.

pub mod describe;
pub mod ghost;

use crate::system::coordinator::store::CompletedCheckpoint;
use crate::system::coordinator::{
    Coordinator, CoordinatorContext, CoordinatorEvent, CoordinatorInput, CoordinatorOutput,
    JobStatus, UserRequest,
};
use crate::system::protocol::{
    Attempt, Barrier, ChannelEvent, ChannelId, CheckpointId, FailureReason, Record, TaskId, Tick,
};
use crate::system::spec::{RpcOrder, Spec};
use crate::system::task::operator::Transaction;
use crate::system::task::{SharedSnapshot, Task, TaskContext, TaskInput, TaskOutput, TaskStatus};
use crate::system::topology;
use crate::system::world::ghost::{Ghost, LastStep};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// An RPC in flight between the coordinator and a task.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rpc {
    Trigger {
        task: TaskId,
        barrier: Barrier,
    },
    NotifyComplete {
        task: TaskId,
        id: CheckpointId,
    },
    NotifyAborted {
        task: TaskId,
        id: CheckpointId,
        latest_completed: CheckpointId,
    },
    Ack {
        task: TaskId,
        attempt: Attempt,
        id: CheckpointId,
        snapshot: SharedSnapshot,
    },
    Decline {
        task: TaskId,
        attempt: Attempt,
        id: CheckpointId,
        reason: FailureReason,
    },
    EndOfData {
        task: TaskId,
        attempt: Attempt,
    },
    TaskFinished {
        task: TaskId,
        attempt: Attempt,
    },
    /// The task manager reports a failed task (never lost).
    TaskFailed {
        task: TaskId,
        attempt: Attempt,
    },
}

/// The kind of an RPC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpcKind {
    Trigger,
    NotifyComplete,
    NotifyAborted,
    Ack,
    Decline,
    EndOfData,
    TaskFinished,
    TaskFailed,
}

/// Names an RPC in flight by value (identical RPCs are interchangeable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RpcKey {
    pub kind: RpcKind,
    pub task: TaskId,
    /// The checkpoint it is about (`NONE` for lifecycle RPCs).
    pub checkpoint: CheckpointId,
    pub attempt: Attempt,
}

impl Rpc {
    pub fn key(&self) -> RpcKey {
        let (kind, task, checkpoint, attempt) = match *self {
            Rpc::Trigger { task, barrier } => {
                (RpcKind::Trigger, task, barrier.id, Attempt::default())
            }
            Rpc::NotifyComplete { task, id } => {
                (RpcKind::NotifyComplete, task, id, Attempt::default())
            }
            Rpc::NotifyAborted { task, id, .. } => {
                (RpcKind::NotifyAborted, task, id, Attempt::default())
            }
            Rpc::Ack {
                task, attempt, id, ..
            } => (RpcKind::Ack, task, id, attempt),
            Rpc::Decline {
                task, attempt, id, ..
            } => (RpcKind::Decline, task, id, attempt),
            Rpc::EndOfData { task, attempt } => {
                (RpcKind::EndOfData, task, CheckpointId::NONE, attempt)
            }
            Rpc::TaskFinished { task, attempt } => {
                (RpcKind::TaskFinished, task, CheckpointId::NONE, attempt)
            }
            Rpc::TaskFailed { task, attempt } => {
                (RpcKind::TaskFailed, task, CheckpointId::NONE, attempt)
            }
        };
        RpcKey {
            kind,
            task,
            checkpoint,
            attempt,
        }
    }

    /// The ordered lane an RPC travels on under per-pair FIFO: (towards the coordinator, the
    /// task, lane). Everything on a connection shares lane 0 and arrives in sending order, except
    /// acknowledgements and declines: each checkpoint's is sent by that checkpoint's own
    /// asynchronous snapshot phase (`AsyncCheckpointRunnable`), so it travels on a lane of its own
    /// (the checkpoint id) and may overtake, or be overtaken by, the rest.
    pub fn connection(&self) -> (bool, TaskId, u32) {
        let key = self.key();
        let lane = match key.kind {
            RpcKind::Ack | RpcKind::Decline => key.checkpoint.0,
            _ => 0,
        };
        (!self.to_task(), key.task, lane)
    }

    /// RPCs addressed to a task (dropped when the job restarts).
    pub fn to_task(&self) -> bool {
        matches!(
            self,
            Rpc::Trigger { .. } | Rpc::NotifyComplete { .. } | Rpc::NotifyAborted { .. }
        )
    }
}

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
    /// A source emits its next record (or its end of data).
    Emit { task: TaskId },
    /// Deliver an RPC in flight.
    DeliverRpc { rpc: RpcKey },
    /// The coordinator's operator-coordinator snapshot of the triggering checkpoint finishes.
    FinishTriggering,
    /// The earliest timer fires (the clock jumps to its due time).
    Fire { timer: Timer },
    /// The user requests a manual checkpoint, a savepoint or stop-with-savepoint.
    User { request: UserRequestKind },
    /// The user resumes a job stopped with a savepoint from that savepoint.
    ResumeFromSavepoint,
    /// Fault: a task crashes.
    Crash { task: TaskId },
    /// Fault: the coordinator (JobManager) fails over to a new leader.
    FailoverCoordinator,
    /// Fault: an RPC is lost.
    LoseRpc { rpc: RpcKey },
    /// Fault: a task's asynchronous snapshot fails; its acknowledgement becomes a decline.
    DeclineSnapshot { rpc: RpcKey },
    /// Fault: the next write to checkpoint storage fails.
    FailStorageWrite,
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
        )
    }

    pub fn is_timer(&self) -> bool {
        matches!(self, Action::Fire { .. })
    }

    pub fn is_user(&self) -> bool {
        matches!(self, Action::User { .. } | Action::ResumeFromSavepoint)
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
    RpcSent(RpcKey),
    RpcDelivered(RpcKey),
    RpcLost(RpcKey),
    /// A task's asynchronous snapshot failed: its acknowledgement became a decline.
    SnapshotFailed(RpcKey),
    TimerFired {
        timer: Timer,
        now: Tick,
    },
    TriggerPhaseDone,
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

/// Who wrote a record to the external output: the sink subtask and, for a two-phase-commit sink,
/// the checkpoint that pre-committed the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Writer {
    pub sink: TaskId,
    pub transaction: Option<CheckpointId>,
}

/// The external system the sinks write to; it survives every failure.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct External {
    /// Committed transactions by (sink, pre-committing checkpoint); commits are idempotent.
    pub committed: Vec<(TaskId, CheckpointId)>,
    /// Visible records with their writer, sorted.
    pub records: Vec<(Record, Writer)>,
}

impl External {
    fn commit(&mut self, sink: TaskId, transaction: Transaction) {
        let key = (sink, transaction.checkpoint);
        let at = match self.committed.binary_search(&key) {
            Ok(_) => return, // Already committed: committing again is a no-op.
            Err(at) => at,
        };
        self.committed.insert(at, key);
        let writer = Writer {
            sink,
            transaction: Some(transaction.checkpoint),
        };
        for record in transaction.records {
            self.insert(record, writer);
        }
    }

    fn insert(&mut self, record: Record, writer: Writer) {
        let entry = (record, writer);
        let at = self.records.partition_point(|e| *e <= entry);
        self.records.insert(at, entry);
    }
}

/// Faults and user requests used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Used {
    pub task_crashes: u8,
    pub coordinator_failovers: u8,
    pub lost_rpcs: u8,
    pub declined_snapshots: u8,
    pub storage_failures: u8,
    pub manual_checkpoints: u8,
    pub savepoints: u8,
    pub stop_with_savepoint: u8,
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
    pub ghost: Ghost,
    pub last: LastStep,
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
        World {
            now: 0,
            coordinator: Coordinator::new(spec, 0),
            tasks: spec.task_ids().map(|t| Task::new(spec, t)).collect(),
            channels: vec![VecDeque::new(); spec.channels.len()],
            rpcs: Vec::new(),
            external: External::default(),
            savepoint: None,
            used: Used::default(),
            storage_fault_armed: false,
            ghost: Ghost::default(),
            last: LastStep::default(),
        }
    }

    pub fn task(&self, task: TaskId) -> &Task {
        &self.tasks[task.0 as usize]
    }

    pub fn job_done(&self) -> bool {
        matches!(self.coordinator.job, JobStatus::Finished)
    }

    /// The first barrier in a channel that may overtake the records before it, and its position:
    /// an unaligned barrier, or a timeoutable one whose alignment timeout elapsed.
    fn priority_barrier(&self, spec: &Spec, channel: ChannelId) -> Option<(usize, Barrier)> {
        let timeout = spec.checkpointing.alignment_timeout;
        self.channels[channel.0 as usize]
            .iter()
            .enumerate()
            .find_map(|(index, event)| match event {
                ChannelEvent::Barrier(b)
                    if b.is_unaligned()
                        || (b.is_timeoutable() && self.now >= b.alignment_deadline(timeout)) =>
                {
                    Some((index, *b))
                }
                _ => None,
            })
    }

    /// Every armed timer with its due time, in a deterministic order.
    pub fn timers(&self, spec: &Spec) -> Vec<(Tick, Timer)> {
        let mut timers = Vec::new();
        let c = &self.coordinator;
        if let Some(due) = c
            .periodic_due
            .filter(|_| c.periodic_scheduling && c.is_running())
        {
            timers.push((due, Timer::Periodic));
        }
        for pending in &c.pending {
            timers.push((
                pending.expires_at,
                Timer::CheckpointTimeout {
                    checkpoint: pending.id,
                },
            ));
        }
        for (index, task) in self.tasks.iter().enumerate() {
            if let Some(due) = task.alignment_deadline(spec) {
                timers.push((
                    due.max(self.now),
                    Timer::Alignment {
                        task: TaskId(index as u8),
                    },
                ));
            }
        }
        let timeout = spec.checkpointing.alignment_timeout;
        let mut deadlines: Vec<(Tick, CheckpointId)> = Vec::new();
        for queue in &self.channels {
            for event in queue {
                if let ChannelEvent::Barrier(b) = event {
                    let due = b.alignment_deadline(timeout);
                    if b.is_timeoutable() && due > self.now && !deadlines.contains(&(due, b.id)) {
                        deadlines.push((due, b.id));
                    }
                }
            }
        }
        deadlines.sort();
        for (due, checkpoint) in deadlines {
            timers.push((due, Timer::OutputAlignment { checkpoint }));
        }
        timers
    }
}

/// Every action that may happen next, in a deterministic order (the model checker's default
/// options).
pub fn enabled(spec: &Spec, world: &World) -> Vec<Action> {
    enabled_with(spec, world, Options::exhaustive(spec))
}

/// [`enabled`] with explicit options.
pub fn enabled_with(spec: &Spec, world: &World, options: Options) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut sink = Sink {
        actions: Some(&mut actions),
        found: false,
    };
    for_each_enabled(spec, world, options, &mut sink);
    actions
}

/// Whether any action is enabled under `options`; stops at the first one.
pub fn has_enabled(spec: &Spec, world: &World, options: Options) -> bool {
    let mut sink = Sink {
        actions: None,
        found: false,
    };
    for_each_enabled(spec, world, options, &mut sink);
    sink.found
}

/// Where `for_each_enabled` puts actions: a list, or just the fact that one exists.
struct Sink<'a> {
    actions: Option<&'a mut Vec<Action>>,
    found: bool,
}

impl Sink<'_> {
    fn push(&mut self, action: Action) {
        self.found = true;
        if let Some(actions) = self.actions.as_mut() {
            actions.push(action);
        }
    }

    /// Only existence was asked for, and it is known.
    fn done(&self) -> bool {
        self.actions.is_none() && self.found
    }
}

/// The one enumeration of enabled actions, in the deterministic order (shared by
/// `enabled_with` and `has_enabled` so that the two cannot drift apart).
fn for_each_enabled(spec: &Spec, world: &World, options: Options, actions: &mut Sink) {
    let running = world.coordinator.is_running();

    // Channels: the head of every channel whose receiver runs and has not blocked it.
    for channel in spec.channel_ids() {
        let queue = &world.channels[channel.0 as usize];
        let spec_channel = spec.channel(channel);
        let receiver = world.task(spec_channel.to);
        if queue.is_empty() || !receiver.is_running() {
            continue;
        }
        if !receiver
            .handler
            .blocked()
            .contains(spec_channel.to_input as usize)
        {
            actions.push(Action::Deliver { channel });
        }
        if world
            .priority_barrier(spec, channel)
            .is_some_and(|(index, _)| index > 0)
        {
            actions.push(Action::DeliverPriority { channel });
        }
    }
    if actions.done() {
        return;
    }
    // Sources.
    for task in spec.task_ids() {
        if world.task(task).can_emit(spec.task(task)) {
            actions.push(Action::Emit { task });
        }
    }
    // RPCs (identical RPCs are offered once; per-pair FIFO offers each connection's head).
    let fifo = spec.rpc_order == RpcOrder::PerPairFifo;
    let mut last_key = None;
    let mut last_connection = None;
    for rpc in &world.rpcs {
        let key = rpc.key();
        let head = last_connection != Some(rpc.connection());
        last_connection = Some(rpc.connection());
        if last_key == Some(key) || (fifo && !head) {
            last_key = Some(key);
            continue;
        }
        last_key = Some(key);
        let deliverable = !rpc.to_task() || world.task(key.task).status != TaskStatus::Crashed;
        if deliverable {
            actions.push(Action::DeliverRpc { rpc: key });
        }
    }
    if world.coordinator.coordinator_snapshot.is_some() {
        actions.push(Action::FinishTriggering);
    }
    // Timers: the earliest due ones (several may share the due time), within the horizon.
    if actions.done() {
        return;
    }
    if !options.timers_last || !actions.found {
        let timers = world.timers(spec);
        if let Some(earliest) = timers.iter().map(|(due, _)| *due).min() {
            if options.horizon.is_none_or(|horizon| earliest <= horizon) {
                for (due, timer) in timers {
                    if due == earliest {
                        actions.push(Action::Fire { timer });
                    }
                }
            }
        }
    }
    // The user.
    if options.user_requests {
        let (budget, used) = (spec.user, world.used);
        if running && world.coordinator.job == JobStatus::Running {
            if used.manual_checkpoints < budget.manual_checkpoints {
                actions.push(Action::User {
                    request: UserRequestKind::ManualCheckpoint,
                });
            }
            if used.savepoints < budget.savepoints {
                actions.push(Action::User {
                    request: UserRequestKind::Savepoint,
                });
            }
            if used.stop_with_savepoint < budget.stop_with_savepoint {
                actions.push(Action::User {
                    request: UserRequestKind::StopWithSavepoint,
                });
            }
        }
    }
    if world.coordinator.job == JobStatus::Suspended && world.savepoint.is_some() {
        actions.push(Action::ResumeFromSavepoint);
    }
    // Faults, within the budget, while the job runs.
    if options.faults && running {
        let (budget, used) = (spec.faults, world.used);
        if used.task_crashes < budget.task_crashes {
            for task in spec.task_ids() {
                if world.task(task).is_running() {
                    actions.push(Action::Crash { task });
                }
            }
        }
        if used.coordinator_failovers < budget.coordinator_failovers {
            actions.push(Action::FailoverCoordinator);
        }
        let mut last_key = None;
        for rpc in &world.rpcs {
            let key = rpc.key();
            if last_key == Some(key) {
                continue;
            }
            last_key = Some(key);
            // Only best-effort messages can be lost; execution-state updates (end of data,
            // finished, failed) are retried and reconciled by the JobManager.
            let losable = matches!(
                key.kind,
                RpcKind::Trigger
                    | RpcKind::NotifyComplete
                    | RpcKind::NotifyAborted
                    | RpcKind::Ack
                    | RpcKind::Decline
            );
            if used.lost_rpcs < budget.lost_rpcs && losable {
                actions.push(Action::LoseRpc { rpc: key });
            }
            if used.declined_snapshots < budget.declined_snapshots && key.kind == RpcKind::Ack {
                actions.push(Action::DeclineSnapshot { rpc: key });
            }
        }
        if used.storage_failures < budget.storage_failures && !world.storage_fault_armed {
            actions.push(Action::FailStorageWrite);
        }
    }
}

/// Whether nothing can happen any more (under the model checker's options).
pub fn is_quiescent(spec: &Spec, world: &World) -> bool {
    !has_enabled(spec, world, Options::exhaustive(spec))
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
    let mut step = Step {
        spec,
        world: &mut next,
        events,
    };
    step.perform(action).map_err(|()| NotEnabled(action))?;
    step.finish_ready_tasks();
    next.ghost.end_step(&mut next.last);
    Ok(next)
}

/// One application of an action: the world being changed and the routing helpers.
struct Step<'a> {
    spec: &'a Spec,
    world: &'a mut World,
    events: Option<&'a mut Vec<StepEvent>>,
}

impl Step<'_> {
    /// Where the first RPC named by `key` is in flight.
    fn rpc_index(&self, key: RpcKey) -> Result<usize, ()> {
        self.world
            .rpcs
            .iter()
            .position(|r| r.key() == key)
            .ok_or(())
    }

    fn note(&mut self, event: StepEvent) {
        if let Some(events) = self.events.as_mut() {
            events.push(event);
        }
    }

    fn perform(&mut self, action: Action) -> Result<(), ()> {
        let spec = self.spec;
        match action {
            Action::Deliver { channel } => {
                let event = self.world.channels[channel.0 as usize]
                    .pop_front()
                    .ok_or(())?;
                let to = spec.channel(channel);
                if let ChannelEvent::CancelMarker(id) = event {
                    self.world.last.1 = Some((to.to, id));
                }
                let event = match event {
                    // The sender's output timer turned a queued timeoutable barrier unaligned.
                    ChannelEvent::Barrier(b)
                        if b.is_timeoutable()
                            && self.world.now
                                >= b.alignment_deadline(spec.checkpointing.alignment_timeout) =>
                    {
                        ChannelEvent::Barrier(b.as_unaligned())
                    }
                    other => other,
                };
                self.note(StepEvent::Delivered {
                    channel,
                    event,
                    priority: false,
                    overtaken: 0,
                });
                self.task_step(
                    to.to,
                    TaskInput::Event {
                        input: to.to_input,
                        event,
                    },
                );
            }
            Action::DeliverPriority { channel } => {
                let (index, barrier) = self.world.priority_barrier(spec, channel).ok_or(())?;
                let queue = &mut self.world.channels[channel.0 as usize];
                let overtaken: Vec<Record> = queue
                    .iter()
                    .take(index)
                    .filter_map(|e| match e {
                        ChannelEvent::Record(r) => Some(*r),
                        _ => None,
                    })
                    .collect();
                queue.remove(index);
                if !overtaken.is_empty() {
                    self.world.last.set(LastStep::BARRIER_OVERTOOK_RECORDS);
                }
                let to = spec.channel(channel);
                self.note(StepEvent::Delivered {
                    channel,
                    event: ChannelEvent::Barrier(barrier.as_unaligned()),
                    priority: true,
                    overtaken: overtaken.len(),
                });
                self.task_step(
                    to.to,
                    TaskInput::PriorityBarrier {
                        input: to.to_input,
                        barrier: barrier.as_unaligned(),
                        overtaken,
                    },
                );
            }
            Action::Emit { task } => self.task_step(task, TaskInput::EmitNext),
            Action::DeliverRpc { rpc } => {
                let index = self.rpc_index(rpc)?;
                let connection = self.world.rpcs[index].connection();
                let behind = self.world.rpcs[..index]
                    .iter()
                    .any(|r| r.connection() == connection);
                if spec.rpc_order == RpcOrder::PerPairFifo && behind {
                    return Err(()); // Not the head of its connection.
                }
                let message = self.world.rpcs.remove(index);
                self.note(StepEvent::RpcDelivered(rpc));
                self.deliver_rpc(message);
            }
            Action::FinishTriggering => {
                if self.world.coordinator.coordinator_snapshot.is_none() {
                    return Err(());
                }
                self.note(StepEvent::TriggerPhaseDone);
                self.coordinator_step(CoordinatorInput::TriggerPhaseDone);
            }
            Action::Fire { timer } => {
                let due = self
                    .world
                    .timers(spec)
                    .into_iter()
                    .find(|(_, t)| *t == timer)
                    .map(|(due, _)| due)
                    .ok_or(())?;
                self.world.now = self.world.now.max(due);
                self.note(StepEvent::TimerFired {
                    timer,
                    now: self.world.now,
                });
                match timer {
                    Timer::Periodic => self.coordinator_step(CoordinatorInput::PeriodicTimer),
                    Timer::CheckpointTimeout { checkpoint } => {
                        self.coordinator_step(CoordinatorInput::CheckpointTimeout(checkpoint))
                    }
                    Timer::Alignment { task } => self.task_step(task, TaskInput::AlignmentTimeout),
                    Timer::OutputAlignment { .. } => {}
                }
            }
            Action::User { request } => {
                self.note(StepEvent::UserRequested(request));
                let used = &mut self.world.used;
                match request {
                    UserRequestKind::ManualCheckpoint => used.manual_checkpoints += 1,
                    UserRequestKind::Savepoint => used.savepoints += 1,
                    UserRequestKind::StopWithSavepoint => used.stop_with_savepoint += 1,
                }
                self.coordinator_step(CoordinatorInput::User(request.into()));
            }
            Action::ResumeFromSavepoint => {
                let savepoint = self.world.savepoint.clone().ok_or(())?;
                if self.world.coordinator.job != JobStatus::Suspended {
                    return Err(());
                }
                let attempt = Attempt(self.world.coordinator.attempt.0.wrapping_add(1));
                self.world.coordinator =
                    Coordinator::resumed_from(spec, self.world.now, savepoint.clone(), attempt);
                self.world.ghost.coordinator_replaced();
                self.note(StepEvent::Resumed { from: savepoint.id });
                self.observe(CoordinatorEvent::Restored {
                    id: Some(savepoint.id),
                    newer_pending: false,
                });
                self.restore(Some(&savepoint));
            }
            Action::Crash { task } => {
                self.world.used.task_crashes += 1;
                self.note(StepEvent::Crashed(task));
                self.crash(task);
            }
            Action::FailoverCoordinator => {
                self.world.used.coordinator_failovers += 1;
                self.note(StepEvent::CoordinatorFailedOver);
                let ctx = CoordinatorContext {
                    spec,
                    now: self.world.now,
                    storage_write_fails: false,
                };
                let mut outputs = Vec::new();
                let recovered = self.world.coordinator.recover(&ctx, &mut outputs);
                self.world.coordinator = recovered;
                self.world.ghost.coordinator_replaced();
                // The old leader's RPC endpoints are gone.
                self.world.rpcs.clear();
                self.coordinator_outputs(outputs);
            }
            Action::LoseRpc { rpc } => {
                let index = self.rpc_index(rpc)?;
                self.world.rpcs.remove(index);
                self.world.used.lost_rpcs += 1;
                self.note(StepEvent::RpcLost(rpc));
            }
            Action::DeclineSnapshot { rpc } => {
                let index = self.rpc_index(rpc)?;
                let Rpc::Ack {
                    task, attempt, id, ..
                } = self.world.rpcs.remove(index)
                else {
                    return Err(());
                };
                self.world.used.declined_snapshots += 1;
                self.note(StepEvent::SnapshotFailed(rpc));
                // The asynchronous part failed: the task declines instead of acknowledging.
                self.send(Rpc::Decline {
                    task,
                    attempt,
                    id,
                    reason: FailureReason::CheckpointAsyncException,
                });
            }
            Action::FailStorageWrite => {
                self.world.used.storage_failures += 1;
                self.world.storage_fault_armed = true;
                self.note(StepEvent::StorageFaultArmed);
            }
        }
        Ok(())
    }

    fn send(&mut self, rpc: Rpc) {
        self.note(StepEvent::RpcSent(rpc.key()));
        let at = match self.spec.rpc_order {
            RpcOrder::Unordered => self.world.rpcs.partition_point(|r| *r <= rpc),
            // Behind everything on connections that sort before it or are the same one: each
            // connection's queue keeps its sending order.
            RpcOrder::PerPairFifo => {
                let connection = rpc.connection();
                self.world
                    .rpcs
                    .partition_point(|r| r.connection() <= connection)
            }
        };
        self.world.rpcs.insert(at, rpc);
    }

    fn deliver_rpc(&mut self, rpc: Rpc) {
        match rpc {
            Rpc::Trigger { task, barrier } => {
                if self.world.task(task).status == TaskStatus::Finished {
                    // The trigger RPC fails on a finished task (CCT#testTasksFinishDuringTriggering).
                    let attempt = self.world.coordinator.attempt;
                    self.send(Rpc::Decline {
                        task,
                        attempt,
                        id: barrier.id,
                        reason: FailureReason::TriggerCheckpointFailure,
                    });
                } else {
                    self.task_step(task, TaskInput::Trigger(barrier));
                }
            }
            Rpc::NotifyComplete { task, id } => self.task_step(task, TaskInput::NotifyComplete(id)),
            Rpc::NotifyAborted {
                task,
                id,
                latest_completed,
            } => self.task_step(
                task,
                TaskInput::NotifyAborted {
                    id,
                    latest_completed,
                },
            ),
            Rpc::Ack {
                task,
                attempt,
                id,
                snapshot,
            } => self.coordinator_step(CoordinatorInput::Ack {
                task,
                attempt,
                id,
                snapshot,
            }),
            Rpc::Decline {
                task,
                attempt,
                id,
                reason,
            } => self.coordinator_step(CoordinatorInput::Decline {
                task,
                attempt,
                id,
                reason,
            }),
            Rpc::EndOfData { task, attempt } => {
                self.coordinator_step(CoordinatorInput::EndOfData { task, attempt })
            }
            Rpc::TaskFinished { task, attempt } => {
                self.coordinator_step(CoordinatorInput::TaskFinished { task, attempt })
            }
            Rpc::TaskFailed { task, attempt } => {
                self.coordinator_step(CoordinatorInput::TaskFailed { task, attempt })
            }
        }
    }

    fn crash(&mut self, task: TaskId) {
        self.world.tasks[task.0 as usize] = Task::crashed(self.spec, task);
        let attempt = self.world.coordinator.attempt;
        self.send(Rpc::TaskFailed { task, attempt });
    }

    fn coordinator_step(&mut self, input: CoordinatorInput) {
        let ctx = CoordinatorContext {
            spec: self.spec,
            now: self.world.now,
            storage_write_fails: self.world.storage_fault_armed,
        };
        let outputs = self.world.coordinator.step(&ctx, input);
        self.coordinator_outputs(outputs);
    }

    fn coordinator_outputs(&mut self, outputs: Vec<CoordinatorOutput>) {
        for output in outputs {
            match output {
                CoordinatorOutput::TriggerTask { task, barrier } => {
                    self.send(Rpc::Trigger { task, barrier })
                }
                CoordinatorOutput::NotifyComplete { task, id } => {
                    self.send(Rpc::NotifyComplete { task, id })
                }
                CoordinatorOutput::NotifyAborted {
                    task,
                    id,
                    latest_completed,
                } => self.send(Rpc::NotifyAborted {
                    task,
                    id,
                    latest_completed,
                }),
                CoordinatorOutput::Restore { checkpoint } => self.restore(checkpoint.as_ref()),
                CoordinatorOutput::CancelJob => self.cancel_job(),
                CoordinatorOutput::SavepointCompleted(savepoint) => {
                    self.world.savepoint = Some(savepoint)
                }
                CoordinatorOutput::StorageFaultConsumed => self.world.storage_fault_armed = false,
                CoordinatorOutput::Event(event) => self.observe(event),
            }
        }
    }

    fn observe(&mut self, event: CoordinatorEvent) {
        if self.events.is_some() {
            self.note(StepEvent::Coordinator(event.clone()));
        }
        self.world
            .ghost
            .observe(self.spec, &event, &mut self.world.last);
    }

    /// The job ends without failover: every task is cancelled, channels and task RPCs vanish.
    fn cancel_job(&mut self) {
        for queue in &mut self.world.channels {
            queue.clear();
        }
        self.world.rpcs.retain(|rpc| !rpc.to_task());
        for task in self.spec.task_ids() {
            self.world.tasks[task.0 as usize] = Task::crashed(self.spec, task);
        }
    }

    /// Global failover: every task restarts from the checkpoint (or from scratch), every channel
    /// is cleared and refilled with the restored channel state, RPCs to the old tasks vanish.
    fn restore(&mut self, checkpoint: Option<&CompletedCheckpoint>) {
        let spec = self.spec;
        for queue in &mut self.world.channels {
            queue.clear();
        }
        self.world.rpcs.retain(|rpc| !rpc.to_task());
        let mut finished_on_restore = Vec::new();
        for task in spec.task_ids() {
            let snapshot = checkpoint.and_then(|c| c.snapshot(task));
            match (snapshot, checkpoint) {
                (Some(snapshot), Some(c)) => {
                    let (restored, outputs, channel_state) =
                        Task::restore(spec, task, snapshot, c.id);
                    self.world.tasks[task.0 as usize] = restored;
                    for (input, record) in channel_state {
                        let channel = spec.task(task).inputs[input as usize].channel;
                        self.world.channels[channel.0 as usize]
                            .push_back(ChannelEvent::Record(record));
                    }
                    self.task_outputs(task, outputs);
                }
                (None, Some(c)) if c.finished.contains(task) => {
                    // FLIP-147: a task finished in the checkpoint is deployed finished.
                    let mut restored = Task::new(spec, task);
                    restored.status = TaskStatus::Finished;
                    self.world.tasks[task.0 as usize] = restored;
                    finished_on_restore.push(task);
                }
                _ => self.world.tasks[task.0 as usize] = Task::new(spec, task),
            }
        }
        for task in finished_on_restore {
            self.broadcast(task, ChannelEvent::EndOfData);
            self.broadcast(task, ChannelEvent::EndOfPartition);
            let attempt = self.world.coordinator.attempt;
            self.send(Rpc::EndOfData { task, attempt });
            self.send(Rpc::TaskFinished { task, attempt });
        }
    }

    fn task_step(&mut self, task: TaskId, input: TaskInput) {
        let ctx = TaskContext {
            spec: self.spec,
            task,
            now: self.world.now,
        };
        let outputs = self.world.tasks[task.0 as usize].step(&ctx, input);
        self.task_outputs(task, outputs);
    }

    fn task_outputs(&mut self, task: TaskId, outputs: Vec<TaskOutput>) {
        let attempt = self.world.coordinator.attempt;
        for output in outputs {
            match output {
                TaskOutput::Emit(record) => {
                    let spec = self.spec;
                    for spec_output in &spec.task(task).outputs {
                        for channel in topology::route(spec_output, &record) {
                            let event = ChannelEvent::Record(record);
                            self.note(StepEvent::Sent { channel, event });
                            self.world.channels[channel.0 as usize].push_back(event);
                        }
                    }
                }
                TaskOutput::Broadcast(event) => self.broadcast(task, event),
                TaskOutput::Ack { id, snapshot } => self.send(Rpc::Ack {
                    task,
                    attempt,
                    id,
                    snapshot: SharedSnapshot::new(snapshot),
                }),
                TaskOutput::Decline { id, reason } => self.send(Rpc::Decline {
                    task,
                    attempt,
                    id,
                    reason,
                }),
                TaskOutput::Commit(transactions) => {
                    for transaction in transactions {
                        self.note(StepEvent::Committed {
                            sink: task,
                            transaction: transaction.checkpoint,
                            records: transaction.records.len(),
                        });
                        self.world.external.commit(task, transaction);
                    }
                }
                TaskOutput::Write(record) => {
                    self.note(StepEvent::Written { sink: task, record });
                    self.world.external.insert(
                        record,
                        Writer {
                            sink: task,
                            transaction: None,
                        },
                    )
                }
                TaskOutput::Snapshotted { id, unaligned } => self.note(StepEvent::Snapshotted {
                    task,
                    id,
                    unaligned,
                }),
                TaskOutput::EndOfData => self.send(Rpc::EndOfData { task, attempt }),
                TaskOutput::Finished => self.send(Rpc::TaskFinished { task, attempt }),
                TaskOutput::Fail => self.crash(task),
            }
        }
    }

    fn broadcast(&mut self, task: TaskId, event: ChannelEvent) {
        let spec = self.spec;
        for spec_output in &spec.task(task).outputs {
            for channel in &spec_output.targets {
                self.note(StepEvent::Sent {
                    channel: *channel,
                    event,
                });
                self.world.channels[channel.0 as usize].push_back(event);
            }
        }
    }

    /// Tasks finish as soon as they may (final checkpoint or stop-with-savepoint complete, inputs
    /// ended) and everything they emitted was consumed downstream.
    fn finish_ready_tasks(&mut self) {
        for task in self.spec.task_ids() {
            let ready = self.world.task(task).ready_to_finish()
                && self
                    .spec
                    .task(task)
                    .outputs
                    .iter()
                    .flat_map(|o| o.targets.iter())
                    .all(|c| self.world.channels[c.0 as usize].is_empty());
            if ready {
                self.note(StepEvent::Finished(task));
                let outputs = self.world.tasks[task.0 as usize].finish();
                self.task_outputs(task, outputs);
            }
        }
    }
}
