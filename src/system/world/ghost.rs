//! Oracle-only bookkeeping ("ghost state"): facts about the run's history that the system's own
//! state does not keep but the invariants need, plus what the last action did.
//!
//! The ghost is updated from the coordinator's events by the world; nothing in the protocol reads
//! it. The failure-manager expectation here is an independent restatement of reference §1.10 that
//! the `tolerable-failures-respected` invariant holds the coordinator to.

use crate::system::coordinator::decider::TriggerRequest;
use crate::system::coordinator::failure_manager::FailureLevel;
use crate::system::coordinator::store::CompletedCheckpoint;
use crate::system::coordinator::CoordinatorEvent;
use crate::system::protocol::{
    CheckpointId, FailureReason, Record, SnapshotKind, TaskId, TaskSet, Tick,
};
use crate::system::spec::{CheckpointMode, Spec};
use crate::system::world::external::{External, Writer};

/// Flink's `CheckpointRequestDecider` queue capacity (`DEFAULT_MAX_QUEUED_REQUESTS`), stated
/// here for the oracle rather than taken from the decider under test.
pub const FLINK_MAX_QUEUED_REQUESTS: usize = 1000;

/// A growable set of checkpoint ids (a bitset).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdSet(Vec<u64>);

impl IdSet {
    pub fn contains(&self, id: CheckpointId) -> bool {
        let (word, bit) = (id.0 as usize / 64, id.0 % 64);
        self.0.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// Inserts `id`; returns false if it was already present.
    pub fn insert(&mut self, id: CheckpointId) -> bool {
        let (word, bit) = (id.0 as usize / 64, id.0 % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        let new = self.0[word] & (1 << bit) == 0;
        self.0[word] |= 1 << bit;
        new
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// What the last action did, as flags: non-vacuity observations and violations seen in passing,
/// plus the cancellation marker it delivered, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LastStep(pub u64, pub Option<(TaskId, CheckpointId)>);

impl LastStep {
    pub const RESTORED: u64 = 1 << 0;
    pub const RESTORED_WITH_NEWER_PENDING: u64 = 1 << 1;
    pub const RESTORED_NOT_FIRST: u64 = 1 << 2;
    pub const BARRIER_OVERTOOK_RECORDS: u64 = 1 << 3;
    pub const CHECKPOINT_COMPLETED: u64 = 1 << 4;
    pub const SAVEPOINT_COMPLETED: u64 = 1 << 5;
    pub const CHECKPOINT_SUBSUMED: u64 = 1 << 6;
    pub const CHECKPOINT_EXPIRED: u64 = 1 << 7;
    pub const ID_REUSED: u64 = 1 << 8;
    pub const ABORTED_TWICE: u64 = 1 << 9;
    pub const SAVEPOINT_SUBSUMED: u64 = 1 << 10;
    pub const FAILOVER_WITHOUT_CAUSE: u64 = 1 << 11;
    pub const FAILOVER_MISSING: u64 = 1 << 12;
    /// A task failed, or the job failed over, with no cause the world observed.
    pub const SPURIOUS_FAILURE: u64 = 1 << 13;
    /// A task was sent a second abort notification for the same checkpoint.
    pub const ABORT_NOTIFIED_TWICE: u64 = 1 << 14;
    /// The decider took a request while one that Flink's order puts first stayed queued.
    pub const REQUEST_OUT_OF_ORDER: u64 = 1 << 15;
    /// A request was refused as one too many with fewer than `MAX_QUEUED_REQUESTS` queued.
    pub const REFUSED_BELOW_CAPACITY: u64 = 1 << 16;
    /// A request was dropped for the minimum pause that Flink would not drop (not periodic, a
    /// savepoint, or the pause already over), or the periodic trigger was not re-armed for the
    /// moment the pause ends.
    pub const MIN_PAUSE_MISAPPLIED: u64 = 1 << 17;
    /// The world restored a checkpoint whose state files had been deleted.
    pub const RESTORED_DISCARDED: u64 = 1 << 18;
    /// The world restored a checkpoint whose store write had been possibly inconsistent (it
    /// reported a failure but landed in HA storage).
    pub const RESTORED_POSSIBLY_INCONSISTENT: u64 = 1 << 19;
    /// The JobManager lost leadership between a restart's cancellation and its restore.
    pub const LEADERSHIP_LOST_DURING_RESTART: u64 = 1 << 20;
    /// A write to checkpoint storage failed: the world's armed fault was consumed by a write.
    pub const STORAGE_WRITE_FAILED: u64 = 1 << 21;
    /// A task's alignment timer fired (alternating aligned/unaligned checkpoints).
    pub const ALIGNMENT_TIMER_FIRED: u64 = 1 << 22;
    /// A batch-flush operator's input ended and it emitted the records it had buffered.
    pub const BUFFER_FLUSHED: u64 = 1 << 23;
    /// An async sink's snapshot waited for its sends in flight, and they completed (high bits,
    /// so that flags appended by other features do not collide).
    pub const SNAPSHOT_WAITED_FOR_SENDS: u64 = 1 << 24;
    /// A task failed (a crash, or a fatal send failure) while an async sink's sends were in
    /// flight: they are lost, and the source's rewind must send them again.
    pub const SENDS_LOST_AT_FAILURE: u64 = 1 << 25;
    /// The shared-state registry deleted shared files no retained checkpoint uses (bits 26+:
    /// incremental checkpoints).
    pub const SHARED_FILE_DELETED: u64 = 1 << 26;
    /// A checkpoint completed that reuses a shared file an earlier checkpoint uploaded.
    pub const REUSED_SHARED_FILE: u64 = 1 << 27;
    /// A FULL_CHECKPOINT barrier was triggered (`forceFullSnapshot`).
    pub const FORCED_FULL_TRIGGERED: u64 = 1 << 28;
    /// A split source's coordinator sent an event while its gateways were closed for a
    /// checkpoint: the valve held it (bits 29+: operator coordinators).
    pub const EVENT_HELD_BY_VALVE: u64 = 1 << 29;
    /// A restore gave splits assigned after the restored checkpoint back to the enumerator.
    pub const SPLITS_ADDED_BACK: u64 = 1 << 30;
    /// An operator event to a reader was lost, and the reader failed (FLINK-21996).
    pub const LOST_EVENT_FAILED_READER: u64 = 1 << 31;
    /// A restore deployed a task finished in the restored checkpoint as finished (bit 32:
    /// task lifecycle).
    pub const RESTORED_FINISHED: u64 = 1 << 32;
    /// A region failover restored some tasks only (`RESTORED` is set too).
    pub const REGION_RESTORED: u64 = 1 << 33;
    /// A task that survived a region restart received the abort notification of a checkpoint
    /// whose barrier it had not seen yet.
    pub const SURVIVOR_ABORT_BEFORE_BARRIER: u64 = 1 << 34;

    pub fn has(self, flag: u64) -> bool {
        self.0 & flag != 0
    }

    pub fn set(&mut self, flag: u64) {
        self.0 |= flag;
    }

    /// The task and checkpoint of the cancellation marker this step delivered.
    pub fn cancellation(self) -> Option<(TaskId, CheckpointId)> {
        self.1
    }
}

/// The ghost state carried by the world.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ghost {
    /// The highest checkpoint id ever allocated (ids must only increase, across restarts too).
    pub highest_allocated: CheckpointId,
    /// The highest id of any completed checkpoint or savepoint.
    pub max_completed: CheckpointId,
    /// The first checkpoint that ever completed (restores from a later one are "not first").
    pub first_completed: CheckpointId,
    /// Every checkpoint id that was aborted (abort notifications at most once per checkpoint).
    pub aborted: IdSet,
    /// Failure-manager expectation: distinct counted failures since the last success.
    pub expected_failures: Vec<CheckpointId>,
    pub expected_last_success: CheckpointId,
    /// A failover is due according to the expectation (set and cleared within one step).
    pub failover_due: bool,
    /// Synchronous savepoints the coordinator sent trigger RPCs for (their abort fails a task).
    pub sync_savepoints: IdSet,
    /// Tasks the world has seen finish in the current job run.
    pub finished: TaskSet,
    /// The tasks the last restore restarted (every task after a global one; a region failover's
    /// regions after a region one). Read with `LastStep::RESTORED`.
    pub restored: TaskSet,
    /// Tasks that kept running through a region restart since the last global restore (empty in
    /// full-failover models).
    pub survived_region_restart: TaskSet,
    /// Tasks restarted by a region restart since the last global restore.
    pub region_restarted: TaskSet,
    /// For each pending checkpoint, the tasks it must hear from: every task but those the world
    /// saw finish before it was allocated (not the coordinator's plan).
    pub awaited: Vec<(CheckpointId, TaskSet)>,
    /// The checkpoint that completed in the last step and the tasks it had to hear from (like
    /// `World::last`, reset when the next step starts).
    pub just_completed: Option<(CheckpointId, TaskSet)>,
    /// Checkpoints whose abort notifications went out in an earlier step.
    pub abort_notified: IdSet,
    /// This step delivered a cause for a failover (a task-failure report, an expected
    /// failure-manager verdict, a coordinator failover, a resume); cleared at the step's end.
    pub failover_caused: bool,
    /// When the world last saw a checkpoint or savepoint complete under the current
    /// coordinator (Flink's `lastCheckpointCompletionRelativeTime`, 0 for a new coordinator):
    /// the start of the minimum pause.
    pub last_completed_at: Tick,
    /// Checkpoints whose store add the world's possibly inconsistent storage fault struck: the
    /// add reported a failure, and the checkpoint is in HA storage.
    pub possibly_inconsistent: IdSet,
    /// A parked (non-atomic) restart had a cause for its failover when it was parked; the cause
    /// carries over to the step that restores the tasks.
    pub restart_cause_parked: bool,
    /// The terminating savepoint of a stop-with-savepoint with drain, once it completed: the job
    /// ends with what the sources had emitted before it, every operator flushed (boxed: rarely
    /// present). Never cleared: a drained job is not run on past it.
    pub drained: Option<Box<CompletedCheckpoint>>,
    /// Each resume from a checkpoint older than the stop's savepoint (`user.resume_older`): the
    /// checkpoint and what the external output held at the resume. The oracle reads from it
    /// which visible records the new run supersedes (`reference::superseded`).
    pub older_resumes: OlderResumed,
}

/// One resume from an older checkpoint, as the ghost keeps it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OlderResume {
    pub checkpoint: CompletedCheckpoint,
    /// The external output's visible records at the resume, with their writers.
    pub visible: Vec<(Record, Writer)>,
}

/// The resumes from older checkpoints. Empty hashes to nothing, so that the models without
/// them hash as they did before it existed (state sampling by hash stays put).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct OlderResumed(pub Vec<OlderResume>);

impl std::hash::Hash for OlderResumed {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if !self.0.is_empty() {
            self.0.hash(state);
        }
    }
}

/// Whether Flink's `CheckpointFailureManager.checkFailureCounter` counts a failure with this
/// reason against the tolerable number, stated here rather than taken from the failure manager
/// under test. Declines from tasks that do not run (CHECKPOINT_DECLINED_TASK_NOT_READY,
/// CHECKPOINT_DECLINED_TASK_CLOSING: `[lifecycle]`) are among the uncounted ones.
fn counted(reason: FailureReason) -> bool {
    use FailureReason::*;
    matches!(
        reason,
        IoException
            | CheckpointAsyncException
            | CheckpointDeclined
            | CheckpointExpired
            | FinalizeCheckpointFailure
    )
}

/// What one coordinator input did to the request queue, as the world saw it: the queue before
/// and after, whether the input was the periodic timer, the requests that failed in the step
/// and when the periodic trigger is due afterwards.
pub struct RequestTraffic<'a> {
    pub now: Tick,
    pub before: &'a [TriggerRequest],
    pub after: &'a [TriggerRequest],
    pub periodic_input: bool,
    pub failed: &'a [(SnapshotKind, FailureReason)],
    pub periodic_due: Option<Tick>,
}

impl Ghost {
    /// Updates the ghost from one coordinator event at time `now`; sets flags on `last`.
    pub fn observe(
        &mut self,
        spec: &Spec,
        now: Tick,
        event: &CoordinatorEvent,
        last: &mut LastStep,
    ) {
        match *event {
            CoordinatorEvent::Allocated(id, _) => {
                if id <= self.highest_allocated {
                    last.set(LastStep::ID_REUSED);
                }
                self.highest_allocated = self.highest_allocated.max(id);
                let awaited = TaskSet(spec.all_tasks().0 & !self.finished.0);
                self.awaited.push((id, awaited));
            }
            CoordinatorEvent::Completed { id, kind } => {
                if let Some(at) = self.awaited.iter().position(|(a, _)| *a == id) {
                    self.just_completed = Some(self.awaited.remove(at));
                }
                self.max_completed = self.max_completed.max(id);
                self.last_completed_at = now;
                if self.first_completed.is_none() && !kind.is_savepoint() {
                    self.first_completed = id;
                }
                last.set(if kind.is_savepoint() {
                    LastStep::SAVEPOINT_COMPLETED
                } else {
                    LastStep::CHECKPOINT_COMPLETED
                });
                if id > self.expected_last_success {
                    self.expected_last_success = id;
                    self.reset_expectation();
                }
            }
            CoordinatorEvent::Aborted { id, kind, reason } => {
                self.awaited.retain(|(a, _)| *a != id);
                if !self.aborted.insert(id) {
                    last.set(LastStep::ABORTED_TWICE);
                }
                match reason {
                    FailureReason::CheckpointSubsumed => {
                        last.set(LastStep::CHECKPOINT_SUBSUMED);
                        // `PendingCheckpoint.abort` treats this combination as an IllegalState.
                        if kind.is_savepoint() {
                            last.set(LastStep::SAVEPOINT_SUBSUMED);
                        }
                    }
                    FailureReason::CheckpointExpired => last.set(LastStep::CHECKPOINT_EXPIRED),
                    _ => {}
                }
            }
            // The coordinator's own account of a failure is not the expectation: that comes from
            // the causes the world delivered (`delivered_failure`).
            CoordinatorEvent::FailureReported { .. } => {}
            CoordinatorEvent::FailedByFailureManager => {
                if self.failover_due {
                    self.failover_due = false;
                    self.failover_caused = true;
                } else {
                    last.set(LastStep::FAILOVER_WITHOUT_CAUSE);
                }
            }
            CoordinatorEvent::Restored { id, newer_pending } => {
                // Whatever was pending before the restore is gone (aborted before it).
                self.awaited.clear();
                last.set(LastStep::RESTORED);
                if !self.failover_caused {
                    last.set(LastStep::SPURIOUS_FAILURE);
                }
                if newer_pending {
                    last.set(LastStep::RESTORED_WITH_NEWER_PENDING);
                }
                if id
                    .is_some_and(|id| !self.first_completed.is_none() && id != self.first_completed)
                {
                    last.set(LastStep::RESTORED_NOT_FIRST);
                }
            }
            CoordinatorEvent::RequestFailed { .. } => {}
        }
    }

    /// The world delivered a cause that fails pending checkpoint `id` of `kind`: a decline from
    /// a task (task level, the task's reason), its canceller firing (job level, expired) or an
    /// injected storage fault (job level). Every counted failure of this model has one of these
    /// causes; the trigger failures, suspensions and shutdowns the coordinator reports besides
    /// are never counted, so the expectation needs no report from the coordinator. Failures
    /// without an id (pre-flight ones) are never counted either, so every counted one has an id.
    ///
    /// The specification of failure counting (reference §1.10, rules 10-11 of §6).
    pub fn delivered_failure(
        &mut self,
        spec: &Spec,
        id: CheckpointId,
        kind: SnapshotKind,
        reason: FailureReason,
        level: FailureLevel,
    ) {
        let job_level = level == FailureLevel::Job;
        if job_level && kind.is_savepoint() {
            return;
        }
        // A task-level failure of a synchronous savepoint fails the job whatever the tolerance.
        if !job_level && kind.is_synchronous() {
            self.failover_due = true;
            return;
        }
        let Some(tolerable) = spec.checkpointing.tolerable_failures else {
            return;
        };
        if id <= self.expected_last_success
            || !counted(reason)
            || self.expected_failures.contains(&id)
        {
            return;
        }
        self.expected_failures.push(id);
        if self.expected_failures.len() > tolerable as usize {
            self.reset_expectation();
            self.failover_due = true;
        }
    }

    fn reset_expectation(&mut self) {
        self.expected_failures.clear();
    }

    /// The world sends `task` an abort notification for `id`; `this_step` lists the ones sent
    /// earlier in the same step. Counted from the RPCs themselves, not from the coordinator's
    /// `Aborted` events, so a duplicate notification without a second event is seen too.
    pub fn abort_notification(
        &self,
        task: TaskId,
        id: CheckpointId,
        this_step: &[(TaskId, CheckpointId)],
        last: &mut LastStep,
    ) {
        if self.abort_notified.contains(id) || this_step.contains(&(task, id)) {
            last.set(LastStep::ABORT_NOTIFIED_TWICE);
        }
    }

    /// The world delivered a cause for a failover in this step.
    pub fn failover_cause(&mut self) {
        self.failover_caused = true;
    }

    /// A task failed on its own. The one failure Flink's task itself decides is the abort of the
    /// synchronous savepoint it is stopping on (reference §2.8): `aborted` is the checkpoint whose
    /// abort notification the task was handling, if any.
    pub fn task_failed(&mut self, aborted: Option<CheckpointId>, last: &mut LastStep) {
        if !aborted.is_some_and(|id| self.sync_savepoints.contains(id)) {
            last.set(LastStep::SPURIOUS_FAILURE);
        }
    }

    /// At the end of a step: a due failover that did not happen is a violation.
    pub fn end_step(&mut self, last: &mut LastStep) {
        self.failover_caused = false;
        if self.failover_due {
            self.failover_due = false;
            last.set(LastStep::FAILOVER_MISSING);
        }
    }

    /// A global restart stopped between cancelling and restoring the tasks: whether this step
    /// delivered a cause for it is remembered for the step that restores them.
    pub fn restart_parked(&mut self) {
        self.restart_cause_parked = self.failover_caused;
    }

    /// A parked restart resumes: the cause seen when it was parked is this step's cause.
    pub fn restart_resumed(&mut self) {
        if std::mem::take(&mut self.restart_cause_parked) {
            self.failover_caused = true;
        }
    }

    /// A coordinator failover starts a fresh failure manager, and a coordinator that has seen
    /// no completion yet (its minimum pause counts from time 0).
    pub fn coordinator_replaced(&mut self) {
        self.restart_cause_parked = false;
        self.reset_expectation();
        self.failover_due = false;
        self.last_completed_at = 0;
    }

    /// The job resumes from an older checkpoint: what the external output holds now is the
    /// stopped run's, part of which (what it committed after the checkpoint) the new run
    /// produces again.
    pub fn resumed_older(&mut self, checkpoint: CompletedCheckpoint, external: &External) {
        self.older_resumes.0.push(OlderResume {
            checkpoint,
            visible: external.records.clone(),
        });
    }

    /// A job resumed from a savepoint is a new job: its ids start after the savepoint's (Flink
    /// sets the new counter to the savepoint's id + 1) and may repeat ids the old job used after
    /// it, so what the ghost keeps per id starts afresh, and its failure manager has seen no
    /// success yet.
    pub fn resumed_as_new_job(&mut self, savepoint: CheckpointId) {
        self.highest_allocated = savepoint;
        self.aborted.clear();
        self.abort_notified.clear();
        self.sync_savepoints.clear();
        self.possibly_inconsistent.clear();
        self.awaited.clear();
        self.expected_last_success = CheckpointId::default();
    }

    /// The request decider's rules (reference §1.6), restated for the oracle from what one
    /// coordinator input did to the queue, not from the decider's own comparator:
    /// - order: savepoints first, then forced requests, then user before periodic, then older
    ///   (equal creation times may go either way: Flink breaks that tie by hash code); a request
    ///   taken from the queue leaves no request queued before it that this order puts first;
    /// - a request is refused as `TOO_MANY_CHECKPOINT_REQUESTS` only with the queue at capacity;
    /// - only a periodic, non-forced checkpoint request is dropped for the minimum pause, only
    ///   while the pause since the last completion lasts, and the periodic trigger is then due
    ///   exactly when the pause ends (`rescheduleTrigger`).
    pub fn request_traffic(&self, spec: &Spec, traffic: &RequestTraffic, last: &mut LastStep) {
        let config = &spec.checkpointing;
        // Savepoints are forced exactly when unaligned checkpoints are off.
        let forced =
            |r: &TriggerRequest| r.kind.is_savepoint() && config.mode != CheckpointMode::Unaligned;
        let rank = |r: &TriggerRequest| (!r.kind.is_savepoint(), !forced(r), r.periodic, r.created);
        let same = |a: &TriggerRequest, b: &TriggerRequest| a.seq == b.seq;
        let taken: Vec<&TriggerRequest> = traffic
            .before
            .iter()
            .filter(|r| !traffic.after.iter().any(|a| same(a, r)))
            .collect();
        let stayed: Vec<&TriggerRequest> = traffic
            .before
            .iter()
            .filter(|r| traffic.after.iter().any(|a| same(a, r)))
            .collect();
        let refused = traffic
            .failed
            .iter()
            .filter(|(_, reason)| *reason == FailureReason::TooManyCheckpointRequests)
            .count();
        if refused > 0 && traffic.before.len() < FLINK_MAX_QUEUED_REQUESTS {
            last.set(LastStep::REFUSED_BELOW_CAPACITY);
        }
        // An eviction takes the last request of the order on purpose.
        if refused == 0
            && taken
                .iter()
                .any(|t| stayed.iter().any(|s| rank(s) < rank(t)))
        {
            last.set(LastStep::REQUEST_OUT_OF_ORDER);
        }
        let dropped: Vec<SnapshotKind> = traffic
            .failed
            .iter()
            .filter(|(_, reason)| *reason == FailureReason::MinimumTimeBetweenCheckpoints)
            .map(|(kind, _)| *kind)
            .collect();
        if dropped.is_empty() {
            return;
        }
        let pause_ends = self.last_completed_at.saturating_add(config.min_pause);
        // The requests that can be the dropped ones: periodic non-forced requests taken from
        // the queue, and the one the periodic timer submitted in this step.
        let periodic_candidates = taken.iter().filter(|r| r.periodic && !forced(r)).count()
            + traffic.periodic_input as usize;
        let misapplied = dropped.iter().any(|kind| kind.is_savepoint())
            || dropped.len() > periodic_candidates
            || traffic.now >= pause_ends
            // A failover in the same step restarts the scheduler after the drop re-armed it.
            || (!last.has(LastStep::RESTORED)
                && traffic.periodic_due.is_some_and(|due| due != pause_ends));
        if misapplied {
            last.set(LastStep::MIN_PAUSE_MISAPPLIED);
        }
    }
}
