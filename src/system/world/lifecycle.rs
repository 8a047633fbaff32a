//! Task lifecycle steps as the world performs them (`[lifecycle]`, `task/lifecycle.rs`): after a
//! (re)start every task is deploying until its own step switches it to RUNNING and sends the
//! RUNNING report to the JobManager; a task ready to finish (FLIP-147: inputs ended, final
//! checkpoint complete, output consumed) closes first and finishes in a later step of its own,
//! which sends EndOfPartition downstream and the FINISHED report.

use super::step::Step;
use super::StepEvent;
use crate::system::protocol::TaskId;
use crate::system::spec::Spec;
use crate::system::task::{Task, TaskStatus};

/// Every task of a freshly (re)started job as deployed: deploying when the model has
/// `lifecycle.deploy_steps` (tasks deployed finished stay finished).
pub(super) fn deploy_all(spec: &Spec, tasks: &mut [Task]) {
    if spec.lifecycle.deploy_steps {
        for task in tasks.iter_mut() {
            task.deploy_pending(spec);
        }
    }
}

impl Step<'_> {
    /// The task's lifecycle step, if one is due: deploy (-> RUNNING), or finish.
    pub(super) fn lifecycle_step(&mut self, task: TaskId) -> Result<(), ()> {
        let status = self.world.task(task).status;
        if !self.world.task(task).lifecycle_step_due() {
            return Err(());
        }
        let outputs = self.world.tasks[task.0 as usize].lifecycle_step();
        if status == TaskStatus::Finishing {
            self.note(StepEvent::Finished(task));
            self.world.ghost.finished.insert(task);
        }
        self.task_outputs(task, outputs);
        Ok(())
    }

    /// A task ready to finish: finishes now, or (`lifecycle.finish_steps`) closes and finishes
    /// in a later step.
    pub(super) fn ready_to_finish(&mut self, task: TaskId) {
        if self.spec.lifecycle.finish_steps {
            self.world.tasks[task.0 as usize].close_for_finish();
            return;
        }
        self.note(StepEvent::Finished(task));
        self.world.ghost.finished.insert(task);
        let outputs = self.world.tasks[task.0 as usize].finish();
        self.task_outputs(task, outputs);
    }
}
