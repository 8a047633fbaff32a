//! A task's lifecycle phases as steps of their own (`[lifecycle]` in the model file).
//!
//! Flink's `Task.restoreAndInvoke` goes DEPLOYING -> INITIALIZING (`StreamTask.restore`: state
//! restored, channel state read) -> RUNNING, and reports each state to the JobManager
//! (`updateTaskExecutionState`); the model merges DEPLOYING and INITIALIZING into
//! [`TaskStatus::Deploying`] and makes the RUNNING switch a step of the task's own (its
//! `Emit` action), which sends the RUNNING report. While not RUNNING, a trigger RPC is declined
//! with `CHECKPOINT_DECLINED_TASK_NOT_READY` (`Task.triggerCheckpointBarrier` checks the task's
//! own execution state), notifications are ignored, and no input is taken.
//!
//! FLIP-147: once a task's input ended, its final checkpoint completed and its output was
//! consumed, `StreamTask.afterInvoke` closes the mailbox (`prepareClose`) and sets
//! `isRunning = false`: the task is [`TaskStatus::Finishing`] ("ready to finish"). A trigger
//! RPC reaching it then is rejected by the closed mailbox and declined with
//! `CHECKPOINT_DECLINED_TASK_CLOSING` (`Task.triggerCheckpointBarrier`'s
//! `RejectedExecutionException` branch); notifications are dropped the same way. Its next step
//! of its own finishes it: the result partitions send EndOfPartition and the task reports
//! FINISHED. Neither decline is counted by the failure manager.

use super::{Outputs, Task, TaskOutput, TaskStatus};
use crate::system::protocol::{CheckpointId, FailureReason};
use crate::system::spec::Spec;

impl Task {
    /// A task just (re)deployed: DEPLOYING until its deploy step when the model has
    /// `lifecycle.deploy_steps`, else running at once. Tasks deployed finished stay finished.
    pub fn deploy_pending(&mut self, spec: &Spec) {
        if spec.lifecycle.deploy_steps && self.status == TaskStatus::Running {
            self.status = TaskStatus::Deploying;
        }
    }

    /// Whether the task's own next step is a lifecycle transition (deploy, or finish).
    pub fn lifecycle_step_due(&self) -> bool {
        matches!(self.status, TaskStatus::Deploying | TaskStatus::Finishing)
    }

    /// The task's lifecycle step: a deploying task switches to RUNNING and reports it; a
    /// finishing task finishes.
    pub fn lifecycle_step(&mut self) -> Outputs {
        match self.status {
            TaskStatus::Deploying => {
                self.status = TaskStatus::Running;
                vec![TaskOutput::Running]
            }
            TaskStatus::Finishing => self.finish(),
            _ => Outputs::new(),
        }
    }

    /// `lifecycle.finish_steps`: the task is ready to finish; it finishes in a later step.
    pub fn close_for_finish(&mut self) {
        self.status = TaskStatus::Finishing;
    }

    /// The decline a trigger RPC gets from a task that is not running (`None` if it runs).
    pub fn not_running_decline(&self, id: CheckpointId) -> Option<TaskOutput> {
        let reason = match self.status {
            TaskStatus::Deploying => FailureReason::CheckpointDeclinedTaskNotReady,
            TaskStatus::Finishing => FailureReason::CheckpointDeclinedTaskClosing,
            _ => return None,
        };
        Some(TaskOutput::Decline { id, reason })
    }
}
