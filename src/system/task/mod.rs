//! The task side: one subtask's state and its pure step function
//! `(state, context{now}, input) -> outputs`.
//!
//! A task is a source, an operator or a sink. It routes barriers, cancellation markers and ends of
//! partition to its barrier handler (exactly-once: [`handler::SingleHandler`], at-least-once:
//! [`tracker::Tracker`]), takes snapshots atomically when the handler says so
//! (`SubtaskCheckpointCoordinatorImpl.checkpointState`, reference §2.2), persists in-flight records
//! as channel state for unaligned checkpoints, and reacts to the coordinator's notifications
//! (`StreamTask.notifyCheckpoint*`, §2.8), FLIP-147 end of data and final checkpoints (§2.7), and
//! two-phase-commit (§3.4), and an async sink's flush: a snapshot at a sink with sends in flight
//! waits until they completed (`SinkWriterOperator.prepareSnapshotPreBarrier` ->
//! `AsyncSinkWriter.flush(false)`), and while it waits the task only takes its send completions
//! (`mailboxExecutor.yield()` runs mails, never input). It never panics on a protocol surprise: unexpected inputs are ignored
//! or reported as data.

pub mod handler;
mod lifecycle;
pub mod operator;
mod split_reader;
pub mod tracker;
pub mod transactions;

use crate::system::bugs::Bug;
use crate::system::protocol::{
    Barrier, ChannelEvent, CheckpointId, FailureReason, InputSet, Record, SharedFile, SourceEvent,
    TaskId, Tick,
};
use crate::system::spec::{CheckpointMode, OperatorKind, Spec, TaskSpec};
use handler::{HandlerEffect, SingleHandler};
use operator::{OperatorState, Transaction, TxnId};
use tracker::Tracker;

/// Whether a subtask is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskStatus {
    Running,
    /// Finished after its final checkpoint (or its stop-with-savepoint) completed.
    Finished,
    /// Crashed; waiting for the job's failover to restart it.
    Crashed,
    /// `lifecycle.deploy_steps`: (re)deployed, restoring, not yet RUNNING (`lifecycle.rs`).
    Deploying,
    /// `lifecycle.finish_steps`: ready to finish, its mailbox closed; it finishes next.
    Finishing,
}

/// The barrier handler a task uses, chosen by the checkpointing mode (`InputProcessorUtil`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BarrierHandler {
    /// Exactly-once (`SingleCheckpointBarrierHandler`; alternating when unaligned is enabled).
    Single(SingleHandler),
    /// At-least-once (`CheckpointBarrierTracker`).
    Tracker(Tracker),
}

impl BarrierHandler {
    fn new(spec: &Spec, inputs: usize) -> BarrierHandler {
        match spec.checkpointing.mode {
            CheckpointMode::AtLeastOnce => BarrierHandler::Tracker(Tracker::new(inputs)),
            CheckpointMode::Aligned => BarrierHandler::Single(SingleHandler::new(inputs, false)),
            CheckpointMode::Unaligned => BarrierHandler::Single(SingleHandler::new(inputs, true)),
        }
    }

    /// Inputs whose consumption is suspended (aligned exactly-once only).
    pub fn blocked(&self) -> InputSet {
        match self {
            BarrierHandler::Single(handler) => handler.blocked,
            BarrierHandler::Tracker(_) => InputSet::default(),
        }
    }

    /// Inputs that have not delivered end of partition.
    pub fn open(&self) -> InputSet {
        match self {
            BarrierHandler::Single(handler) => handler.open,
            BarrierHandler::Tracker(tracker) => tracker.open,
        }
    }
}

/// In-flight records being persisted for an unaligned checkpoint whose snapshot is taken but whose
/// barriers have not all arrived (the asynchronous part waits for them before acknowledging).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelCapture {
    pub id: CheckpointId,
    /// The operator state snapshotted at the first barrier.
    pub operator: OperatorState,
    /// Inputs still before their barrier.
    pub pending: InputSet,
    /// Persisted records as (local input, record), in arrival order.
    pub captured: Vec<(u8, Record)>,
    /// The shared files of the snapshot taken at the first barrier.
    pub shared: Vec<SharedFile>,
}

/// A snapshot deferred until the async sink's sends in flight completed: everything
/// `perform_checkpoint` needs to go on once `AsyncSinkWriter.flush(false)` returns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PendingSnapshot {
    pub barrier: Barrier,
    pub capture: InputSet,
    pub forward: bool,
    pub channel_state: Vec<(u8, Record)>,
}

/// A snapshot once it left the task: immutable and shared by every RPC, pending checkpoint and
/// store entry that holds it, so cloning a world copies a pointer, not the state.
pub type SharedSnapshot = std::sync::Arc<TaskSnapshot>;

/// What a task acknowledges: its operator state plus, for unaligned checkpoints, the in-flight
/// records of its inputs (`OperatorSubtaskState` incl. input channel state).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskSnapshot {
    pub operator: OperatorState,
    pub channel_state: Vec<(u8, Record)>,
    /// Incremental checkpoints: the shared state files the snapshot references, sorted (its
    /// own new upload and the files of the confirmed checkpoint it builds on).
    pub shared: Vec<SharedFile>,
}

/// The task side of incremental checkpoints (`RocksIncrementalSnapshotStrategy`): the files of
/// the last checkpoint confirmed to this task (`lastCompletedCheckpointId`), which a new
/// snapshot reuses as placeholders, and the files of snapshots not yet confirmed
/// (`uploadedSstFiles`). Since FLINK-25395 only confirmed state is reused.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uploads {
    pub base: Vec<SharedFile>,
    pub unconfirmed: Vec<(CheckpointId, Vec<SharedFile>)>,
}

/// One subtask's dynamic state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Task {
    pub status: TaskStatus,
    pub operator: OperatorState,
    pub handler: BarrierHandler,
    /// Inputs that delivered `EndOfData`.
    pub end_of_data_inputs: InputSet,
    /// Boxed: it is rarely present, and a task is copied on every step.
    pub capture: Option<Box<ChannelCapture>>,
    /// `SubtaskCheckpointCoordinatorImpl.lastCheckpointId`: snapshots never go backwards.
    pub last_checkpoint_id: CheckpointId,
    /// Checkpoints the coordinator aborted before this task triggered them (ids above
    /// `last_checkpoint_id` only).
    pub aborted_before_trigger: Vec<CheckpointId>,
    /// `latestReportedCompletedCheckpointId`: completion notifications only move forward.
    pub latest_completed: CheckpointId,
    /// FLIP-147: this task reached end of data (sources: input exhausted; others: every input).
    pub end_of_data: bool,
    /// FLIP-147: the first checkpoint after end of data; the task finishes once it completed.
    pub final_checkpoint: CheckpointId,
    /// The synchronous savepoint of a stop-with-savepoint; the task stops after it completes.
    pub sync_savepoint: CheckpointId,
    /// `StreamTask.finalCheckpointCompleted`: the notification of exactly the synchronous
    /// savepoint arrived, or (no synchronous savepoint set) of a checkpoint at or after the final
    /// checkpoint. Set by the notification itself, never derived from ids afterwards.
    pub final_checkpoint_completed: bool,
    /// An async sink's snapshot waiting for its sends in flight (boxed: rarely present).
    pub flush: Option<Box<PendingSnapshot>>,
    /// Incremental checkpoints only (boxed: absent otherwise).
    pub uploads: Option<Box<Uploads>>,
}

/// The static context of one step: the model, which subtask, and the current time.
#[derive(Clone, Copy)]
pub struct TaskContext<'a> {
    pub spec: &'a Spec,
    pub task: TaskId,
    pub now: Tick,
}

impl TaskContext<'_> {
    pub fn task_spec(&self) -> &TaskSpec {
        self.spec.task(self.task)
    }
}

/// One input to the task step function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskInput {
    /// Sources: emit the next record, or signal end of data once the input is exhausted.
    EmitNext,
    /// The head event of a local input channel.
    Event {
        input: u8,
        event: ChannelEvent,
    },
    /// An unaligned (priority) barrier delivered ahead of the records queued before it.
    PriorityBarrier {
        input: u8,
        barrier: Barrier,
        overtaken: Vec<Record>,
    },
    /// The coordinator's trigger RPC (sources, or tasks whose predecessors all finished).
    Trigger(Barrier),
    NotifyComplete(CheckpointId),
    NotifyAborted {
        id: CheckpointId,
        latest_completed: CheckpointId,
    },
    /// The alignment timer fired.
    AlignmentTimeout,
    /// An async sink's oldest send in flight completed (its completion mail runs).
    SendCompleted,
    /// Split readers: an operator event from the source's coordinator.
    SourceEvent(SourceEvent),
}

/// One effect of a task step, carried out by the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskOutput {
    /// A record for the downstream operators, routed by each output edge's partitioning.
    Emit(Record),
    /// An event for every output channel.
    Broadcast(ChannelEvent),
    Ack {
        id: CheckpointId,
        snapshot: TaskSnapshot,
    },
    Decline {
        id: CheckpointId,
        reason: FailureReason,
    },
    /// Commit these transactions to the external system (idempotent per transaction).
    Commit(Vec<Transaction>),
    /// An at-least-once sink's direct write to the external output.
    Write(Record),
    /// A record sent into the open transaction with this identity (`transactions.identity`).
    SendToTransaction { id: TxnId, record: Record },
    /// `initTransactions` for this transactional id and epoch: the external system fences the
    /// older epochs' open transaction of the id (`transactions.identity`).
    InitTransactionalId(TxnId),
    /// `TransactionAborter.abortLingeringTransactions`: abort the lingering transactions of this
    /// sink from this id upward, until an id that was never used, with this epoch.
    AbortLingering { from: TxnId },
    /// Report end of data to the coordinator.
    EndOfData,
    /// Report that the task finished.
    Finished,
    /// Report that the task switched to RUNNING (`lifecycle.deploy_steps`).
    Running,
    /// The task fails itself (an aborted stop-with-savepoint); the job fails over.
    Fail,
    /// Observability only: the task took its snapshot for this checkpoint (unaligned: the
    /// acknowledgement follows once every barrier arrived).
    Snapshotted { id: CheckpointId, unaligned: bool },
    /// Observability only: an async sink's snapshot of this checkpoint waited for its sends in
    /// flight, and they all completed.
    Flushed { id: CheckpointId },
    /// Observability only: a batch-flush operator's input ended and it emitted this many
    /// buffered records (the `Emit`s that follow).
    InputEnded { flushed: u16 },
    /// Split readers: ask the source's coordinator for a split (`RequestSplitEvent`).
    RequestSplit,
}

/// Outputs of one step.
pub type Outputs = Vec<TaskOutput>;

impl Task {
    /// A freshly deployed subtask with empty state.
    pub fn new(spec: &Spec, task: TaskId) -> Task {
        let task_spec = spec.task(task);
        Task {
            status: TaskStatus::Running,
            operator: transactions::first_producer(
                spec,
                OperatorState::initial(task_spec, spec.key_space),
            ),
            handler: BarrierHandler::new(spec, task_spec.inputs.len()),
            end_of_data_inputs: InputSet::default(),
            capture: None,
            last_checkpoint_id: CheckpointId::NONE,
            aborted_before_trigger: Vec::new(),
            latest_completed: CheckpointId::NONE,
            end_of_data: false,
            final_checkpoint: CheckpointId::NONE,
            sync_savepoint: CheckpointId::NONE,
            final_checkpoint_completed: false,
            flush: None,
            uploads: None,
        }
    }

    /// A crashed subtask. Its state is gone; the canonical value keeps crash times apart only by
    /// what survives them.
    pub fn crashed(spec: &Spec, task: TaskId) -> Task {
        Task {
            status: TaskStatus::Crashed,
            ..Task::new(spec, task)
        }
    }

    /// A subtask restored from a checkpoint (reference §3.3): operator state restored, sources
    /// rewound; two-phase-commit sinks commit the restored pending transactions
    /// (`recoverAndCommit`) and drop the open one (`recoverAndAbort`). Returns the task, the
    /// commits to perform, and the channel state to replay before live input.
    pub fn restore(
        spec: &Spec,
        task: TaskId,
        snapshot: &TaskSnapshot,
        restored: CheckpointId,
    ) -> (Task, Outputs, Vec<(u8, Record)>) {
        let mut restored_task = Task::new(spec, task);
        let mut outputs = Outputs::new();
        restored_task.operator = snapshot.operator.clone();
        restored_task.last_checkpoint_id = restored;
        restored_task.latest_completed = restored;
        // The restored files count as the confirmed checkpoint's (`restoredSstFiles`).
        if !snapshot.shared.is_empty() {
            restored_task.uploads = Some(Box::new(Uploads {
                base: snapshot.shared.clone(),
                unconfirmed: Vec::new(),
            }));
        }
        if let OperatorState::TwoPhaseCommitSink {
            current, pending, ..
        } = &mut restored_task.operator
        {
            current.clear();
            let transactions = std::mem::take(pending);
            // BUG no-recommit-on-restore: restored pending transactions are dropped.
            if !spec.has_bug(Bug::NoRecommitOnRestore) && !transactions.is_empty() {
                outputs.push(TaskOutput::Commit(transactions));
            }
        }
        (restored_task, outputs, snapshot.channel_state.clone())
    }

    pub fn is_running(&self) -> bool {
        self.status == TaskStatus::Running
    }

    /// Sources: whether `EmitNext` has something to do.
    pub fn can_emit(&self, task_spec: &TaskSpec) -> bool {
        self.is_running()
            && task_spec.kind.is_source()
            && !self.end_of_data
            && self.sync_savepoint.is_none()
            && match self.operator {
                OperatorState::Source { offset, .. } => {
                    offset as usize <= task_spec.input_records.len()
                }
                OperatorState::SplitReader { .. } => self.reader_can_progress(),
                _ => false,
            }
    }

    /// An async sink whose mailbox yields to its send completions only: a snapshot waits for
    /// the sends in flight (`prepareSnapshotPreBarrier` -> `flush(false)`), or the end of its
    /// input does (`SinkWriterOperator.endInput` -> `flush(true)`). `MailboxExecutor.yield` runs
    /// mails of the sink operator's priority or higher, so neither input nor the task's
    /// checkpoint RPCs are taken meanwhile.
    pub fn yielding_to_sends(&self) -> bool {
        self.is_running()
            && (self.flush.is_some() || (self.end_of_data && self.operator.outstanding_sends() > 0))
    }

    /// An async sink has a send in flight that may complete (or fail).
    /// A two-phase-commit sink with pre-committed transactions awaiting their commit.
    pub fn has_pending_commits(&self) -> bool {
        matches!(&self.operator, OperatorState::TwoPhaseCommitSink { pending, .. } if !pending.is_empty())
    }

    pub fn has_outstanding_sends(&self) -> bool {
        self.is_running() && self.operator.outstanding_sends() > 0
    }

    /// When this task's alignment timer fires, if armed (not while it yields to its sends).
    pub fn alignment_deadline(&self, spec: &Spec) -> Option<Tick> {
        match &self.handler {
            BarrierHandler::Single(handler) if self.is_running() && !self.yielding_to_sends() => {
                handler.alignment_deadline(spec)
            }
            _ => None,
        }
    }

    /// FLIP-147 / stop-with-savepoint: the task may finish once its output is drained
    /// (`StreamTask.afterInvoke`: every input ended, and the final checkpoint or the synchronous
    /// savepoint completed).
    pub fn ready_to_finish(&self) -> bool {
        self.is_running()
            && self.handler.open().is_empty()
            && self.final_checkpoint_completed
            && self.operator.outstanding_sends() == 0
    }

    /// Finishes the task: it closes its outputs and tells the coordinator.
    pub fn finish(&mut self) -> Outputs {
        self.status = TaskStatus::Finished;
        vec![
            TaskOutput::Broadcast(ChannelEvent::EndOfPartition),
            TaskOutput::Finished,
        ]
    }

    /// The step function.
    pub fn step(&mut self, ctx: &TaskContext, input: TaskInput) -> Outputs {
        let mut out = Outputs::new();
        if let TaskInput::Trigger(barrier) = &input {
            if let Some(decline) = self.not_running_decline(barrier.id) {
                return vec![decline];
            }
        }
        if !self.is_running() {
            return out;
        }
        match input {
            TaskInput::EmitNext => self.emit_next(ctx, &mut out),
            TaskInput::Event { input, event } => match event {
                ChannelEvent::Record(record) => self.on_record(ctx, input, record, &mut out),
                ChannelEvent::Barrier(barrier) => {
                    let effects = match &mut self.handler {
                        BarrierHandler::Single(h) => {
                            h.on_barrier(ctx.spec, ctx.now, input, barrier, false)
                        }
                        BarrierHandler::Tracker(t) => t.on_barrier(ctx.spec, input, barrier),
                    };
                    self.apply_effects(ctx, effects, None, &mut out);
                }
                ChannelEvent::CancelMarker(id) => {
                    let effects = match &mut self.handler {
                        BarrierHandler::Single(h) => h.on_cancellation(ctx.spec, id),
                        BarrierHandler::Tracker(t) => t.on_cancellation(ctx.spec, input, id),
                    };
                    self.apply_effects(ctx, effects, None, &mut out);
                }
                ChannelEvent::EndOfData => {
                    self.end_of_data_inputs.insert(input as usize);
                    let all = InputSet::all(ctx.task_spec().inputs.len());
                    if !self.end_of_data && self.end_of_data_inputs == all {
                        self.end_data(ctx, &mut out);
                    }
                }
                ChannelEvent::EndOfPartition => {
                    let effects = match &mut self.handler {
                        BarrierHandler::Single(h) => {
                            h.on_end_of_partition(ctx.spec, ctx.now, input)
                        }
                        BarrierHandler::Tracker(t) => t.on_end_of_partition(input),
                    };
                    self.apply_effects(ctx, effects, None, &mut out);
                }
            },
            TaskInput::PriorityBarrier {
                input,
                barrier,
                overtaken,
            } => {
                let effects = match &mut self.handler {
                    BarrierHandler::Single(h) => {
                        h.on_barrier(ctx.spec, ctx.now, input, barrier, false)
                    }
                    BarrierHandler::Tracker(t) => t.on_barrier(ctx.spec, input, barrier),
                };
                self.apply_effects(ctx, effects, Some((input, &overtaken)), &mut out);
            }
            TaskInput::Trigger(barrier) => self.on_trigger_rpc(ctx, barrier, &mut out),
            TaskInput::NotifyComplete(id) => self.notify_complete(ctx, id, &mut out),
            TaskInput::NotifyAborted {
                id,
                latest_completed,
            } => self.notify_aborted(ctx, id, latest_completed, &mut out),
            TaskInput::AlignmentTimeout => {
                if let BarrierHandler::Single(h) = &mut self.handler {
                    let effects = h.on_alignment_timeout(ctx.spec, ctx.now);
                    self.apply_effects(ctx, effects, None, &mut out);
                }
            }
            TaskInput::SendCompleted => self.send_completed(ctx, &mut out),
            TaskInput::SourceEvent(event) => self.on_source_event(event),
        }
        out
    }

    /// `AsyncSinkWriter.completeRequest`: the oldest send in flight completed, its record is
    /// written to the external system; once none is in flight, a snapshot that waited for them
    /// goes on (`flush(false)` returns inside `prepareSnapshotPreBarrier`).
    fn send_completed(&mut self, ctx: &TaskContext, out: &mut Outputs) {
        let Some(record) = self.operator.complete_send() else {
            return;
        };
        out.push(TaskOutput::Write(record));
        if self.operator.outstanding_sends() > 0 {
            return;
        }
        if let Some(pending) = self.flush.take() {
            out.push(TaskOutput::Flushed {
                id: pending.barrier.id,
            });
            let PendingSnapshot {
                barrier,
                capture,
                forward,
                channel_state,
            } = *pending;
            self.take_snapshot(ctx, barrier, capture, forward, channel_state, out);
        }
    }

    fn emit_next(&mut self, ctx: &TaskContext, out: &mut Outputs) {
        let records = &ctx.task_spec().input_records;
        if !self.can_emit(ctx.task_spec()) {
            return;
        }
        if let OperatorState::SplitReader { .. } = self.operator {
            return self.reader_emit_next(ctx, out);
        }
        if let OperatorState::Source { offset, ended } = &mut self.operator {
            // A source restored from a snapshot taken after its end of input is finished
            // (FLIP-147): it ends again at once and reads nothing more.
            match records.get(*offset as usize) {
                Some(record) if !*ended => {
                    *offset += 1;
                    out.push(TaskOutput::Emit(*record));
                }
                _ => self.end_data(ctx, out),
            }
        }
    }

    /// FLIP-147 `StreamTask.endData(DRAIN)`: the operators' input ends (`endInput`, then
    /// `finish`: a batch-flush operator emits what it buffered, before anything else follows on
    /// its outputs), then the task tells downstream and the coordinator it has no more data. A
    /// stop without drain never comes here: `endData(NO_DRAIN)` finishes no operator
    /// (`StreamOperatorWrapper.finish` calls `endInput`/`finish` only for DRAIN), and the model
    /// leaves its EndOfData(NO_DRAIN) wave out, which changes nothing an operator here does.
    fn end_data(&mut self, ctx: &TaskContext, out: &mut Outputs) {
        self.end_of_data = true;
        if let OperatorState::Source { ended, .. } = &mut self.operator {
            *ended = ctx.spec.tracks_end_of_input();
        }
        let flushed = self.operator.end_input();
        if ctx.task_spec().kind == OperatorKind::BatchFlush {
            out.push(TaskOutput::InputEnded {
                flushed: flushed.len() as u16,
            });
        }
        out.extend(flushed.into_iter().map(TaskOutput::Emit));
        out.push(TaskOutput::Broadcast(ChannelEvent::EndOfData));
        out.push(TaskOutput::EndOfData);
    }

    /// A source's part of a stop-with-savepoint, before its snapshot
    /// (`SourceOperatorStreamTask.triggerStopWithSavepointAsync`: `setSynchronousSavepoint`,
    /// then `SourceOperator.stop(DRAIN | NO_DRAIN)`, and only once the source stopped the
    /// checkpoint itself). With drain (`SavepointType.terminate`, `shouldDrain`) the source ends
    /// its input (`endData(DRAIN)`), so every operator downstream ends its input and flushes
    /// before the savepoint's barrier reaches it; without drain nothing ends.
    fn stop_source(&mut self, ctx: &TaskContext, barrier: Barrier, out: &mut Outputs) {
        if !ctx.task_spec().kind.is_source() || self.end_of_data {
            return;
        }
        self.sync_savepoint = barrier.id;
        // BUG drain-skips-end-input: a draining stop stops the source as one without drain.
        if barrier.kind.drains() && !ctx.spec.has_bug(Bug::DrainSkipsEndInput) {
            self.end_data(ctx, out);
        }
    }

    fn on_record(&mut self, ctx: &TaskContext, input: u8, record: Record, out: &mut Outputs) {
        if let Some(capture) = &mut self.capture {
            if capture.pending.contains(input as usize) && persists(ctx, input) {
                capture.captured.push((input, record));
            }
        }
        let side = ctx.task_spec().inputs[input as usize].side;
        let processed = self.operator.process(side, record);
        out.extend(processed.emitted.into_iter().map(TaskOutput::Emit));
        out.extend(processed.written.into_iter().map(TaskOutput::Write));
        if let Some((id, record)) = processed.sent {
            out.push(TaskOutput::SendToTransaction { id, record });
        }
    }

    /// Trigger RPC: sources (and tasks whose inputs all ended) snapshot at once; a task whose
    /// predecessors all finished feeds an RPC barrier per open input to its handler (FLIP-147).
    fn on_trigger_rpc(&mut self, ctx: &TaskContext, barrier: Barrier, out: &mut Outputs) {
        if barrier.kind.is_synchronous() && self.last_checkpoint_id < barrier.id {
            self.stop_source(ctx, barrier, out);
        }
        let open = self.handler.open();
        if open.is_empty() {
            self.perform_checkpoint(ctx, barrier, InputSet::default(), true, None, out);
            return;
        }
        for input in open.iter() {
            let effects = match &mut self.handler {
                BarrierHandler::Single(h) => {
                    h.on_barrier(ctx.spec, ctx.now, input as u8, barrier, true)
                }
                BarrierHandler::Tracker(t) => t.on_barrier(ctx.spec, input as u8, barrier),
            };
            self.apply_effects(ctx, effects, None, out);
        }
    }

    /// Carries out the handler's decisions. `delivered`: the input and overtaken records of a
    /// priority barrier, which precede that barrier and so belong to its channel state.
    fn apply_effects(
        &mut self,
        ctx: &TaskContext,
        effects: handler::Effects,
        delivered: Option<(u8, &[Record])>,
        out: &mut Outputs,
    ) {
        for effect in effects {
            match effect {
                HandlerEffect::Trigger {
                    barrier,
                    capture,
                    forward,
                } => {
                    self.perform_checkpoint(ctx, barrier, capture, forward, delivered, out);
                }
                HandlerEffect::StopCapture { input } => {
                    self.stop_capture(ctx, input, delivered, out);
                }
                HandlerEffect::ForwardEarly { barrier } => {
                    out.push(TaskOutput::Broadcast(ChannelEvent::Barrier(barrier)));
                }
                HandlerEffect::Abort { id, reason } => self.abort_on_barrier(id, reason, out),
            }
        }
    }

    /// `SubtaskCheckpointCoordinatorImpl.checkpointState`: the atomic snapshot step.
    fn perform_checkpoint(
        &mut self,
        ctx: &TaskContext,
        barrier: Barrier,
        capture: InputSet,
        forward: bool,
        delivered: Option<(u8, &[Record])>,
        out: &mut Outputs,
    ) {
        let id = barrier.id;
        // `StreamTask.performCheckpoint` records the synchronous savepoint and the final
        // checkpoint's id before `checkpointState` runs its drop checks below, so a dropped or
        // already aborted checkpoint still sets them (reference §2.2, §2.7).
        if barrier.kind.is_synchronous() {
            self.sync_savepoint = id;
        }
        if self.end_of_data && self.final_checkpoint.is_none() {
            self.final_checkpoint = id;
        }
        // 0. Out of order: an older or repeated checkpoint is dropped without a word.
        if self.last_checkpoint_id >= id {
            return;
        }
        self.last_checkpoint_id = id;
        let aborted_first = self.aborted_before_trigger.contains(&id);
        self.aborted_before_trigger.retain(|a| *a > id);
        if aborted_first {
            // The coordinator already aborted it: tell downstream, do not decline.
            out.push(TaskOutput::Broadcast(ChannelEvent::CancelMarker(id)));
            return;
        }
        let mut channel_state = Vec::new();
        if let Some((input, overtaken)) = delivered {
            channel_state.extend(overtaken.iter().map(|record| (input, *record)));
        }
        // 1. `prepareSnapshotPreBarrier`, before the barrier is forwarded and the state
        // snapshotted: an async sink's writer flushes (`SinkWriterOperator` ->
        // `AsyncSinkWriter.flush(false)` yields until no request is in flight), so the snapshot
        // waits for its sends; a send that fails meanwhile fails the task.
        // BUG snapshot-without-flush: the snapshot is taken with sends still in flight.
        if self.operator.outstanding_sends() > 0 && !ctx.spec.has_bug(Bug::SnapshotWithoutFlush) {
            self.flush = Some(Box::new(PendingSnapshot {
                barrier,
                capture,
                forward,
                channel_state,
            }));
            return;
        }
        self.take_snapshot(ctx, barrier, capture, forward, channel_state, out);
    }

    /// The rest of `checkpointState` once `prepareSnapshotPreBarrier` returned: the synchronous
    /// snapshot, the barrier forwarded, and the acknowledgement (or the channel capture of an
    /// unaligned checkpoint).
    fn take_snapshot(
        &mut self,
        ctx: &TaskContext,
        barrier: Barrier,
        capture: InputSet,
        forward: bool,
        channel_state: Vec<(u8, Record)>,
        out: &mut Outputs,
    ) {
        let id = barrier.id;
        out.push(TaskOutput::Snapshotted {
            id,
            unaligned: barrier.is_unaligned(),
        });
        let operator = self.snapshot_operator(ctx, id, out);
        let shared = self.upload_shared(ctx, barrier);
        // BUG source-snapshot-not-atomic: a record slips out between snapshot and barrier.
        if ctx.spec.has_bug(Bug::SourceSnapshotNotAtomic) && ctx.task_spec().kind.is_source() {
            self.emit_next(ctx, out);
        }
        if forward {
            out.push(TaskOutput::Broadcast(ChannelEvent::Barrier(barrier)));
        }
        if capture.is_empty() {
            out.push(TaskOutput::Ack {
                id,
                snapshot: TaskSnapshot {
                    operator,
                    channel_state,
                    shared,
                },
            });
        } else {
            let pending = if persists_past_barrier(ctx) {
                self.handler.open()
            } else {
                capture
            };
            self.capture = Some(Box::new(ChannelCapture {
                id,
                operator,
                pending,
                captured: channel_state,
                shared,
            }));
        }
    }

    /// Incremental checkpoints: the snapshot's shared files. It uploads one new file (the state
    /// written since the confirmed checkpoint) and reuses the newest file of the confirmed
    /// checkpoint it builds on (older ones are compacted into the new upload, which bounds a
    /// snapshot at two files); a FULL checkpoint reuses nothing. Savepoints have no shared
    /// state (`SharingFilesStrategy.NO_SHARING`).
    fn upload_shared(&mut self, ctx: &TaskContext, barrier: Barrier) -> Vec<SharedFile> {
        if !ctx.spec.checkpointing.incremental || barrier.kind.is_savepoint() {
            return Vec::new();
        }
        let uploads = self.uploads.get_or_insert_with(Default::default);
        let mut files = vec![SharedFile {
            task: ctx.task,
            created: barrier.id,
        }];
        if !barrier.full {
            if let Some(reused) = uploads.base.iter().max_by_key(|f| f.created) {
                files.insert(0, *reused);
            }
        }
        files.sort();
        uploads.unconfirmed.push((barrier.id, files.clone()));
        files
    }

    /// Snapshots the operator state; a two-phase-commit sink pre-commits its open transaction.
    fn snapshot_operator(
        &mut self,
        ctx: &TaskContext,
        id: CheckpointId,
        out: &mut Outputs,
    ) -> OperatorState {
        match &mut self.operator {
            OperatorState::TwoPhaseCommitSink {
                current,
                pending,
                open,
                ..
            } => {
                let txn = if *open == TxnId::NONE {
                    TxnId::NONE
                } else {
                    transactions::precommit(ctx.spec, open, id, out)
                };
                let transaction = Transaction {
                    checkpoint: id,
                    records: std::mem::take(current),
                    id: txn,
                };
                // BUG commit-before-complete: the pre-commit already commits.
                if ctx.spec.has_bug(Bug::CommitBeforeComplete) {
                    out.push(TaskOutput::Commit(vec![transaction]));
                } else {
                    pending.push(transaction);
                }
            }
            OperatorState::Source { offset, ended } => {
                // BUG source-offset-off-by-one: the snapshot skips the next record.
                let len = ctx.task_spec().input_records.len() as u8;
                if ctx.spec.has_bug(Bug::SourceOffsetOffByOne) && *offset < len {
                    return OperatorState::Source {
                        offset: *offset + 1,
                        ended: *ended,
                    };
                }
            }
            _ => {}
        }
        self.operator.snapshot()
    }

    /// The barrier (or end) of `input` arrived for the unaligned checkpoint being captured.
    fn stop_capture(
        &mut self,
        ctx: &TaskContext,
        input: u8,
        delivered: Option<(u8, &[Record])>,
        out: &mut Outputs,
    ) {
        let handler_done = self
            .capture
            .as_ref()
            .is_some_and(|c| self.handler_done_with(c.id));
        let Some(capture) = &mut self.capture else {
            return;
        };
        if let Some((delivered_input, overtaken)) = delivered {
            if delivered_input == input
                && capture.pending.contains(input as usize)
                && persists(ctx, input)
            {
                capture
                    .captured
                    .extend(overtaken.iter().map(|record| (input, *record)));
            }
        }
        let keep_persisting = persists_past_barrier(ctx);
        if !keep_persisting {
            capture.pending.remove(input as usize);
        }
        let all_arrived = capture.pending.is_empty() || (keep_persisting && handler_done);
        if all_arrived {
            let capture = *self.capture.take().expect("checked above");
            out.push(TaskOutput::Ack {
                id: capture.id,
                snapshot: TaskSnapshot {
                    operator: capture.operator,
                    channel_state: capture.captured,
                    shared: capture.shared,
                },
            });
        }
    }

    /// Whether the handler has received every barrier of `id` (used by one injected bug only).
    fn handler_done_with(&self, id: CheckpointId) -> bool {
        match &self.handler {
            BarrierHandler::Single(h) => !(h.current_id == id && h.is_pending()),
            BarrierHandler::Tracker(_) => true,
        }
    }

    /// `SubtaskCheckpointCoordinatorImpl.abortCheckpointOnBarrier`: decline, drop channel state,
    /// and tell downstream with a cancellation marker.
    fn abort_on_barrier(&mut self, id: CheckpointId, reason: FailureReason, out: &mut Outputs) {
        self.last_checkpoint_id = self.last_checkpoint_id.max(id);
        self.aborted_before_trigger.retain(|a| *a > id);
        if self.capture.as_ref().is_some_and(|c| c.id <= id) {
            self.capture = None;
        }
        out.push(TaskOutput::Decline { id, reason });
        out.push(TaskOutput::Broadcast(ChannelEvent::CancelMarker(id)));
    }

    /// `notifyCheckpointComplete`: ignored unless newer than the last one; two-phase-commit sinks
    /// commit every pending transaction up to that id.
    fn notify_complete(&mut self, ctx: &TaskContext, id: CheckpointId, out: &mut Outputs) {
        if id <= self.latest_completed {
            return;
        }
        self.latest_completed = id;
        // `RocksIncrementalSnapshotStrategy.notifyCheckpointComplete`: a snapshot this task
        // uploaded for `id` becomes the base of the next ones.
        if let Some(uploads) = &mut self.uploads {
            if let Some(at) = uploads.unconfirmed.iter().position(|(c, _)| *c == id) {
                uploads.base = uploads.unconfirmed.remove(at).1;
                uploads.unconfirmed.retain(|(c, _)| *c > id);
            }
        }
        // `StreamTask.notifyCheckpointComplete`: under a synchronous savepoint only exactly that
        // savepoint lets the task finish, and the final-checkpoint path is off meanwhile.
        if id == self.sync_savepoint
            || (self.sync_savepoint.is_none()
                && !self.final_checkpoint.is_none()
                && id >= self.final_checkpoint)
        {
            self.final_checkpoint_completed = true;
        }
        if let OperatorState::TwoPhaseCommitSink { pending, .. } = &mut self.operator {
            // BUG commit-only-notified-transaction: earlier pending transactions stay pending.
            let committable = |t: &Transaction| {
                if ctx.spec.has_bug(Bug::CommitOnlyNotifiedTransaction) {
                    t.checkpoint == id
                } else {
                    t.checkpoint <= id
                }
            };
            let (commit, keep): (Vec<_>, Vec<_>) = pending.drain(..).partition(committable);
            *pending = keep;
            if !commit.is_empty() {
                out.push(TaskOutput::Commit(commit));
            }
        }
    }

    /// `notifyCheckpointAborted`: first catch up on the latest completion it carries, then cancel
    /// the checkpoint locally (or remember it if not yet triggered here). Aborts are no-ops for
    /// two-phase-commit sinks; an aborted stop-with-savepoint fails the task.
    fn notify_aborted(
        &mut self,
        ctx: &TaskContext,
        id: CheckpointId,
        latest_completed: CheckpointId,
        out: &mut Outputs,
    ) {
        if !latest_completed.is_none() {
            self.notify_complete(ctx, latest_completed, out);
        }
        // BUG commit-on-abort: the sink commits its pending transactions on an abort.
        if ctx.spec.has_bug(Bug::CommitOnAbort) {
            if let OperatorState::TwoPhaseCommitSink { pending, .. } = &mut self.operator {
                let commit: Vec<_> = std::mem::take(pending);
                if !commit.is_empty() {
                    out.push(TaskOutput::Commit(commit));
                }
            }
        }
        if id == self.sync_savepoint {
            out.push(TaskOutput::Fail);
            return;
        }
        // `notifyCheckpointAborted`: an aborted snapshot's uploads are never reused.
        if let Some(uploads) = &mut self.uploads {
            uploads.unconfirmed.retain(|(c, _)| *c != id);
        }
        if id > self.last_checkpoint_id {
            if !self.aborted_before_trigger.contains(&id) {
                self.aborted_before_trigger.push(id);
                self.aborted_before_trigger.sort();
            }
        } else if self.capture.as_ref().is_some_and(|c| c.id == id) {
            self.capture = None;
        }
    }
}

/// Whether an input's in-flight records are persisted as channel state (all of them are).
fn persists(ctx: &TaskContext, input: u8) -> bool {
    // BUG unaligned-captures-some-inputs: only the first input is persisted.
    !ctx.spec.has_bug(Bug::UnalignedCapturesSomeInputs) || input == 0
}

/// Whether an input stays persisted after its own barrier arrived (it must not: what follows the
/// barrier belongs to the next checkpoint).
fn persists_past_barrier(ctx: &TaskContext) -> bool {
    // BUG unaligned-consumes-behind-barrier: every open input is persisted until the last
    // barrier, including inputs whose barrier already passed.
    ctx.spec.has_bug(Bug::UnalignedConsumesBehindBarrier)
}
