//! Shared vocabulary of the protocol: small id newtypes, records with provenance, barriers and the
//! events that travel on data channels, and the failure reasons of Flink's `CheckpointFailureReason`.
//!
//! Everything here is plain data: no I/O, clock or randomness, and no collection with a
//! nondeterministic iteration order. The types are small `Copy` values so that a `World` stays
//! cheap to clone and hash.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Logical time in ticks. Time only advances when a timer fires.
pub type Tick = u32;

/// A subtask (one parallel instance of an operator), indexing `Spec::tasks`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct TaskId(pub u8);

/// A FIFO data channel between two subtasks, indexing `Spec::channels`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct ChannelId(pub u8);

/// A checkpoint id. Flink's first id is 1; `CheckpointId::NONE` (0) stands for Flink's -1/0
/// "no checkpoint" sentinels.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct CheckpointId(pub u32);

impl CheckpointId {
    pub const NONE: CheckpointId = CheckpointId(0);

    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for CheckpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cp{}", self.0)
    }
}

/// The execution attempt of the whole job. Every full restart starts a new attempt, so messages
/// from an older attempt can be recognised (Flink: `ExecutionAttemptID`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Attempt(pub u8);

/// A record key. Keys are small integers; hash partitioning sends key `k` to subtask
/// `k mod parallelism`.
pub type Key = u8;

/// Where a source record came from: the source subtask (its index among all source subtasks) and
/// its offset in that subtask's input.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Provenance {
    pub source: u8,
    pub offset: u8,
}

impl fmt::Debug for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}@{}", self.source, self.offset)
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The source records a record was derived from: one for most operators, two for the output of a
/// join. The oracle compares multisets of lineages, so a record that is lost or duplicated
/// anywhere in the pipeline shows up by name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Lineage {
    pub first: Provenance,
    pub second: Option<Provenance>,
}

impl Lineage {
    pub fn single(provenance: Provenance) -> Lineage {
        Lineage {
            first: provenance,
            second: None,
        }
    }

    pub fn joined(left: Lineage, right: Lineage) -> Lineage {
        Lineage {
            first: left.first,
            second: Some(right.first),
        }
    }

    /// A well-mixed 64-bit hash of the lineage (splitmix64 finaliser), used by [`Digest`].
    /// Deterministic on every platform and build.
    pub fn hash64(self) -> u64 {
        let pack = |p: Provenance| ((p.source as u64) << 8) | p.offset as u64;
        let raw = pack(self.first) | (self.second.map_or(0xffff, pack) << 16) | (1 << 40);
        let mut z = raw.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl fmt::Debug for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.second {
            None => write!(f, "{:?}", self.first),
            Some(second) => write!(f, "{:?}+{:?}", self.first, second),
        }
    }
}

impl fmt::Display for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A data record flowing through the job.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Record {
    pub key: Key,
    pub value: u16,
    pub lineage: Lineage,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}(k{}={})", self.lineage, self.key, self.value)
    }
}

/// An order-independent digest of a multiset of lineages: the count and the wrapping sum of
/// [`Lineage::hash64`]. A record absorbed twice or not at all changes it. Task states carry one
/// as an oracle-only ("ghost") field where the state itself does not name its records.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Digest {
    pub count: u32,
    pub sum: u64,
}

impl Digest {
    pub fn add(&mut self, lineage: Lineage) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(lineage.hash64());
    }

    pub fn merge(&mut self, other: Digest) {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
    }

    pub fn of<'a>(lineages: impl IntoIterator<Item = &'a Lineage>) -> Digest {
        let mut digest = Digest::default();
        for lineage in lineages {
            digest.add(*lineage);
        }
        digest
    }
}

/// What a snapshot is for (Flink: `CheckpointProperties` / `SnapshotType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SnapshotKind {
    /// A periodic or manual checkpoint: stored for failover, subsumable, notified.
    Checkpoint,
    /// A savepoint: never stored for failover, never subsumed, no completion notification.
    Savepoint,
    /// A synchronous savepoint taken by stop-with-savepoint: notified and subsumes older pending
    /// checkpoints; tasks stop after its completion notification.
    SyncSavepoint,
    /// The synchronous savepoint of stop-with-savepoint with drain (`SavepointType.terminate`;
    /// `SyncSavepoint` is `SavepointType.suspend`): as `SyncSavepoint`, and the sources end their
    /// input before its barrier (`shouldDrain`), so every operator flushes into it.
    TerminatingSavepoint,
}

impl SnapshotKind {
    pub fn is_savepoint(self) -> bool {
        !matches!(self, SnapshotKind::Checkpoint)
    }

    pub fn is_synchronous(self) -> bool {
        matches!(
            self,
            SnapshotKind::SyncSavepoint | SnapshotKind::TerminatingSavepoint
        )
    }

    /// A stop-with-savepoint with drain (`SavepointType.shouldDrain`).
    pub fn drains(self) -> bool {
        self == SnapshotKind::TerminatingSavepoint
    }
}

/// How tasks align barriers for one checkpoint (Flink: `CheckpointOptions.AlignmentType`, chosen
/// by `CheckpointOptions.forConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Alignment {
    /// At-least-once mode: the barrier tracker counts barriers and never blocks.
    AtLeastOnce,
    /// Exactly-once aligned; never times out (savepoints, or unaligned checkpoints disabled).
    Aligned,
    /// Exactly-once aligned that switches to unaligned once the alignment timeout elapses,
    /// measured from the checkpoint's trigger timestamp ("timeoutable").
    AlignedWithTimeout,
    /// Unaligned: a priority event that overtakes in-flight records, which become channel state.
    Unaligned,
}

/// A checkpoint barrier (Flink: `CheckpointBarrier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Barrier {
    pub id: CheckpointId,
    /// Logical time at which the coordinator triggered the checkpoint.
    pub timestamp: Tick,
    pub kind: SnapshotKind,
    pub alignment: Alignment,
    /// `CheckpointType.FULL_CHECKPOINT`: the task writes its state anew and reuses no shared
    /// file (the coordinator's `forceFullSnapshot` after a NO_CLAIM restore). Only models with
    /// `checkpointing.incremental` ever set it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
}

/// One shared (incremental) state file in checkpoint storage: the file `task` uploaded while
/// snapshotting checkpoint `created` (for a job started from a retained checkpoint, `created`
/// is that checkpoint's id). Keys are unique per upload, as Flink's registry keys are derived
/// from the uploaded handle (FLINK-29913): two uploads of the same local data are two files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SharedFile {
    pub task: TaskId,
    pub created: CheckpointId,
}

/// How a job restored from an external snapshot treats it (`RecoveryClaimMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClaimMode {
    /// The job owns the snapshot: it may be subsumed and its files deleted once unused.
    #[default]
    Claim,
    /// The user owns the snapshot: the job never deletes its files, and its first checkpoint
    /// is a full one (`forceFullSnapshot`).
    NoClaim,
}

impl fmt::Display for SharedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}@{}", self.task.0, self.created)
    }
}

impl Barrier {
    pub fn is_unaligned(&self) -> bool {
        self.alignment == Alignment::Unaligned
    }

    pub fn is_timeoutable(&self) -> bool {
        self.alignment == Alignment::AlignedWithTimeout
    }

    /// `CheckpointBarrier.asUnaligned`.
    pub fn as_unaligned(mut self) -> Barrier {
        self.alignment = Alignment::Unaligned;
        self
    }

    /// When the alignment timeout of a timeoutable barrier elapses (active timers fire here).
    pub fn alignment_deadline(&self, alignment_timeout: Tick) -> Tick {
        self.timestamp.saturating_add(alignment_timeout)
    }

    /// Flink's passive check `alignedTimeout < now - barrier.timestamp` (strict).
    pub fn passively_timed_out(&self, now: Tick, alignment_timeout: Tick) -> bool {
        self.is_timeoutable() && now.saturating_sub(self.timestamp) > alignment_timeout
    }
}

/// An event on a FIFO data channel between two subtasks.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ChannelEvent {
    Record(Record),
    Barrier(Barrier),
    /// `CancelCheckpointMarker`: the upstream task aborted this checkpoint.
    CancelMarker(CheckpointId),
    /// FLIP-147 `EndOfData`: the upstream will send no more records.
    EndOfData,
    /// The upstream subtask finished; the channel is closed after this event.
    EndOfPartition,
}

impl fmt::Debug for ChannelEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelEvent::Record(record) => write!(f, "{record:?}"),
            ChannelEvent::Barrier(barrier) => {
                let mode = match barrier.alignment {
                    Alignment::AtLeastOnce => "alo",
                    Alignment::Aligned => "aligned",
                    Alignment::AlignedWithTimeout => "timeoutable",
                    Alignment::Unaligned => "unaligned",
                };
                let kind = match barrier.kind {
                    SnapshotKind::Checkpoint => "",
                    SnapshotKind::Savepoint => " savepoint",
                    SnapshotKind::SyncSavepoint => " sync-savepoint",
                    SnapshotKind::TerminatingSavepoint => " terminate-savepoint",
                };
                write!(f, "|{}{} {}|", barrier.id, kind, mode)
            }
            ChannelEvent::CancelMarker(id) => write!(f, "cancel({id})"),
            ChannelEvent::EndOfData => write!(f, "end-of-data"),
            ChannelEvent::EndOfPartition => write!(f, "end-of-partition"),
        }
    }
}

/// Why a checkpoint failed (Flink: `CheckpointFailureReason`, the subset this model produces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FailureReason {
    PeriodicSchedulerShutdown,
    TooManyCheckpointRequests,
    MinimumTimeBetweenCheckpoints,
    NotAllRequiredTasksRunning,
    IoException,
    CheckpointAsyncException,
    CheckpointExpired,
    CheckpointSubsumed,
    CheckpointDeclined,
    CheckpointDeclinedTaskNotReady,
    CheckpointDeclinedTaskClosing,
    CheckpointDeclinedSubsumed,
    CheckpointDeclinedOnCancellationBarrier,
    CheckpointDeclinedInputEndOfStream,
    CheckpointCoordinatorShutdown,
    CheckpointCoordinatorSuspend,
    JobFailover,
    TaskFailure,
    TriggerCheckpointFailure,
    FinalizeCheckpointFailure,
}

impl FailureReason {
    /// Every reason, in declaration order.
    pub const ALL: [FailureReason; 20] = {
        use FailureReason::*;
        [
            PeriodicSchedulerShutdown,
            TooManyCheckpointRequests,
            MinimumTimeBetweenCheckpoints,
            NotAllRequiredTasksRunning,
            IoException,
            CheckpointAsyncException,
            CheckpointExpired,
            CheckpointSubsumed,
            CheckpointDeclined,
            CheckpointDeclinedTaskNotReady,
            CheckpointDeclinedTaskClosing,
            CheckpointDeclinedSubsumed,
            CheckpointDeclinedOnCancellationBarrier,
            CheckpointDeclinedInputEndOfStream,
            CheckpointCoordinatorShutdown,
            CheckpointCoordinatorSuspend,
            JobFailover,
            TaskFailure,
            TriggerCheckpointFailure,
            FinalizeCheckpointFailure,
        ]
    };

    /// "Pre-flight" reasons happen before tasks are involved; the failure manager treats them as
    /// job-level even when a task reports them (`CheckpointFailureReason.isPreFlight`).
    pub fn is_pre_flight(self) -> bool {
        use FailureReason::*;
        matches!(
            self,
            PeriodicSchedulerShutdown
                | TooManyCheckpointRequests
                | MinimumTimeBetweenCheckpoints
                | NotAllRequiredTasksRunning
                | IoException
        )
    }

    /// Reasons counted against the tolerable-failure number (`CheckpointFailureManager`,
    /// reference §1.10: IO, ASYNC, DECLINED, EXPIRED, FINALIZE).
    pub fn is_counted(self) -> bool {
        use FailureReason::*;
        matches!(
            self,
            IoException
                | CheckpointAsyncException
                | CheckpointExpired
                | CheckpointDeclined
                | FinalizeCheckpointFailure
        )
    }
}

/// A set of subtasks as a bitset (at most 64 subtasks per model).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaskSet(pub u64);

impl TaskSet {
    pub fn contains(self, task: TaskId) -> bool {
        self.0 & (1 << task.0) != 0
    }

    pub fn insert(&mut self, task: TaskId) -> bool {
        let new = !self.contains(task);
        self.0 |= 1 << task.0;
        new
    }

    pub fn remove(&mut self, task: TaskId) -> bool {
        let present = self.contains(task);
        self.0 &= !(1 << task.0);
        present
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    pub fn iter(self) -> impl Iterator<Item = TaskId> {
        (0..64u8)
            .filter(move |i| self.0 & (1 << i) != 0)
            .map(TaskId)
    }

    pub fn all(count: usize) -> TaskSet {
        if count >= 64 {
            TaskSet(u64::MAX)
        } else {
            TaskSet((1u64 << count) - 1)
        }
    }
}

impl fmt::Debug for TaskSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|t| t.0)).finish()
    }
}

/// A set of a task's input channels, by local input index (at most 32 inputs per subtask).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InputSet(pub u32);

impl InputSet {
    pub fn contains(self, input: usize) -> bool {
        self.0 & (1 << input) != 0
    }

    pub fn insert(&mut self, input: usize) -> bool {
        let new = !self.contains(input);
        self.0 |= 1 << input;
        new
    }

    pub fn remove(&mut self, input: usize) -> bool {
        let present = self.contains(input);
        self.0 &= !(1 << input);
        present
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..32usize).filter(move |i| self.0 & (1 << i) != 0)
    }

    pub fn all(count: usize) -> InputSet {
        if count >= 32 {
            InputSet(u32::MAX)
        } else {
            InputSet((1u32 << count) - 1)
        }
    }

    pub fn union(self, other: InputSet) -> InputSet {
        InputSet(self.0 | other.0)
    }

    pub fn minus(self, other: InputSet) -> InputSet {
        InputSet(self.0 & !other.0)
    }
}

impl fmt::Debug for InputSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// An operator event from a split source's coordinator (`SourceCoordinator`) to one of its
/// readers (`AddSplitEvent`, `NoMoreSplitsEvent`), sent by RPC through the subtask's gateway
/// (`SubtaskGatewayImpl`). The reader's request the other way (`RequestSplitEvent`) is an RPC of
/// its own (`Rpc::SplitRequest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceEvent {
    AddSplit(u8),
    NoMoreSplits,
}
