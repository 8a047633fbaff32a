//! Failures and recovery, as the world performs them: a task crash (reported to the coordinator
//! by RPC), the coordinator's (JobManager's) failover to a new leader over the same HA store, the
//! job's global failover to a completed checkpoint (every task restarts, channels are refilled
//! with the restored channel state), resuming from a savepoint, and cancelling the job.
//!
//! A region failover (`[failover] strategy = "region"`) restores only the failed task's
//! pipelined region: its internal channels are cleared and refilled, RPCs to its tasks vanish,
//! and every other task keeps running untouched (no channel crosses regions).

use super::step::Step;
use super::{Rpc, StepEvent};
use crate::system::bugs::Bug;
use crate::system::coordinator::operator_coordinator::SourceCoordinator;
use crate::system::coordinator::store::CompletedCheckpoint;
use crate::system::coordinator::{Coordinator, CoordinatorContext, CoordinatorEvent, JobStatus};
use crate::system::protocol::{Attempt, ChannelEvent, CheckpointId, TaskId, TaskSet};
use crate::system::task::{Task, TaskStatus};
use crate::system::world::ghost::LastStep;

impl Step<'_> {
    /// Fault: a task crashes.
    pub(super) fn crash_task(&mut self, task: TaskId) {
        self.world.used.task_crashes += 1;
        self.note(StepEvent::Crashed(task));
        self.crash(task);
    }

    /// Fault: the coordinator fails over to a new leader, which recovers from the HA store. With
    /// a restart parked (non-atomic restarts), the old leader loses leadership while the job
    /// is RESTARTING: its restart never happens, and the new leader restores the job from what
    /// it recovers.
    pub(super) fn failover_coordinator(&mut self) {
        let spec = self.spec;
        self.world.used.coordinator_failovers += 1;
        self.note(StepEvent::CoordinatorFailedOver);
        if self.world.coordinator.parked_restart.is_some() {
            self.world
                .last
                .set(LastStep::LEADERSHIP_LOST_DURING_RESTART);
        }
        self.world.ghost.failover_cause();
        let ctx = CoordinatorContext {
            spec,
            now: self.world.now,
            storage_write_fails: false,
        };
        let mut outputs = Vec::new();
        let recovered = self.world.coordinator.recover(&ctx, &mut outputs);
        self.world.coordinator = recovered;
        // The new leader's operator coordinators are created anew, restored with the job.
        self.world.source_coordinator = SourceCoordinator {
            fresh: true,
            ..SourceCoordinator::new(spec)
        };
        self.world.ghost.coordinator_replaced();
        // The old leader's RPC endpoints are gone.
        self.world.rpcs.clear();
        self.coordinator_outputs(outputs);
    }

    /// The user resumes a job stopped with a savepoint from that savepoint.
    pub(super) fn resume_from_savepoint(&mut self) -> Result<(), ()> {
        let savepoint = self.world.savepoint.clone().ok_or(())?;
        if self.world.coordinator.job != JobStatus::Suspended {
            return Err(());
        }
        self.new_job_run(&savepoint);
        self.note(StepEvent::Resumed { from: savepoint.id });
        self.observe(CoordinatorEvent::Restored {
            id: Some(savepoint.id),
            newer_pending: false,
        });
        self.restore(Some(&savepoint));
        Ok(())
    }

    /// The user resumes a job stopped with a savepoint from an older retained checkpoint: a new
    /// job run, as from the savepoint, whose counter continues from the checkpoint's id + 1
    /// (`CheckpointCoordinator.restoreSavepoint` sets the counter to the restored id + 1), so
    /// ids the stopped run used after it are used again. Its writers abort the stopped run's
    /// lingering transactions from that id upward and open their producers with a newer epoch
    /// (the attempt after the stopped run's), which tells the runs' transactions apart.
    pub(super) fn resume_from_older(&mut self, id: CheckpointId) -> Result<(), ()> {
        let spec = self.spec;
        if self.world.coordinator.job != JobStatus::Suspended
            || self.world.savepoint.is_none()
            || self.world.older_resumes.0 >= spec.user.resume_older
        {
            return Err(());
        }
        let checkpoint = self
            .world
            .coordinator
            .store
            .entries
            .iter()
            .find(|c| c.id == id && self.world.savepoint.as_ref().is_some_and(|s| c.id < s.id))
            .cloned()
            .ok_or(())?;
        self.world.older_resumes.0 += 1;
        self.world
            .ghost
            .resumed_older(checkpoint.clone(), &self.world.external);
        self.new_job_run(&checkpoint);
        self.note(StepEvent::ResumedOlder {
            from: checkpoint.id,
        });
        self.observe(CoordinatorEvent::Restored {
            id: Some(checkpoint.id),
            newer_pending: false,
        });
        self.restore(Some(&checkpoint));
        Ok(())
    }

    /// A resume's new job run from `from`: a new coordinator resumed from it with the attempt
    /// after the stopped run's, a fresh split enumerator, and a new job submission.
    fn new_job_run(&mut self, from: &CompletedCheckpoint) {
        let spec = self.spec;
        let attempt = Attempt(self.world.coordinator.attempt.0.wrapping_add(1));
        self.world.coordinator =
            Coordinator::resumed_from(spec, self.world.now, from.clone(), attempt);
        self.world.ghost.coordinator_replaced();
        self.world.source_coordinator = SourceCoordinator {
            fresh: true,
            ..SourceCoordinator::new(spec)
        };
        self.world.ghost.resumed_as_new_job(from.id);
        self.submit_job_run(from.id);
        self.world.ghost.failover_cause();
    }

    /// A resume is a new job submission, which Flink gives a new `JobID` (the committed mark
    /// is keyed by it, `transactions.committed_mark`); a failover within the run keeps it. Called
    /// before the restore, whose recommits then find the restored committables' job id.
    fn submit_job_run(&mut self, from: CheckpointId) {
        if !self.spec.transactions.committed_mark {
            return;
        }
        let table = &mut self.world.external.table;
        // A fixed pipeline.job-id, or the legacy committer's max initialised from the restored
        // job's mark, has the same effect as the bug: the stopped run's mark hides the new run's.
        // BUG iceberg-10892-mark-across-runs: the resumed run keeps the restored run's job id.
        let job = if self.spec.has_bug(Bug::Iceberg10892MarkAcrossRuns) {
            table.job_of(from)
        } else {
            table.submitted + 1
        };
        table.submit(from, job);
    }

    /// A deployed sink with transaction identity opens its producer with this attempt's epoch
    /// (`KafkaWriter`: abort lingering transactions, then the producer of `restored + 1`).
    fn open_producer(&mut self, task: TaskId, restored: CheckpointId) {
        let epoch = self.world.coordinator.attempt_of(task).0;
        let outputs = self.world.tasks[task.0 as usize].open_producer(self.spec, restored, epoch);
        self.task_outputs(task, outputs);
    }

    pub(super) fn crash(&mut self, task: TaskId) {
        self.world.tasks[task.0 as usize] = Task::crashed(self.spec, task);
        let attempt = self.world.coordinator.attempt_of(task);
        self.send(Rpc::TaskFailed { task, attempt });
    }

    /// The job ends without failover: every task is cancelled, channels and task RPCs vanish.
    pub(super) fn cancel_job(&mut self) {
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
    pub(super) fn restore(&mut self, checkpoint: Option<&CompletedCheckpoint>) {
        self.restore_tasks(checkpoint, self.spec.all_tasks());
    }

    /// Region failover: the restarted tasks (whole pipelined regions) restart from the
    /// checkpoint (or from scratch, `subtaskReset(subtask, NO_CHECKPOINT)`'s case); their
    /// channels, all internal to their regions, are cleared and refilled with the restored
    /// channel state; RPCs to them vanish (RPCs from their old attempts are still in flight and
    /// the coordinator drops them). The other tasks keep running: state, blocked channels,
    /// pending alignment, aborted ids and attempt.
    pub(super) fn restore_region(
        &mut self,
        checkpoint: Option<&CompletedCheckpoint>,
        tasks: TaskSet,
    ) {
        self.world.last.set(LastStep::REGION_RESTORED);
        self.restore_tasks(checkpoint, tasks);
    }

    /// Restores `tasks` (every task: a global failover).
    fn restore_tasks(&mut self, checkpoint: Option<&CompletedCheckpoint>, tasks: TaskSet) {
        let spec = self.spec;
        let global = tasks == spec.all_tasks();
        if let Some(c) = checkpoint {
            // What the world reads from checkpoint storage: deleted files cannot be restored.
            let files = &self.world.files;
            if files.discarded_by(c.id).is_some()
                || c.snapshots
                    .iter()
                    .any(|(_, s)| s.shared.iter().any(|f| files.shared_deleted(*f)))
            {
                self.world.last.set(LastStep::RESTORED_DISCARDED);
            }
            if self.world.ghost.possibly_inconsistent.contains(c.id) {
                // Read back from HA storage, the checkpoint whose add reported a failure is
                // complete after all: the restored sinks commit its transactions.
                self.world
                    .last
                    .set(LastStep::RESTORED_POSSIBLY_INCONSISTENT);
                let ghost = &mut self.world.ghost;
                ghost.max_completed = ghost.max_completed.max(c.id);
            }
        }
        for (channel, queue) in self.world.channels.iter_mut().enumerate() {
            if tasks.contains(spec.channels[channel].to) {
                queue.clear();
            }
        }
        self.world
            .rpcs
            .retain(|rpc| !(rpc.to_task() && tasks.contains(rpc.key().task)));
        if global {
            self.restore_source_coordinator(checkpoint);
        }
        let mut finished_on_restore = Vec::new();
        // The restored tasks restart: only those deployed finished (below) count as finished.
        self.world.ghost.finished.0 &= !tasks.0;
        self.world.ghost.restored = tasks;
        let ghost = &mut self.world.ghost;
        if global {
            ghost.survived_region_restart = TaskSet::default();
            ghost.region_restarted = TaskSet::default();
        } else {
            ghost.survived_region_restart = TaskSet(spec.all_tasks().0 & !tasks.0);
            ghost.region_restarted = tasks;
        }
        for task in tasks.iter() {
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
                    self.open_producer(task, c.id);
                }
                (None, Some(c)) if c.finished.contains(task) => {
                    // FLIP-147: a task finished in the checkpoint is deployed finished.
                    let mut restored = Task::new(spec, task);
                    restored.status = TaskStatus::Finished;
                    self.world.tasks[task.0 as usize] = restored;
                    finished_on_restore.push(task);
                    self.world.ghost.finished.insert(task);
                }
                _ => {
                    self.world.tasks[task.0 as usize] = Task::new(spec, task);
                    self.open_producer(task, CheckpointId::NONE);
                }
            }
        }
        if global {
            super::lifecycle::deploy_all(spec, &mut self.world.tasks);
        }
        if !finished_on_restore.is_empty() {
            self.world.last.set(LastStep::RESTORED_FINISHED);
        }
        for task in finished_on_restore {
            self.broadcast(task, ChannelEvent::EndOfData);
            self.broadcast(task, ChannelEvent::EndOfPartition);
            let attempt = self.world.coordinator.attempt_of(task);
            self.send(Rpc::EndOfData { task, attempt });
            self.send(Rpc::TaskFinished { task, attempt });
        }
    }
}
