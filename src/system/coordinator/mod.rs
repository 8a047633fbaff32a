//! The JobManager side: Flink's `CheckpointCoordinator` as a pure step function
//! `(state, context{now, storage health}, input) -> outputs` (reference §1).
//!
//! It triggers periodic, manual and end-of-data checkpoints, savepoints and stop-with-savepoint;
//! runs the trigger pipeline (plan, id allocation, pending creation, storage location, operator
//! coordinator snapshot); handles acknowledgements, declines and expiry; completes, subsumes and
//! aborts checkpoints and notifies tasks; counts failures; and on a task failure or a failure-
//! manager verdict fails the job over to the latest completed checkpoint. Nothing here does I/O,
//! reads a clock or draws a random number.

pub mod decider;
pub mod end_of_data;
pub mod failure_manager;
pub mod operator_coordinator;
pub mod shared_state;
pub mod store;

use crate::system::bugs::Bug;
use crate::system::protocol::{
    Attempt, Barrier, CheckpointId, FailureReason, SnapshotKind, TaskId, TaskSet, Tick,
};
use crate::system::spec::{FailoverStrategy, Spec};
use crate::system::task::SharedSnapshot;
use crate::system::topology::{pipelined_regions, ChannelSpec, Partitioning};
use decider::{Decision, RequestQueue, Submitted, TriggerRequest};
use end_of_data::EndOfDataListener;
use failure_manager::{FailureLevel, FailureManager};
use operator_coordinator::EnumeratorState;
use shared_state::{ClaimMode, SharedStateRegistry};
use store::{CompletedCheckpoint, CompletedStore, Discarder};

/// Flink remembers the 16 most recently expired ids to classify late messages.
const RECENT_EXPIRED: usize = 16;

/// A checkpoint that has been triggered and is collecting acknowledgements (`PendingCheckpoint`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PendingCheckpoint {
    pub id: CheckpointId,
    pub barrier: Barrier,
    /// When the canceller fires (armed at creation, reference §1.7 step 5).
    pub expires_at: Tick,
    pub not_yet_acked: TaskSet,
    /// Acknowledged snapshots, sorted by task.
    pub acks: Vec<(TaskId, SharedSnapshot)>,
    /// `tasksToTrigger` and `tasksToCommitTo` of the plan.
    pub tasks_to_trigger: TaskSet,
    pub tasks_to_commit: TaskSet,
    /// Tasks already finished when planned (FLIP-147).
    pub finished: TaskSet,
    /// The split source's coordinator state, acknowledged by its checkpoint
    /// (`PendingCheckpoint.acknowledgeCoordinatorState`); `None` without a split source.
    pub coordinator_state: Option<EnumeratorState>,
}

impl PendingCheckpoint {
    pub fn kind(&self) -> SnapshotKind {
        self.barrier.kind
    }

    pub fn acked(&self) -> TaskSet {
        let mut set = TaskSet::default();
        for (task, _) in &self.acks {
            set.insert(*task);
        }
        set
    }
}

/// The job as the coordinator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobStatus {
    Running,
    /// Stop-with-savepoint: the periodic scheduler is stopped and a synchronous savepoint is
    /// requested or in flight.
    StoppingWithSavepoint,
    /// The synchronous savepoint completed; the tasks stop once its notification reaches them.
    Suspending,
    /// Stopped after a successful stop-with-savepoint; the job may be resumed from it.
    Suspended,
    /// Every task finished.
    Finished,
}

/// The coordinator's state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coordinator {
    pub job: JobStatus,
    /// The newest execution attempt: every task's after a global restart. A region restart
    /// allocates a new one for the restarted tasks only (Flink's `ExecutionAttemptID` is per
    /// execution), so attempts stay unique across restarts of either kind.
    pub attempt: Attempt,
    /// Region failover: each task's current attempt, by task id, once a region restarted in
    /// this job run (empty otherwise: every task runs `attempt`). RPCs of a task's earlier
    /// attempt are dropped, those of a surviving task's attempt still accepted.
    pub task_attempts: Vec<Attempt>,
    /// Pending checkpoints, ascending by id.
    pub pending: Vec<PendingCheckpoint>,
    pub queue: RequestQueue,
    /// `isTriggering`: a request is in its trigger pipeline.
    pub is_triggering: bool,
    /// The pending checkpoint whose operator-coordinator snapshot (the asynchronous part of the
    /// trigger pipeline) is in progress.
    pub coordinator_snapshot: Option<CheckpointId>,
    pub periodic_scheduling: bool,
    /// When the periodic trigger fires next.
    pub periodic_due: Option<Tick>,
    pub last_completion: Tick,
    pub recent_expired: Vec<CheckpointId>,
    /// HA state: survives coordinator failover.
    pub store: CompletedStore,
    /// HA state: the next checkpoint id (`CheckpointIDCounter`).
    pub next_id: CheckpointId,
    pub failure_manager: FailureManager,
    /// Tasks the coordinator knows have finished / reported end of data.
    pub finished_tasks: TaskSet,
    /// The JobManager's `VertexEndOfDataListener` (`end_of_data.rs`).
    pub end_of_data: EndOfDataListener,
    /// `lifecycle.deploy_steps`: tasks of this attempt whose RUNNING report arrived (the
    /// JobManager's view of their execution state; empty otherwise).
    pub reported_running: TaskSet,
    /// Submission counter for the queue's tie-break.
    pub request_seq: u32,
    /// This job run (this JobManager's execution graph) has failed over before. Flink 2.3's
    /// execution-tracking scheduler activator stops the periodic scheduler (aborting pending
    /// checkpoints with CHECKPOINT_COORDINATOR_SUSPEND and notifying the tasks) only on the
    /// first failover: it never forgets a failed attempt, so later failovers leave the scheduler
    /// running and the scheduler's restart aborts pending checkpoints with JOB_FAILOVER_REGION,
    /// whose notifications go to the new, not yet deployed attempts, i.e. nowhere. Found by
    /// conformance with real Flink (`conformance/README.md`).
    pub failed_over: bool,
    /// `lifecycle.deploy_steps`: the job is RUNNING but the scheduler activator has not started
    /// the periodic scheduler yet, because some task is neither RUNNING nor FINISHED in the
    /// JobManager's view (see `start_scheduler`).
    pub scheduler_awaits_tasks: bool,
    /// `lifecycle.deploy_steps`: the execution-tracking activator has seen every task of this
    /// job run RUNNING (it then starts the scheduler once, see
    /// `start_scheduler_on_running_report`).
    pub activator_started: bool,
    /// Work queued on Flink's timer thread (which is also the JobManager main thread in the
    /// conformance driver) during this step, run in order at its end (always empty between
    /// steps).
    pub timer_queue: Vec<TimerTask>,
    /// A non-atomic restart between its two halves (models with `faults.non_atomic_restarts`):
    /// the tasks were cancelled and the restart waits for its delay
    /// (`DefaultScheduler.restartTasksWithDelay` schedules `restartTasks`); work queued on the
    /// main thread meanwhile runs before it. The job is RESTARTING in Flink's terms; the
    /// JobManager may lose leadership now.
    pub parked_restart: Option<Box<ParkedRestart>>,
    /// The current step's `StepFaults` (default between steps).
    pub step_faults: StepFaults,
    /// The shared-state registry (`checkpointing.incremental`; empty otherwise).
    pub registry: SharedStateRegistry,
    /// `forceFullSnapshot`: checkpoints are FULL_CHECKPOINT until one enters the store (set
    /// by restoring the snapshot a NO_CLAIM start left in the store).
    pub force_full: bool,
}

/// A restart whose tasks were cancelled and which has not restored them yet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParkedRestart {
    plan: RestartPlan,
    /// The decider runs right after the restart (a task failure's direct restart with the
    /// scheduler kept running).
    choose_after: bool,
}

/// One piece of work queued on Flink's timer / main thread during a coordinator step.
///
/// Flink runs `executeQueuedRequest` as a queued task (`scheduleTriggerRequest`), and the
/// failure manager's fail-job callback queues the global failover (`failGlobal`), which queues
/// the restart in turn. Which request a queued run picks, and whether its plan then finds the
/// tasks running or cancelled, depends on this order (found by conformance with real Flink).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerTask {
    /// `executeQueuedRequest`: one decision of the request decider.
    ExecuteQueuedRequest,
    /// `failGlobal`: the tasks are cancelled (and, until the job run's first failover, the
    /// scheduler activator stops the periodic scheduler); the restart is queued behind
    /// everything already queued.
    FailGlobal,
    /// `DefaultScheduler.restartTasks`: pending checkpoints aborted (when the scheduler kept
    /// running), attempts reset, state restored, tasks running again. Carries what the restore
    /// needs from the moment the failover was requested.
    Restart(Box<RestartPlan>),
    /// A request's plan calculation (a main-thread task), queued because a failover is queued
    /// ahead of it: it finds the tasks cancelled.
    CalculatePlan(TriggerRequest),
    /// `onTriggerFailure` of a request whose plan found the tasks cancelled (queued after the
    /// plan calculation, so behind the restart): the request fails, and the decider runs again.
    PlanFailed(TriggerRequest, FailureReason),
}

/// What a queued restart restores, decided when the failover was requested.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RestartPlan {
    /// The injected restore-pending-checkpoint bug's choice.
    pending_choice: Option<CompletedCheckpoint>,
    newest_pending: Option<CheckpointId>,
    scheduler_kept: bool,
}

/// Whether a write to checkpoint storage fails now: the injected fault strikes the first write
/// of the step only (one `storage_fault` is one failed write in Flink too).
fn storage_write_fails(ctx: &CoordinatorContext, out: &Outputs) -> bool {
    ctx.storage_write_fails && !out.contains(&CoordinatorOutput::StorageFaultConsumed)
}

/// What the coordinator needs besides its state: the model and the present.
#[derive(Clone, Copy)]
pub struct CoordinatorContext<'a> {
    pub spec: &'a Spec,
    pub now: Tick,
    /// The next write to checkpoint storage fails (an injected fault).
    pub storage_write_fails: bool,
}

/// What the world arranged for one coordinator step beyond `CoordinatorContext` (given to
/// `Coordinator::step_with`; `step` arranges nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepFaults {
    /// The failing write is possibly inconsistent: a completed-checkpoint store add reaches HA
    /// storage although it reports a failure (`PossibleInconsistentStateException`).
    pub store_write_lands: bool,
    /// A global restart in this step stops between cancelling and restoring the tasks (a
    /// non-atomic restart the world still has budget for).
    pub restart_may_park: bool,
}

/// A request from the user (the environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserRequest {
    ManualCheckpoint,
    Savepoint,
    StopWithSavepoint,
}

/// One input to the coordinator step function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorInput {
    PeriodicTimer,
    /// The canceller of a pending checkpoint fired.
    CheckpointTimeout(CheckpointId),
    User(UserRequest),
    /// The operator-coordinator snapshot of the triggering checkpoint finished.
    TriggerPhaseDone,
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
    /// The trigger RPC to a task failed on the JobManager side (the task is no longer there to
    /// take it): the future of `triggerTasks` completes exceptionally.
    TriggerRpcFailed {
        task: TaskId,
        id: CheckpointId,
    },
    EndOfData {
        task: TaskId,
        attempt: Attempt,
    },
    TaskFinished {
        task: TaskId,
        attempt: Attempt,
    },
    TaskFailed {
        task: TaskId,
        attempt: Attempt,
    },
    /// A task reports it switched to RUNNING (`lifecycle.deploy_steps`).
    TaskRunning {
        task: TaskId,
        attempt: Attempt,
    },
    /// The delay of a parked (non-atomic) restart elapsed: the tasks are restored now.
    RestartTasks,
}

/// Something that happened, for invariants, statistics and timelines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorEvent {
    /// An id was allocated for a checkpoint or savepoint of this kind.
    Allocated(CheckpointId, SnapshotKind),
    RequestFailed {
        kind: SnapshotKind,
        reason: FailureReason,
    },
    Completed {
        id: CheckpointId,
        kind: SnapshotKind,
    },
    Aborted {
        id: CheckpointId,
        kind: SnapshotKind,
        reason: FailureReason,
    },
    /// A failure reached the failure manager (id `None`: before allocation).
    FailureReported {
        id: Option<CheckpointId>,
        kind: SnapshotKind,
        reason: FailureReason,
        level: FailureLevel,
    },
    /// The failure manager failed the job.
    FailedByFailureManager,
    Restored {
        id: Option<CheckpointId>,
        /// A checkpoint newer than the restored one was pending when the job failed over.
        newer_pending: bool,
    },
}

/// One effect of a coordinator step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorOutput {
    TriggerTask {
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
    /// `notifyCheckpointComplete(id)` on every operator coordinator (a split source's), sent
    /// with the tasks' completion notifications and only when they are: never for a savepoint
    /// that is not synchronous.
    NotifyOperatorCoordinators {
        id: CheckpointId,
    },
    /// `notifyCheckpointAborted(id)` on every operator coordinator: every abort of a pending
    /// checkpoint (`sendAbortedMessages`), also where the tasks are not notified.
    NotifyOperatorCoordinatorsAborted {
        id: CheckpointId,
    },
    /// Global failover: restart every task from this checkpoint (or from scratch).
    Restore {
        checkpoint: Option<CompletedCheckpoint>,
    },
    /// Region failover: restart these tasks (whole pipelined regions) from this checkpoint (or
    /// from scratch); every other task keeps running.
    RestoreRegion {
        checkpoint: Option<CompletedCheckpoint>,
        tasks: TaskSet,
    },
    /// A savepoint completed; the user keeps it (it is not in the store).
    SavepointCompleted(CompletedCheckpoint),
    /// Stop every task: the job ends without a failover.
    CancelJob,
    /// The injected storage fault was used up by this step.
    StorageFaultConsumed,
    /// The state files of a completed checkpoint are deleted from checkpoint storage
    /// (`CheckpointsCleaner`), by this cause.
    DiscardState {
        id: CheckpointId,
        by: Discarder,
    },
    /// Shared state files are deleted from checkpoint storage: the registry found them unused
    /// after an add to the store (`unregisterUnusedState`).
    DiscardShared {
        files: Vec<crate::system::protocol::SharedFile>,
    },
    /// A global restart stopped between cancelling and restoring the tasks.
    RestartParked,
    Event(CoordinatorEvent),
}

pub type Outputs = Vec<CoordinatorOutput>;

impl Coordinator {
    /// The coordinator of a freshly submitted job: scheduler started, nothing stored.
    pub fn new(spec: &Spec, now: Tick) -> Coordinator {
        let mut coordinator = Coordinator {
            job: JobStatus::Running,
            attempt: Attempt(0),
            task_attempts: Vec::new(),
            pending: Vec::new(),
            queue: RequestQueue::default(),
            is_triggering: false,
            coordinator_snapshot: None,
            periodic_scheduling: false,
            periodic_due: None,
            last_completion: 0,
            recent_expired: Vec::new(),
            store: CompletedStore::default(),
            next_id: CheckpointId(1),
            failure_manager: FailureManager::default(),
            finished_tasks: TaskSet::default(),
            reported_running: TaskSet::default(),
            end_of_data: EndOfDataListener::default(),
            request_seq: 0,
            failed_over: false,
            scheduler_awaits_tasks: false,
            activator_started: false,
            timer_queue: Vec::new(),
            parked_restart: None,
            step_faults: StepFaults::default(),
            registry: SharedStateRegistry::default(),
            force_full: false,
        };
        coordinator.start_scheduler_on_deploy(spec, now, true);
        coordinator
    }

    /// A job resumed from a savepoint: the savepoint is its first store entry (CLAIM mode) and
    /// ids continue after it (reference §1.13, §3.2).
    pub fn resumed_from(
        spec: &Spec,
        now: Tick,
        savepoint: CompletedCheckpoint,
        attempt: Attempt,
    ) -> Coordinator {
        let mut coordinator = Coordinator::new(spec, now);
        coordinator.next_id = CheckpointId(savepoint.id.0 + 1);
        coordinator.attempt = attempt;
        // `restoreSavepoint`: the snapshot's shared state is registered before it is added to
        // the store (whose add may subsume); a NO_CLAIM snapshot is added as "unclaimed"
        // (savepoint-typed, never deleted) and the first checkpoints are forced FULL.
        let mode = spec.checkpointing.restore_mode;
        coordinator
            .registry
            .register_restored(spec, savepoint.id, shared_files(&savepoint), mode);
        if mode == ClaimMode::NoClaim {
            coordinator.store.unclaimed = Some(savepoint.id);
            coordinator.force_full = true;
        }
        coordinator.store.entries.push(savepoint);
        coordinator
    }

    /// A new leader after a coordinator (JobManager) failover: only the HA state survives (the
    /// store and the id counter); pending checkpoints vanish without notifications; the job is
    /// restored from the latest completed checkpoint.
    pub fn recover(&self, ctx: &CoordinatorContext, out: &mut Outputs) -> Coordinator {
        // The old leader's execution graph is suspended first: its coordinator shuts down,
        // aborting pending checkpoints and queued requests and notifying the tasks, as any job
        // leaving RUNNING does (found by conformance with real Flink).
        let mut old = self.clone();
        if old.is_running() {
            old.shut_down(ctx, out);
        }
        // Losing leadership suspends the job (SUSPENDED, locally terminal): the store's
        // `shutdown(SUSPENDED)` only releases its handles, and HA data (store entries, their
        // state, the counter) is cleaned up only on a globally terminal status
        // (`DefaultCompletedCheckpointStore.shutdown`, `JobStatus.isGloballyTerminalState`;
        // the Dispatcher cleans a job's HA data only once it is globally terminal).
        // BUG ha-cleanup-on-suspend: the suspended leader deletes its checkpoints' state.
        if ctx.spec.has_bug(Bug::HaCleanupOnSuspend) {
            for entry in &self.store.entries {
                // A savepoint's files are never deleted on shutdown.
                if !entry.kind.is_savepoint() {
                    out.push(CoordinatorOutput::DiscardState {
                        id: entry.id,
                        by: Discarder::Shutdown,
                    });
                }
            }
        }
        let mut next = Coordinator::new(ctx.spec, ctx.now);
        // `recover()`: the new leader reads every checkpoint in HA storage, also those whose
        // add reported a failure but landed.
        next.store = self.store.recovered();
        // `SharedStateRegistryFactory`: the new leader's registry is rebuilt from every
        // recovered checkpoint, with the job's restore mode (so in NO_CLAIM mode every
        // recovered checkpoint counts as not claimed: FLINK-26985's review notes the leak).
        for entry in &next.store.entries {
            let mode = ctx.spec.checkpointing.restore_mode;
            next.registry
                .register_restored(ctx.spec, entry.id, shared_files(entry), mode);
        }
        // BUG reuse-checkpoint-ids: the counter is not HA-persisted.
        next.next_id = if ctx.spec.has_bug(Bug::ReuseCheckpointIds) {
            CheckpointId(1)
        } else {
            self.next_id
        };
        next.attempt = self.attempt;
        next.task_attempts = self.task_attempts.clone();
        next.job = match self.job {
            JobStatus::Suspended | JobStatus::Finished => self.job,
            _ => JobStatus::Running,
        };
        if next.job == JobStatus::Running {
            next.restart_job(ctx, out);
            // A new execution graph: its scheduler activator has seen no failure yet, so its
            // tasks' deployment stops the scheduler again until one reports RUNNING.
            next.failed_over = false;
            next.start_scheduler_on_deploy(ctx.spec, ctx.now, true);
        } else {
            next.stop_scheduler();
        }
        next
    }

    /// The current execution attempt of `task` (`task_attempts`, else the job's `attempt`).
    pub fn attempt_of(&self, task: TaskId) -> Attempt {
        self.task_attempts
            .get(task.0 as usize)
            .copied()
            .unwrap_or(self.attempt)
    }

    pub fn is_running(&self) -> bool {
        matches!(
            self.job,
            JobStatus::Running | JobStatus::StoppingWithSavepoint | JobStatus::Suspending
        )
    }

    pub fn pending(&self, id: CheckpointId) -> Option<&PendingCheckpoint> {
        self.pending.iter().find(|p| p.id == id)
    }

    /// The step function.
    pub fn step(&mut self, ctx: &CoordinatorContext, input: CoordinatorInput) -> Outputs {
        self.step_with(ctx, StepFaults::default(), input)
    }

    /// The step function with the world's arrangements for this step.
    pub fn step_with(
        &mut self,
        ctx: &CoordinatorContext,
        faults: StepFaults,
        input: CoordinatorInput,
    ) -> Outputs {
        self.step_faults = faults;
        let out = self.step_inner(ctx, input);
        self.step_faults = StepFaults::default();
        out
    }

    fn step_inner(&mut self, ctx: &CoordinatorContext, input: CoordinatorInput) -> Outputs {
        let mut out = Outputs::new();
        match input {
            CoordinatorInput::PeriodicTimer => self.on_periodic_timer(ctx, &mut out),
            CoordinatorInput::CheckpointTimeout(id) => {
                if self.pending(id).is_some() {
                    self.abort(
                        ctx,
                        id,
                        FailureReason::CheckpointExpired,
                        FailureLevel::Job,
                        &mut out,
                    );
                }
            }
            CoordinatorInput::User(request) => self.on_user_request(ctx, request, &mut out),
            CoordinatorInput::TriggerPhaseDone => self.on_trigger_phase_done(ctx, &mut out),
            CoordinatorInput::Ack {
                task,
                attempt,
                id,
                snapshot,
            } => self.on_ack(ctx, task, attempt, id, snapshot, &mut out),
            CoordinatorInput::Decline {
                task: _,
                attempt: _,
                id,
                reason,
            } => {
                // `receiveDeclineMessage`: abort the pending checkpoint with the task's reason.
                if self.is_running() && self.pending(id).is_some() {
                    self.abort(ctx, id, reason, FailureLevel::Task, &mut out);
                }
            }
            CoordinatorInput::TriggerRpcFailed { task: _, id } => {
                // `startTriggeringCheckpoint`'s `exceptionally`: a failed trigger RPC aborts the
                // pending checkpoint on the JobManager side with TRIGGER_CHECKPOINT_FAILURE and no
                // execution attempt, so the failure manager treats it at job level (§1.7 step 9).
                // It is not a task's decline: it cannot be lost and is not task-level.
                if self.is_running() && self.pending(id).is_some() {
                    let reason = FailureReason::TriggerCheckpointFailure;
                    self.abort(ctx, id, reason, FailureLevel::Job, &mut out);
                }
            }
            CoordinatorInput::EndOfData { task, attempt } => {
                // A report from an execution that already finished is dropped: the finished
                // execution is no longer registered (found by conformance with real Flink).
                if attempt == self.attempt_of(task)
                    && self.is_running()
                    && !self.finished_tasks.contains(task)
                    && self.end_of_data.record(task)
                {
                    self.on_vertex_end_of_data(ctx, task);
                    self.maybe_request_end_of_data_checkpoint(ctx, &mut out);
                }
            }
            CoordinatorInput::TaskFinished { task, attempt } => {
                if attempt == self.attempt_of(task) {
                    self.on_task_finished(ctx, task, &mut out);
                }
            }
            CoordinatorInput::TaskFailed { task, attempt } => {
                if attempt == self.attempt_of(task)
                    && self.is_running()
                    && self.parked_restart.is_none()
                {
                    self.on_task_failed(ctx, task, &mut out);
                }
            }
            CoordinatorInput::TaskRunning { task, attempt } => {
                // `Execution.switchToRunning`: the JobManager's view of the execution state.
                if attempt == self.attempt_of(task) {
                    self.reported_running.insert(task);
                    self.start_scheduler_on_running_report(ctx, &mut out);
                }
            }
            CoordinatorInput::RestartTasks => {
                if let Some(parked) = self.parked_restart.take() {
                    self.restart_tasks(ctx, parked.plan, &mut out);
                    if parked.choose_after {
                        self.choose(ctx, &mut out);
                    }
                }
            }
        }
        self.run_timer_queue(ctx, &mut out);
        out
    }

    // -----------------------------------------------------------------------------------------
    // Scheduling and requests
    // -----------------------------------------------------------------------------------------

    /// `startCheckpointScheduler`: the first periodic trigger fires after the base interval, or
    /// after `min_pause` as in a deployed Flink 2.3 job (`CheckpointConfig::start_after_min_pause`,
    /// which conformance switches on to compare the trigger's due time).
    fn start_scheduler(&mut self, spec: &Spec, now: Tick) {
        self.scheduler_awaits_tasks = false;
        self.periodic_scheduling = spec.checkpointing.interval.is_some();
        let checkpointing = &spec.checkpointing;
        self.periodic_due = checkpointing.base_interval().map(|base| {
            let delay = if checkpointing.start_after_min_pause {
                checkpointing.min_pause
            } else {
                base
            };
            now.saturating_add(delay)
        });
    }

    /// `stopScheduler` (queued requests and pending checkpoints are failed by the caller).
    fn stop_scheduler(&mut self) {
        self.periodic_scheduling = false;
        self.periodic_due = None;
        self.scheduler_awaits_tasks = false;
    }

    /// The scheduler's start when the job (re)starts and deploys its tasks (`fresh`: a job
    /// run's start, or a new leader's; else the restart after its first failover). With
    /// `lifecycle.deploy_steps` the tasks deploy as steps of their own, and Flink 2.3's
    /// execution-tracking activator stops the scheduler it started at RUNNING as soon as the
    /// executions go SCHEDULED: the scheduler waits for the first RUNNING report
    /// (`start_scheduler_on_running_report`). Found by conformance with real Flink, whose
    /// scheduler arms no periodic trigger while every task deploys. At the restart after the
    /// first failover the scheduler stays as the failure left it (compared with Flink's
    /// periodic timer): stopped if the activator had started it (every task had reported
    /// RUNNING; its failure report stops it) or nothing had, still running with its trigger
    /// unchanged if only the RUNNING fallback had started it.
    fn start_scheduler_on_deploy(&mut self, spec: &Spec, now: Tick, fresh: bool) {
        if spec.lifecycle.deploy_steps && self.reported_running.is_empty() {
            if fresh || self.activator_started || !self.periodic_scheduling {
                self.stop_scheduler();
                self.scheduler_awaits_tasks = spec.checkpointing.interval.is_some();
            }
        } else {
            self.start_scheduler(spec, now);
        }
    }

    /// A RUNNING report (`lifecycle.deploy_steps`). `DefaultExecutionGraph.updateStateInternal`
    /// starts a periodic scheduler that is not started when a task switches to RUNNING (its
    /// fallback for the activator); and until the job run's first failover the activator sees
    /// the last task RUNNING and starts the scheduler once more (`startCheckpointScheduler`
    /// stops it first: pending checkpoints and queued requests fail with
    /// CHECKPOINT_COORDINATOR_SUSPEND, and the trigger is armed anew).
    fn start_scheduler_on_running_report(&mut self, ctx: &CoordinatorContext, out: &mut Outputs) {
        if !ctx.spec.lifecycle.deploy_steps || !self.is_running() {
            return;
        }
        if self.scheduler_awaits_tasks {
            self.start_scheduler(ctx.spec, ctx.now);
        }
        let all = TaskSet(self.reported_running.0 | self.finished_tasks.0) == ctx.spec.all_tasks();
        if all && self.activator_stops_scheduler(ctx.spec) && !self.activator_started {
            self.activator_started = true;
            self.abort_all(ctx, FailureReason::CheckpointCoordinatorSuspend, true, out);
            self.fail_queue(FailureReason::CheckpointCoordinatorSuspend, out);
            self.start_scheduler(ctx.spec, ctx.now);
        }
    }

    fn on_periodic_timer(&mut self, ctx: &CoordinatorContext, out: &mut Outputs) {
        let Some(due) = self.periodic_due else {
            return;
        };
        if !self.is_running() {
            return;
        }
        // Fixed rate: the next firing is one interval after this one, not after completion.
        // `ScheduledTrigger.run` re-arms itself and submits a periodic request even while the
        // scheduler is stopped (a trigger re-armed by end of data, `on_vertex_end_of_data`):
        // the request then fails PERIODIC_SCHEDULER_SHUTDOWN in `start_triggering`.
        self.periodic_due = ctx
            .spec
            .checkpointing
            .base_interval()
            .map(|interval| due.saturating_add(interval));
        self.submit(ctx, SnapshotKind::Checkpoint, true, out);
    }

    fn on_user_request(
        &mut self,
        ctx: &CoordinatorContext,
        request: UserRequest,
        out: &mut Outputs,
    ) {
        if !self.is_running() {
            return;
        }
        match request {
            UserRequest::ManualCheckpoint => self.submit(ctx, SnapshotKind::Checkpoint, false, out),
            UserRequest::Savepoint => self.submit(ctx, SnapshotKind::Savepoint, false, out),
            UserRequest::StopWithSavepoint => {
                if self.job == JobStatus::StoppingWithSavepoint {
                    return;
                }
                // `SchedulerBase.stopWithSavepoint`: stop periodic checkpointing first (aborting
                // pending checkpoints and queued requests), then the synchronous savepoint.
                self.job = JobStatus::StoppingWithSavepoint;
                self.stop_scheduler();
                self.fail_queue(FailureReason::CheckpointCoordinatorSuspend, out);
                self.abort_all(ctx, FailureReason::CheckpointCoordinatorSuspend, true, out);
                // `triggerSynchronousSavepoint(terminate)`: TERMINATE with drain, else SUSPEND.
                let kind = if ctx.spec.user.drain {
                    SnapshotKind::TerminatingSavepoint
                } else {
                    SnapshotKind::SyncSavepoint
                };
                self.submit(ctx, kind, false, out);
            }
        }
    }

    fn submit(
        &mut self,
        ctx: &CoordinatorContext,
        kind: SnapshotKind,
        periodic: bool,
        out: &mut Outputs,
    ) {
        let forced = kind.is_savepoint() && ctx.spec.checkpointing.savepoints_forced();
        let request = TriggerRequest {
            kind,
            periodic,
            forced,
            created: ctx.now,
            seq: self.request_seq,
        };
        self.request_seq += 1;
        // BUG request-order-fifo: the request joins the queue's end, whatever it is.
        let fifo = ctx.spec.has_bug(Bug::RequestOrderFifo);
        // BUG refuse-behind-user-request: the capacity test is inverted.
        let refuse = ctx.spec.has_bug(Bug::RefuseBehindUserRequest)
            && self
                .queue
                .requests
                .last()
                .is_some_and(|lowest| !lowest.periodic);
        let submitted = if fifo {
            self.queue.requests.push(request);
            Submitted::Queued
        } else if refuse {
            Submitted::Rejected(request)
        } else {
            self.queue.submit(request)
        };
        if let Submitted::Rejected(rejected) = submitted {
            self.request_failed(ctx, rejected, FailureReason::TooManyCheckpointRequests, out);
        }
        self.choose(ctx, out);
    }

    fn request_failed(
        &mut self,
        ctx: &CoordinatorContext,
        request: TriggerRequest,
        reason: FailureReason,
        out: &mut Outputs,
    ) {
        out.push(CoordinatorOutput::Event(CoordinatorEvent::RequestFailed {
            kind: request.kind,
            reason,
        }));
        if request.kind.is_synchronous() && self.job == JobStatus::StoppingWithSavepoint {
            self.stop_with_savepoint_failed(ctx);
        }
    }

    /// The stop-with-savepoint handler re-enables periodic checkpointing when the savepoint fails
    /// without the job failing.
    fn stop_with_savepoint_failed(&mut self, ctx: &CoordinatorContext) {
        self.job = JobStatus::Running;
        self.start_scheduler(ctx.spec, ctx.now);
    }

    fn fail_queue(&mut self, reason: FailureReason, out: &mut Outputs) {
        for request in self.queue.drain() {
            out.push(CoordinatorOutput::Event(CoordinatorEvent::RequestFailed {
                kind: request.kind,
                reason,
            }));
        }
    }

    /// `CheckpointRequestDecider.chooseRequestToExecute`, repeated while an executed request
    /// fails before entering the trigger pipeline (Flink's `onTriggerFailure` runs the queue
    /// again). A request dropped for the minimum pause ends the call: Flink drops only the head,
    /// re-arms the trigger and returns empty, leaving the rest queued (reference §1.6, §6.2).
    fn choose(&mut self, ctx: &CoordinatorContext, out: &mut Outputs) {
        loop {
            let decision = self.decide(ctx);
            match decision {
                Decision::Wait => return,
                Decision::DropForMinPause { request, delay } => {
                    self.request_failed(ctx, request, decider::drop_reason(), out);
                    // BUG periodic-trigger-not-rearmed: the dropped request leaves no timer.
                    if ctx.spec.has_bug(Bug::PeriodicTriggerNotRearmed) {
                        self.periodic_due = None;
                    } else {
                        // `rescheduleTrigger`: next periodic firing once the pause is over
                        // (whether or not the scheduler is started, as in Flink).
                        self.periodic_due = Some(ctx.now.saturating_add(delay));
                    }
                    return;
                }
                Decision::Execute(request) => {
                    self.start_triggering(ctx, request, out);
                    if self.is_triggering {
                        return;
                    }
                }
            }
        }
    }

    /// The trigger pipeline up to the asynchronous operator-coordinator snapshot (§1.7).
    fn start_triggering(
        &mut self,
        ctx: &CoordinatorContext,
        request: TriggerRequest,
        out: &mut Outputs,
    ) {
        // 1. Pre-checks.
        if !self.is_running() {
            return self.request_failed(
                ctx,
                request,
                FailureReason::CheckpointCoordinatorShutdown,
                out,
            );
        }
        if request.periodic && !self.periodic_scheduling {
            return self.request_failed(
                ctx,
                request,
                FailureReason::PeriodicSchedulerShutdown,
                out,
            );
        }
        // 2. The plan is calculated on the main thread: with a global failover queued ahead of
        // it, it finds the tasks cancelled (`TimerTask::CalculatePlan`).
        if self.failover_queued() {
            self.is_triggering = true;
            self.timer_queue.push(TimerTask::CalculatePlan(request));
            return;
        }
        // 3. The plan (DefaultCheckpointPlanCalculator, FLIP-147): running tasks are waited for
        // and notified; those without a running predecessor are triggered.
        let all = ctx.spec.all_tasks();
        let running = TaskSet(all.0 & !self.finished_tasks.0);
        let to_trigger = TaskSet(
            running
                .iter()
                .filter(|t| TaskSet(ctx.spec.task(*t).predecessors.0 & running.0).is_empty())
                .fold(0u64, |bits, t| bits | (1 << t.0)),
        );
        if running.is_empty() || to_trigger.is_empty() || !self.tasks_started(ctx, running) {
            return self.request_failed(
                ctx,
                request,
                FailureReason::NotAllRequiredTasksRunning,
                out,
            );
        }
        // 4. Allocate the id: consumed even if the attempt fails later.
        let id = self.next_id;
        self.next_id = CheckpointId(id.0 + 1);
        out.push(CoordinatorOutput::Event(CoordinatorEvent::Allocated(
            id,
            request.kind,
        )));
        self.is_triggering = true;
        // 5. Create the pending checkpoint and arm its canceller.
        // Step 10: FULL_CHECKPOINT while `forceFullSnapshot` is set, unless a savepoint.
        // BUG no-claim-not-forced-full: the flag is ignored.
        let full = self.force_full
            && !request.kind.is_savepoint()
            && !ctx.spec.has_bug(Bug::NoClaimNotForcedFull);
        let barrier = Barrier {
            id,
            timestamp: ctx.now,
            kind: request.kind,
            alignment: ctx.spec.checkpointing.alignment_for(request.kind),
            full,
        };
        self.pending.push(PendingCheckpoint {
            id,
            barrier,
            expires_at: ctx.now.saturating_add(ctx.spec.checkpointing.timeout),
            not_yet_acked: running,
            acks: Vec::new(),
            tasks_to_trigger: to_trigger,
            tasks_to_commit: running,
            finished: self.finished_tasks,
            coordinator_state: None,
        });
        // 6. Initialise the storage location: a failed write aborts with IO_EXCEPTION.
        if storage_write_fails(ctx, out) {
            out.push(CoordinatorOutput::StorageFaultConsumed);
            // `onTriggerFailure`: the abort, then its `finally` releases `isTriggering` and runs
            // the decider at once (the caller's loop), ahead of anything the abort queued.
            self.is_triggering = false;
            self.abort(ctx, id, FailureReason::IoException, FailureLevel::Job, out);
            return;
        }
        // 7-8. The operator-coordinator snapshot runs asynchronously.
        self.coordinator_snapshot = Some(id);
    }

    /// Step 7 of the trigger pipeline, the operator coordinator's part: its checkpoint future
    /// completed with `state` (`OperatorCoordinatorCheckpoints` ->
    /// `PendingCheckpoint.acknowledgeCoordinatorState`). The pipeline goes on with the next
    /// `TriggerPhaseDone`. Ignored unless `id` is the checkpoint being triggered and still pending.
    pub fn acknowledge_coordinator_state(&mut self, id: CheckpointId, state: EnumeratorState) {
        if self.coordinator_snapshot != Some(id) {
            return;
        }
        if let Some(pending) = self.pending.iter_mut().find(|p| p.id == id) {
            pending.coordinator_state = Some(state);
        }
    }

    /// Step 9 of the trigger pipeline: send the trigger RPCs, unless the checkpoint was disposed
    /// meanwhile (then no RPC goes out).
    fn on_trigger_phase_done(&mut self, ctx: &CoordinatorContext, out: &mut Outputs) {
        let Some(id) = self.coordinator_snapshot.take() else {
            return;
        };
        match self.pending.iter().position(|p| p.id == id) {
            Some(index) => {
                let pending = &self.pending[index];
                for task in pending.tasks_to_trigger.iter() {
                    out.push(CoordinatorOutput::TriggerTask {
                        task,
                        barrier: pending.barrier,
                    });
                }
                self.is_triggering = false;
                if self.pending[index].not_yet_acked.is_empty() {
                    self.complete(ctx, index, out);
                    return;
                }
            }
            None => {
                // Disposed while triggering: `abort` already ended the phase; no RPC goes out.
                self.is_triggering = false;
            }
        }
        self.choose(ctx, out);
    }

    /// `SchedulerBase.notifyEndOfData`: once every subtask of the reporting task's vertex reported
    /// end of data, the vertex's operators leave backlog processing
    /// (`CheckpointCoordinator.setIsProcessingBacklog(op, false)`), which re-arms the periodic
    /// trigger one (non-backlog) interval from now if it would otherwise fire later — or not at
    /// all: the trigger is re-armed even while the scheduler is stopped (by stop-with-savepoint
    /// or the scheduler activator), without starting it. No model operator ever processes
    /// backlog, so the interval is always the base one.
    fn on_vertex_end_of_data(&mut self, ctx: &CoordinatorContext, task: TaskId) {
        let Some(interval) = ctx.spec.checkpointing.base_interval() else {
            return;
        };
        let vertex_done = self.end_of_data.vertex_complete(ctx.spec, task);
        let rearmed = ctx.now.saturating_add(interval);
        if vertex_done && self.periodic_due.is_none_or(|due| rearmed < due) {
            self.periodic_due = Some(rearmed);
        }
    }

    /// FLIP-147: once every task reported end of data, one checkpoint commits the final data.
    fn maybe_request_end_of_data_checkpoint(
        &mut self,
        ctx: &CoordinatorContext,
        out: &mut Outputs,
    ) {
        // While stopping with a savepoint, that savepoint is the final checkpoint. Deliberately
        // unlike Flink 2.3, whose `SchedulerBase.notifyEndOfData` requests this checkpoint
        // whatever the job is doing (an open conformance divergence, docs/fidelity.md): a
        // checkpoint completing before the synchronous savepoint makes every task ignore the
        // savepoint's completion (`StreamTask.notifyCheckpointComplete` drops ids not newer than
        // the last one), and the stop never finishes.
        let stopping = matches!(
            self.job,
            JobStatus::StoppingWithSavepoint | JobStatus::Suspending
        );
        // BUG end-of-data-checkpoint-while-stopping: Flink 2.3's rule, kept as a variant.
        let flink_rule = stopping && ctx.spec.has_bug(Bug::EndOfDataCheckpointWhileStopping);
        // The listener forgets the vertices it finds complete whatever the job is doing, so
        // this checkpoint is requested once per time every task ended (`end_of_data.rs`).
        if self.end_of_data.all_ended(ctx.spec) && (self.job == JobStatus::Running || flink_rule) {
            self.submit(ctx, SnapshotKind::Checkpoint, false, out);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Acknowledgements, completion, abort
    // -----------------------------------------------------------------------------------------

    fn on_ack(
        &mut self,
        ctx: &CoordinatorContext,
        task: TaskId,
        attempt: Attempt,
        id: CheckpointId,
        snapshot: SharedSnapshot,
        out: &mut Outputs,
    ) {
        if !self.is_running() {
            return;
        }
        // Rule 7 (FLINK-24611): shared state is registered first, unconditionally: also for a
        // duplicate, late or unknown acknowledgement (the registry's clean-up removes it later);
        // never for a savepoint's. A placeholder the registry does not know makes Flink's
        // `registerReference` throw: the acknowledgement is dropped.
        let savepoint = self.pending(id).is_some_and(|p| p.kind().is_savepoint());
        if !snapshot.shared.is_empty()
            && !savepoint
            && self.registry.register(&snapshot.shared, id).is_err()
        {
            return;
        }
        if attempt != self.attempt_of(task) {
            return; // Unknown attempt: its (private) state is discarded.
        }
        let Some(index) = self.pending.iter().position(|p| p.id == id) else {
            return; // Late or unknown: discarded.
        };
        let pending = &mut self.pending[index];
        if !pending.not_yet_acked.remove(task) {
            return; // Duplicate (kept) or unknown task (discarded).
        }
        let at = pending.acks.partition_point(|(t, _)| *t < task);
        pending.acks.insert(at, (task, snapshot));
        // BUG complete-with-missing-ack: one outstanding ack is treated as none.
        let fully_acknowledged = pending.not_yet_acked.is_empty()
            || (ctx.spec.has_bug(Bug::CompleteWithMissingAck)
                && pending.not_yet_acked.len() == 1
                && !pending.acks.is_empty());
        if fully_acknowledged && self.coordinator_snapshot != Some(id) {
            self.complete(ctx, index, out);
        }
    }

    /// `completePendingCheckpoint` (§1.9).
    fn complete(&mut self, ctx: &CoordinatorContext, index: usize, out: &mut Outputs) {
        let kind = self.pending[index].kind();
        let id = self.pending[index].id;
        let completed = {
            let pending = &self.pending[index];
            CompletedCheckpoint {
                id,
                kind,
                timestamp: pending.barrier.timestamp,
                snapshots: pending.acks.clone(),
                expected: TaskSet(pending.not_yet_acked.0 | pending.acked().0),
                finished: pending.finished,
                coordinator_state: pending.coordinator_state,
            }
        };
        if !kind.is_savepoint() {
            // Finalize and add to the store; a failed write aborts (FINALIZE, counted).
            if storage_write_fails(ctx, out) {
                out.push(CoordinatorOutput::StorageFaultConsumed);
                // `addCompletedCheckpointToStoreAndSubsumeOldest`: a failed add is cleaned up
                // (`CheckpointsCleaner.cleanCheckpointOnFailedStoring`) unless the failure is a
                // `PossibleInconsistentStateException`: then the checkpoint may be in HA
                // storage, a later `recover()` may read it back, and its state must stay.
                // Either way FINALIZE_CHECKPOINT_FAILURE reaches the failure manager (job
                // level, counted) and the tasks are sent abort notifications.
                let clean_up = if self.step_faults.store_write_lands {
                    self.store.add_to_ha_only(completed);
                    // BUG discard-on-possibly-inconsistent-write: cleaned up all the same.
                    ctx.spec.has_bug(Bug::DiscardOnPossiblyInconsistentWrite)
                } else {
                    true
                };
                if clean_up {
                    out.push(CoordinatorOutput::DiscardState {
                        id,
                        by: Discarder::FailedStoring,
                    });
                }
                self.abort(
                    ctx,
                    id,
                    FailureReason::FinalizeCheckpointFailure,
                    FailureLevel::Job,
                    out,
                );
                return;
            }
            let removed = self.store.add(completed, ctx.spec.checkpointing.retained);
            // A checkpoint entered the store: no more forced FULL checkpoints.
            self.force_full = false;
            // Each completed checkpoint the store subsumes is cleaned (its files deleted unless
            // it is a savepoint, whose discard-on-subsume is off), and its clean-up schedules a
            // trigger request.
            for gone in &removed {
                if !gone.kind.is_savepoint() {
                    out.push(CoordinatorOutput::DiscardState {
                        id: gone.id,
                        by: Discarder::Subsumed,
                    });
                    // BUG subsume-discards-shared-state: its shared files go with it.
                    if ctx.spec.has_bug(Bug::SubsumeDiscardsSharedState) {
                        let files: Vec<_> = shared_files(gone).collect();
                        if !files.is_empty() {
                            out.push(CoordinatorOutput::DiscardShared { files });
                        }
                    }
                }
            }
            if self.store.unclaimed.is_some_and(|id| !self.store.names(id)) {
                self.store.unclaimed = None;
            }
            // `unregisterUnusedState(completedCheckpoints)` after every add, also when nothing
            // was subsumed: below the lowest retained checkpoint that is not a savepoint.
            if let Some(lowest) = self
                .store
                .entries
                .iter()
                .find(|c| !c.kind.is_savepoint())
                .map(|c| c.id)
            {
                let files = self.registry.unregister_unused(lowest);
                if !files.is_empty() {
                    out.push(CoordinatorOutput::DiscardShared { files });
                }
            }
            self.schedule_trigger_requests(removed.len());
        } else {
            out.push(CoordinatorOutput::SavepointCompleted(completed));
        }
        self.failure_manager.on_success(id);
        let pending = self.pending.remove(index);
        self.last_completion = ctx.now;
        out.push(CoordinatorOutput::Event(CoordinatorEvent::Completed {
            id,
            kind,
        }));
        if kind.is_synchronous() && self.job == JobStatus::StoppingWithSavepoint {
            self.job = JobStatus::Suspending;
        }
        if !kind.is_savepoint() || kind.is_synchronous() {
            // Subsume older pending checkpoints that are not savepoints.
            // BUG late-checkpoint-becomes-latest: older pending checkpoints are not subsumed.
            if !ctx.spec.has_bug(Bug::LateCheckpointBecomesLatest) {
                let subsumed: Vec<CheckpointId> = self
                    .pending
                    .iter()
                    .filter(|p| p.id < id)
                    // BUG subsume-savepoint: savepoints are subsumed too.
                    .filter(|p| !p.kind().is_savepoint() || ctx.spec.has_bug(Bug::SubsumeSavepoint))
                    .map(|p| p.id)
                    .collect();
                for old in subsumed {
                    self.abort(
                        ctx,
                        old,
                        FailureReason::CheckpointSubsumed,
                        FailureLevel::Job,
                        out,
                    );
                }
            }
            // `cleanupAfterCompletedCheckpoint` -> `sendAcknowledgeMessages`: the plan's tasks,
            // then every operator coordinator; Flink 2.3 skips both for a savepoint that is not
            // synchronous (its completion commits no side effect and forgets no split assignment).
            for task in pending.tasks_to_commit.iter() {
                out.push(CoordinatorOutput::NotifyComplete { task, id });
            }
            out.push(CoordinatorOutput::NotifyOperatorCoordinators { id });
        }
        if kind.is_savepoint() && !kind.is_synchronous() {
            // BUG savepoint-notifies-operator-coordinators: a savepoint's completion reaches
            // the operator coordinators.
            if ctx.spec.has_bug(Bug::SavepointNotifiesOperatorCoordinators) {
                out.push(CoordinatorOutput::NotifyOperatorCoordinators { id });
            }
        }
        // Finalizing disposes the pending checkpoint (its clean-up schedules a trigger request)
        // and `completePendingCheckpoint`'s `finally` schedules another (reference §1.9 step 5).
        self.schedule_trigger_requests(2);
    }

    /// `abortPendingCheckpoint` (§1.10): dispose, report to the failure manager, notify the
    /// tasks once, remember expiry, re-run the decider. May fail the job over.
    fn abort(
        &mut self,
        ctx: &CoordinatorContext,
        id: CheckpointId,
        reason: FailureReason,
        level: FailureLevel,
        out: &mut Outputs,
    ) {
        let Some(index) = self.pending.iter().position(|p| p.id == id) else {
            return;
        };
        let pending = self.pending.remove(index);
        let kind = pending.kind();
        out.push(CoordinatorOutput::Event(CoordinatorEvent::Aborted {
            id,
            kind,
            reason,
        }));
        if self.coordinator_snapshot == Some(id) {
            // Aborting fails the trigger phase's promise: a stuck phase ends here (§1.7 step 9).
            self.coordinator_snapshot = None;
            // BUG triggering-flag-stuck: the failure path leaves isTriggering set.
            if !ctx.spec.has_bug(Bug::TriggeringFlagStuck) {
                self.is_triggering = false;
            }
        }
        let fail_job = self.report_failure(ctx, Some(id), kind, reason, level, out);
        let latest_completed = self.store.latest_id();
        // BUG abort-notified-twice: every notification goes out a second time.
        let rounds = if ctx.spec.has_bug(Bug::AbortNotifiedTwice) {
            2
        } else {
            1
        };
        for _ in 0..rounds {
            for task in pending.tasks_to_commit.iter() {
                out.push(CoordinatorOutput::NotifyAborted {
                    task,
                    id,
                    latest_completed,
                });
            }
        }
        out.push(CoordinatorOutput::NotifyOperatorCoordinatorsAborted { id });
        if reason == FailureReason::CheckpointExpired {
            self.recent_expired.push(id);
            if self.recent_expired.len() > RECENT_EXPIRED {
                self.recent_expired.remove(0);
            }
        }
        if kind.is_synchronous() && self.job == JobStatus::StoppingWithSavepoint && !fail_job {
            self.stop_with_savepoint_failed(ctx);
        }
        // Disposing the checkpoint (its clean-up callback) schedules a trigger request; the
        // failure manager's fail-job callback queues the global failover after it; the
        // `finally` of `abortPendingCheckpoint` schedules another request behind that.
        self.schedule_trigger_requests(1);
        if fail_job {
            out.push(CoordinatorOutput::Event(
                CoordinatorEvent::FailedByFailureManager,
            ));
            self.timer_queue.push(TimerTask::FailGlobal);
        }
        self.schedule_trigger_requests(1);
    }

    /// `scheduleTriggerRequest`: `executeQueuedRequest` is queued on the timer thread, which
    /// runs it after the current call; each run decides once (one drop, one start, or nothing).
    fn schedule_trigger_requests(&mut self, runs: usize) {
        for _ in 0..runs {
            self.timer_queue.push(TimerTask::ExecuteQueuedRequest);
        }
    }

    /// A global failover is queued on the timer / main thread and has not restarted the tasks
    /// yet: a plan calculated now would come after the tasks' cancellation.
    /// `DefaultCheckpointPlanCalculator.checkTasksStarted(plan.getTasksToWaitFor())` (Flink
    /// 2.3): every task the checkpoint waits for is RUNNING in the JobManager's view, i.e. its
    /// RUNNING report arrived. Only models with `lifecycle.deploy_steps` have tasks that are
    /// not running yet; the others pass.
    fn tasks_started(&self, ctx: &CoordinatorContext, to_wait_for: TaskSet) -> bool {
        // BUG trigger-before-tasks-running: only `checkAllTasksInitiated` (every task has an
        // execution attempt) is checked, not that the tasks to wait for run.
        !ctx.spec.lifecycle.deploy_steps
            || ctx.spec.has_bug(Bug::TriggerBeforeTasksRunning)
            || TaskSet(to_wait_for.0 & !self.reported_running.0).is_empty()
    }

    fn failover_queued(&self) -> bool {
        self.parked_restart.is_some()
            || self
                .timer_queue
                .iter()
                .any(|t| matches!(t, TimerTask::FailGlobal | TimerTask::Restart(_)))
    }

    /// Runs the queued work in order, including what it queues in turn.
    fn run_timer_queue(&mut self, ctx: &CoordinatorContext, out: &mut Outputs) {
        while !self.timer_queue.is_empty() {
            match self.timer_queue.remove(0) {
                TimerTask::ExecuteQueuedRequest => {
                    if self.is_running() {
                        self.choose(ctx, out);
                    }
                }
                TimerTask::FailGlobal => {
                    let plan = self.cancel_for_failover(ctx, out);
                    self.timer_queue.push(TimerTask::Restart(Box::new(plan)));
                }
                TimerTask::Restart(plan) => self.restart_or_park(ctx, *plan, false, out),
                TimerTask::CalculatePlan(request) => {
                    // The plan finds the tasks cancelled. With tasks finished (FLIP-147) the
                    // plan is calculated the other way, and the cancelled tasks surface as a
                    // trigger failure after the id was allocated (seen in Flink 2.3).
                    let reason = if self.finished_tasks.is_empty() {
                        FailureReason::NotAllRequiredTasksRunning
                    } else {
                        let id = self.next_id;
                        self.next_id = CheckpointId(id.0 + 1);
                        out.push(CoordinatorOutput::Event(CoordinatorEvent::Allocated(
                            id,
                            request.kind,
                        )));
                        FailureReason::TriggerCheckpointFailure
                    };
                    self.timer_queue
                        .push(TimerTask::PlanFailed(request, reason));
                }
                TimerTask::PlanFailed(request, reason) => {
                    // `createPendingCheckpoint` checks the global state again once the id is
                    // allocated: a periodic request whose scheduler was stopped meanwhile (a
                    // parked restart's) fails PERIODIC_SCHEDULER_SHUTDOWN there.
                    let reason = if reason == FailureReason::TriggerCheckpointFailure
                        && request.periodic
                        && !self.periodic_scheduling
                    {
                        FailureReason::PeriodicSchedulerShutdown
                    } else {
                        reason
                    };
                    // `onTriggerFailure`: the request fails (not counted), `isTriggering` is
                    // released and the decider runs at once (its `finally`).
                    self.request_failed(ctx, request, reason, out);
                    self.is_triggering = false;
                    if self.is_running() {
                        self.choose(ctx, out);
                    }
                }
            }
        }
    }

    /// One decision of the request decider over this coordinator's state.
    fn decide(&mut self, ctx: &CoordinatorContext) -> Decision {
        let config = &ctx.spec.checkpointing;
        // BUG min-pause-drops-user-requests: the head is treated as periodic for the pause.
        if ctx.spec.has_bug(Bug::MinPauseDropsUserRequests) {
            if let Some(head) = self.queue.requests.first_mut() {
                head.periodic = !head.forced;
            }
        }
        // BUG max-concurrent-off-by-one: a limit one higher is `pending > max_concurrent`.
        let max_concurrent = if ctx.spec.has_bug(Bug::MaxConcurrentOffByOne) {
            config.max_concurrent.saturating_add(1)
        } else {
            config.max_concurrent
        };
        decider::choose(
            &mut self.queue,
            self.is_triggering,
            self.pending.len(),
            max_concurrent,
            self.last_completion,
            config.min_pause,
            ctx.now,
        )
    }

    fn report_failure(
        &mut self,
        ctx: &CoordinatorContext,
        id: Option<CheckpointId>,
        kind: SnapshotKind,
        reason: FailureReason,
        level: FailureLevel,
        out: &mut Outputs,
    ) -> bool {
        out.push(CoordinatorOutput::Event(
            CoordinatorEvent::FailureReported {
                id,
                kind,
                reason,
                level,
            },
        ));
        self.failure_manager
            .on_failure(ctx.spec, id, kind, reason, level)
    }

    /// Aborts every pending checkpoint with a reason that is not counted. `notify`: send abort
    /// notifications (tasks that are about to be restarted do not need them).
    fn abort_all(
        &mut self,
        ctx: &CoordinatorContext,
        reason: FailureReason,
        notify: bool,
        out: &mut Outputs,
    ) {
        let notified = if notify {
            ctx.spec.all_tasks()
        } else {
            TaskSet::default()
        };
        self.abort_all_notifying(ctx, reason, notified, out);
    }

    /// `abort_all`, notifying only the `notified` tasks of each checkpoint's plan.
    fn abort_all_notifying(
        &mut self,
        ctx: &CoordinatorContext,
        reason: FailureReason,
        notified: TaskSet,
        out: &mut Outputs,
    ) {
        let latest_completed = self.store.latest_id();
        for pending in std::mem::take(&mut self.pending) {
            // Each abort disposes the checkpoint and schedules trigger requests, as `abort` does.
            self.schedule_trigger_requests(2);
            let kind = pending.kind();
            out.push(CoordinatorOutput::Event(CoordinatorEvent::Aborted {
                id: pending.id,
                kind,
                reason,
            }));
            // Not counted by the failure manager; reported for its statistics only.
            let _ =
                self.report_failure(ctx, Some(pending.id), kind, reason, FailureLevel::Job, out);
            for task in pending.tasks_to_commit.iter() {
                if notified.contains(task) {
                    out.push(CoordinatorOutput::NotifyAborted {
                        task,
                        id: pending.id,
                        latest_completed,
                    });
                }
            }
            // The operator coordinators are notified synchronously in any case (the tasks'
            // notifications go to executions a restart may already have reset).
            out.push(CoordinatorOutput::NotifyOperatorCoordinatorsAborted { id: pending.id });
        }
        if self.coordinator_snapshot.take().is_some() {
            self.is_triggering = false;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Task lifecycle and failover
    // -----------------------------------------------------------------------------------------

    fn on_task_finished(&mut self, ctx: &CoordinatorContext, task: TaskId, out: &mut Outputs) {
        self.finished_tasks.insert(task);
        if self.finished_tasks != ctx.spec.all_tasks() {
            return;
        }
        // Every task finished: the job is done (or stopped by its savepoint). Shut down. A stop
        // with drain ends the job: its sources ended their input (`SavepointType.terminate`).
        self.job = if self.job == JobStatus::Suspending && !ctx.spec.user.drain {
            JobStatus::Suspended
        } else {
            JobStatus::Finished
        };
        self.shut_down(ctx, out);
    }

    /// `CheckpointCoordinator.shutdown`: no more triggers; queued requests fail and pending
    /// checkpoints are aborted (the tasks are gone, so nobody is notified).
    /// Whether Flink's scheduler activator would stop the periodic scheduler when the job leaves
    /// RUNNING now: it is registered only when periodic checkpointing is configured (seen in
    /// MiniCluster runs), and acts only until the job run's first failover (`failed_over`).
    fn activator_stops_scheduler(&self, spec: &Spec) -> bool {
        spec.checkpointing.interval.is_some() && !self.failed_over
    }

    /// The job reached a terminal state. Until the job's first failover, Flink's scheduler
    /// activator sees the job leave RUNNING first and stops the scheduler
    /// (CHECKPOINT_COORDINATOR_SUSPEND); after one it no longer does (see `failed_over`), and
    /// the coordinator's `shutdown` aborts what is left (CHECKPOINT_COORDINATOR_SHUTDOWN). Both
    /// notify the plan's tasks, finished or not.
    fn shut_down(&mut self, ctx: &CoordinatorContext, out: &mut Outputs) {
        let reason = if !self.activator_stops_scheduler(ctx.spec) {
            FailureReason::CheckpointCoordinatorShutdown
        } else {
            FailureReason::CheckpointCoordinatorSuspend
        };
        self.stop_scheduler();
        self.fail_queue(reason, out);
        self.abort_all(ctx, reason, true, out);
        self.is_triggering = false;
    }

    /// A task failed: the job fails over (full failover). Flink 2.3 does not abort the pending
    /// checkpoints the failed task had not acknowledged with TASK_FAILURE on its own; they go
    /// with the failover's abort (`restart_job`). Found by conformance with real Flink.
    fn on_task_failed(&mut self, ctx: &CoordinatorContext, task: TaskId, out: &mut Outputs) {
        // FLINK-26783: once the stop-with-savepoint's savepoint completed, its side effects may be
        // committed; failing over to the latest checkpoint would duplicate them. The job stops
        // instead and the user restarts it from the savepoint.
        // BUG stop-with-savepoint-fails-over-to-checkpoint: the pre-fix global failover.
        let pre_fix = ctx
            .spec
            .has_bug(Bug::StopWithSavepointFailsOverToCheckpoint);
        if self.job == JobStatus::Suspending && !pre_fix {
            self.job = JobStatus::Suspended;
            self.shut_down(ctx, out);
            out.push(CoordinatorOutput::CancelJob);
            return;
        }
        if ctx.spec.failover == FailoverStrategy::Region {
            self.restart_region(ctx, task, out);
            return;
        }
        self.restart_job(ctx, out);
    }

    /// Region failover of a task failure (`RestartPipelinedRegionFailoverStrategy`, then
    /// `DefaultScheduler.restartTasks` -> `SchedulerBase.restoreState(vertices, false)`): the
    /// failed task's pipelined region is cancelled and restarted with new attempts and the job
    /// stays RUNNING. `restoreState` first aborts every pending checkpoint with JOB_FAILOVER_REGION
    /// ("to ensure the EXACTLY_ONCE semantics"; not counted by the failure manager), whose
    /// notifications reach the surviving tasks only (the restarted ones' plan executions are
    /// cancelled); then `restoreLatestCheckpointedStateToSubtasks` gives the restarted subtasks
    /// the latest completed checkpoint's state (none: they start from scratch). The surviving
    /// tasks keep everything: state, blocked channels, pending alignment, aborted ids, attempt.
    fn restart_region(&mut self, ctx: &CoordinatorContext, task: TaskId, out: &mut Outputs) {
        let spec = ctx.spec;
        // BUG region-splits-at-forward-edges: forward (pointwise) channels do not join regions.
        let region = if spec.has_bug(Bug::RegionSplitsAtForwardEdges) {
            let all_to_all =
                |c: &ChannelSpec| spec.edges[c.edge].partitioning != Partitioning::Forward;
            pipelined_regions(spec.tasks.len(), &spec.channels, all_to_all)
                .into_iter()
                .find(|r| r.contains(task))
                .unwrap_or_default()
        } else {
            spec.region_of(task)
        };
        let survivors = TaskSet(spec.all_tasks().0 & !region.0);
        let newest_pending = self.pending.last().map(|p| p.id);
        // Until the job run's first failover the execution-tracking activator sees the region's
        // tasks leave RUNNING and stops the periodic scheduler (CHECKPOINT_COORDINATOR_SUSPEND),
        // restarting it once they run again (reference §3.1); after it the scheduler keeps
        // running. The activator acts on the failed task's FAILED report, before the region's
        // executions are cancelled and reset, so its aborts reach every task (found by
        // conformance with real Flink); the restart's own abort below reaches only the
        // survivors, the restarted tasks' new executions being not yet deployed.
        let scheduler_kept = !self.activator_stops_scheduler(spec);
        if !scheduler_kept {
            let reason = FailureReason::CheckpointCoordinatorSuspend;
            self.abort_all_notifying(ctx, reason, spec.all_tasks(), out);
            self.fail_queue(reason, out);
            self.stop_scheduler();
        }
        self.failed_over = true;
        // `abortPendingCheckpoints(JOB_FAILOVER_REGION)`: every pending checkpoint, whatever tasks
        // it spans.
        self.abort_all_notifying(ctx, FailureReason::JobFailover, survivors, out);
        if self.task_attempts.is_empty() {
            self.task_attempts = vec![self.attempt; spec.tasks.len()];
        }
        // The job's count of restarts (a resume's next epoch, the JobManager failover's attempt
        // base); the tasks' own attempts are numbered per task below.
        self.attempt = Attempt(self.attempt.0.wrapping_add(1));
        // Flink numbers execution attempts per execution vertex: a restarted task's new
        // execution gets its own previous attempt number plus one, whatever the other regions
        // went through (found by conformance with real Flink on two region restarts: the
        // model gave the job's new highest attempt).
        // BUG region-restart-keeps-attempts: the restarted tasks keep their execution attempts.
        let keeps_attempts = spec.has_bug(Bug::RegionRestartKeepsAttempts);
        for t in region.iter() {
            let previous = self.task_attempts[t.0 as usize];
            self.task_attempts[t.0 as usize] = if keeps_attempts {
                previous
            } else {
                Attempt(previous.0.wrapping_add(1))
            };
            self.finished_tasks.remove(t);
            self.reported_running.remove(t);
        }
        // `SchedulerBase.restoreState`: the restarted tasks report end of data again.
        self.end_of_data.restore(spec, region);
        let checkpoint = self.store.latest().cloned();
        let restored_id = checkpoint.as_ref().map(|c| c.id);
        out.push(CoordinatorOutput::Event(CoordinatorEvent::Restored {
            id: restored_id,
            newer_pending: newest_pending > restored_id,
        }));
        out.push(CoordinatorOutput::RestoreRegion {
            checkpoint,
            tasks: region,
        });
        if !scheduler_kept {
            self.start_scheduler(spec, ctx.now);
        }
    }

    /// Global failover (§3.1) at once, as a task failure or a new leader does it: abort
    /// everything pending (not counted), stop and restart the scheduler, and restore every task
    /// from the latest completed checkpoint.
    fn restart_job(&mut self, ctx: &CoordinatorContext, out: &mut Outputs) {
        let plan = self.cancel_for_failover(ctx, out);
        let scheduler_kept = plan.scheduler_kept;
        self.is_triggering = false;
        self.coordinator_snapshot = None;
        // Requests still queued run once the restarted tasks are running.
        self.restart_or_park(ctx, plan, scheduler_kept, out);
    }

    /// The second half of a global failover, now or, for a non-atomic restart, once its delay
    /// elapsed (`CoordinatorInput::RestartTasks`): between the two the job is RESTARTING and the
    /// JobManager may lose leadership, after which the new leader recovers from HA storage and
    /// this restart never happens (`DefaultScheduler.restartTasksWithDelay` schedules
    /// `restartTasks`; a suspended JobMaster runs nothing more).
    fn restart_or_park(
        &mut self,
        ctx: &CoordinatorContext,
        plan: RestartPlan,
        choose_after: bool,
        out: &mut Outputs,
    ) {
        if self.step_faults.restart_may_park {
            // Until the job run's first failover the scheduler activator stopped the periodic
            // scheduler when the tasks were cancelled (`cancel_for_failover`); an atomic restart
            // starts it again in the same step, a parked one leaves it stopped until it runs.
            if !plan.scheduler_kept {
                self.stop_scheduler();
            }
            self.parked_restart = Some(Box::new(ParkedRestart { plan, choose_after }));
            out.push(CoordinatorOutput::RestartParked);
            return;
        }
        self.restart_tasks(ctx, plan, out);
        if choose_after {
            self.choose(ctx, out);
        }
    }

    /// The first half of a global failover (`failGlobal`): the tasks are cancelled. Until the
    /// job run's first failover the scheduler activator sees them leave RUNNING and stops the
    /// periodic scheduler (`stopCheckpointScheduler`: pending checkpoints aborted, tasks
    /// notified, queued requests failed, all with CHECKPOINT_COORDINATOR_SUSPEND); after it,
    /// the scheduler keeps running and the restart aborts what is pending.
    fn cancel_for_failover(&mut self, ctx: &CoordinatorContext, out: &mut Outputs) -> RestartPlan {
        // BUG restore-pending-checkpoint: the newest pending checkpoint's partial acks win.
        let pending_choice = if ctx.spec.has_bug(Bug::RestorePendingCheckpoint) {
            self.pending
                .last()
                .filter(|p| !p.acks.is_empty())
                .map(|p| CompletedCheckpoint {
                    id: p.id,
                    kind: p.kind(),
                    timestamp: p.barrier.timestamp,
                    snapshots: p.acks.clone(),
                    expected: TaskSet(p.not_yet_acked.0 | p.acked().0),
                    finished: p.finished,
                    coordinator_state: p.coordinator_state,
                })
        } else {
            None
        };
        let newest_pending = self.pending.last().map(|p| p.id);
        let scheduler_kept = !self.activator_stops_scheduler(ctx.spec);
        if !scheduler_kept {
            self.abort_all(ctx, FailureReason::CheckpointCoordinatorSuspend, true, out);
            self.fail_queue(FailureReason::CheckpointCoordinatorSuspend, out);
        }
        self.failed_over = true;
        RestartPlan {
            pending_choice,
            newest_pending,
            scheduler_kept,
        }
    }

    /// The second half of a global failover (`restartTasks`): when the scheduler kept running,
    /// pending checkpoints are aborted with JOB_FAILOVER_REGION (their notifications reach no
    /// task: they go to the new, not yet deployed attempts) and its queue stays; every task gets
    /// its next attempt, is restored from the latest completed checkpoint and running again,
    /// and the periodic scheduler started where the failure stopped it (a kept one keeps its
    /// trigger).
    fn restart_tasks(&mut self, ctx: &CoordinatorContext, plan: RestartPlan, out: &mut Outputs) {
        if plan.scheduler_kept {
            self.abort_all(ctx, FailureReason::JobFailover, false, out);
        }
        self.attempt = Attempt(self.attempt.0.wrapping_add(1));
        // Every task's next attempt: one more than its own (after region restarts the tasks'
        // attempts differ, and Flink numbers them per execution vertex), else the job's.
        for attempt in &mut self.task_attempts {
            *attempt = Attempt(attempt.0.wrapping_add(1));
        }
        self.finished_tasks = TaskSet::default();
        self.reported_running = TaskSet::default();
        self.end_of_data = EndOfDataListener::default();
        if matches!(
            self.job,
            JobStatus::StoppingWithSavepoint | JobStatus::Suspending
        ) {
            self.job = JobStatus::Running;
        }
        // BUG restore-subsumed-checkpoint: the oldest retained entry instead of the latest.
        let checkpoint = match plan.pending_choice {
            Some(pending) => Some(pending),
            None if ctx.spec.has_bug(Bug::RestoreSubsumedCheckpoint) => {
                self.store.entries.first().cloned()
            }
            None => self.store.latest().cloned(),
        };
        let restored_id = checkpoint.as_ref().map(|c| c.id);
        // Restoring the snapshot a NO_CLAIM start left in the store (also by a new leader)
        // forces FULL checkpoints again until one enters the store.
        if restored_id.is_some() && restored_id == self.store.unclaimed {
            self.force_full = true;
        }
        out.push(CoordinatorOutput::Event(CoordinatorEvent::Restored {
            id: restored_id,
            newer_pending: plan.newest_pending > restored_id,
        }));
        out.push(CoordinatorOutput::Restore { checkpoint });
        if plan.scheduler_kept {
            // After the job run's first failover nothing stops the scheduler: its trigger keeps
            // its fixed-rate due time through the restart (found by comparing the trigger's due
            // time with Flink's; the model re-armed it). A stopped one (no periodic interval, or
            // a stop-with-savepoint's) starts.
            if !self.periodic_scheduling {
                self.start_scheduler(ctx.spec, ctx.now);
            }
        } else {
            self.start_scheduler_on_deploy(ctx.spec, ctx.now, false);
        }
    }
}

/// The shared files a completed checkpoint's task snapshots reference, sorted and deduplicated.
pub fn shared_files(
    checkpoint: &CompletedCheckpoint,
) -> impl Iterator<Item = crate::system::protocol::SharedFile> {
    let mut files: Vec<_> = checkpoint
        .snapshots
        .iter()
        .flat_map(|(_, s)| s.shared.iter().copied())
        .collect();
    files.sort();
    files.dedup();
    files.into_iter()
}
