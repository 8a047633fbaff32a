//! The task lifecycle (`[lifecycle]`: deploy and finish as steps of their own), restated on the
//! `task-lifecycle` model (source -> two-phase-commit sink, `tolerable_failures = 0`) and replayed
//! through the world (`world::apply` over scripted actions, each one enabled where it is taken,
//! every invariant checked after every step). Named after the Flink tests they restate where
//! one exists (`CheckpointCoordinatorTest`), otherwise after the rule of Flink's source they
//! assert (`Task.triggerCheckpointBarrier`, `StreamTask.afterInvoke`, FLIP-147's deployment of
//! tasks finished on restore).
//!
//! The rules: the plan calculator (`DefaultCheckpointPlanCalculator.checkTasksStarted` over the
//! tasks to wait for, Flink 2.3) refuses with NOT_ALL_REQUIRED_TASKS_RUNNING until every task it
//! waits for is RUNNING in the JobManager's view (its RUNNING report arrived), and that refusal
//! is not counted; a trigger reaching a task that is not RUNNING is declined with
//! CHECKPOINT_DECLINED_TASK_NOT_READY, one reaching a task whose mailbox closed for finishing
//! with CHECKPOINT_DECLINED_TASK_CLOSING, neither counted; a task ready to finish finishes in a
//! later step; a task finished in the restored checkpoint is deployed finished and never reads
//! its input again.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::coordinator::JobStatus;
use checkpoint_harness::ghost::LastStep;
use checkpoint_harness::protocol::{Barrier, CheckpointId, FailureReason, TaskId};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::task::{Task, TaskContext, TaskInput, TaskOutput, TaskStatus};
use checkpoint_harness::world::{Action, Rpc, RpcKind, World};

const SOURCE: TaskId = TaskId(0);
const SINK: TaskId = TaskId(1);

mod scripted;

scripted_run!(Run);

impl Run {
    fn new(bugs: &[Bug]) -> Run {
        Run::of(
            Spec::embedded("task-lifecycle")
                .expect("embedded")
                .with_bugs(BugSet::of(bugs)),
        )
    }

    /// The task's own lifecycle step (deploy, or finish).
    fn step_of(&mut self, task: TaskId) {
        self.take("the task's own step", |_, a| *a == Action::Emit { task });
    }

    fn deploy_all(&mut self) {
        self.step_of(SOURCE);
        self.step_of(SINK);
        self.deliver_rpc(RpcKind::TaskRunning, SOURCE);
        self.deliver_rpc(RpcKind::TaskRunning, SINK);
    }
}

/// CCT#testPeriodicSchedulingWithInactiveTasks: a periodic firing while the tasks are not
/// RUNNING creates nothing (and is not counted: tolerance 0 would fail the job); once they are
/// RUNNING the next firing creates a pending checkpoint.
#[test]
fn cct_test_periodic_scheduling_with_inactive_tasks() {
    let mut run = Run::new(&[]);
    assert!(run
        .world
        .tasks
        .iter()
        .all(|t| t.status == TaskStatus::Deploying));
    // The sink's RUNNING report arms the trigger (Flink's test starts the scheduler by hand);
    // the source is still deploying.
    run.step_of(SINK);
    run.deliver_rpc(RpcKind::TaskRunning, SINK);
    run.fire_periodic();
    assert!(run.world.coordinator.pending.is_empty());
    assert_eq!(
        run.world.coordinator.next_id,
        CheckpointId(1),
        "no id allocated"
    );
    assert_eq!(run.world.coordinator.job, JobStatus::Running);
    assert_eq!(run.world.coordinator.failure_manager.count, 0);
    assert!(run.world.coordinator.periodic_due.is_some(), "re-armed");
    run.step_of(SOURCE);
    run.deliver_rpc(RpcKind::TaskRunning, SOURCE);
    run.fire_periodic();
    assert_eq!(run.world.coordinator.pending.len(), 1);
    assert_eq!(run.violation, None);
}

/// Flink 2.3's scheduler start with tasks that deploy as steps of their own
/// (`ExecutionTrackingCheckpointCoordinatorDeActivator` and `DefaultExecutionGraph.
/// updateStateInternal`'s fallback, compared with the real coordinator by `conform`): while every
/// task deploys no periodic trigger is armed; the first RUNNING report arms it; the last one
/// makes the activator start the scheduler once more.
#[test]
fn the_periodic_trigger_waits_for_the_first_running_report() {
    let mut run = Run::new(&[]);
    assert!(!run.world.coordinator.periodic_scheduling);
    assert!(run.world.coordinator.periodic_due.is_none());
    assert_eq!(
        run.violation, None,
        "not armed is right while every task deploys"
    );
    run.step_of(SOURCE);
    assert!(
        run.world.coordinator.periodic_due.is_none(),
        "the report is still in flight"
    );
    run.deliver_rpc(RpcKind::TaskRunning, SOURCE);
    assert!(run.world.coordinator.periodic_scheduling);
    assert!(run.world.coordinator.periodic_due.is_some());
    assert!(!run.world.coordinator.activator_started);
    run.step_of(SINK);
    run.deliver_rpc(RpcKind::TaskRunning, SINK);
    assert!(run.world.coordinator.activator_started);
    assert!(run.world.coordinator.periodic_due.is_some());
    assert_eq!(run.violation, None);
}

/// CCT#testCheckpointAbortsIfTriggerTasksAreNotExecuted: the source is not RUNNING, so the
/// request fails: nothing pending, nothing completed, no RPC to a task.
#[test]
fn cct_test_checkpoint_aborts_if_trigger_tasks_are_not_executed() {
    let mut run = Run::new(&[]);
    run.step_of(SINK);
    run.deliver_rpc(RpcKind::TaskRunning, SINK);
    run.fire_periodic();
    assert!(run.world.coordinator.pending.is_empty());
    assert!(run.world.coordinator.store.entries.is_empty());
    assert!(!run
        .world
        .rpcs
        .iter()
        .any(|r| matches!(r, Rpc::Trigger { .. })));
    assert_eq!(run.world.coordinator.job, JobStatus::Running);
    assert_eq!(run.violation, None);
}

/// The plan reads the JobManager's view of the execution state, not the task's own: a source
/// that switched to RUNNING but whose report has not arrived yet still fails the plan.
#[test]
fn the_plan_waits_for_the_running_report_not_the_task_itself() {
    let mut run = Run::new(&[]);
    run.step_of(SOURCE);
    run.step_of(SINK);
    run.deliver_rpc(RpcKind::TaskRunning, SINK);
    assert_eq!(run.world.task(SOURCE).status, TaskStatus::Running);
    run.fire_periodic();
    assert!(run.world.coordinator.pending.is_empty());
    run.deliver_rpc(RpcKind::TaskRunning, SOURCE);
    run.fire_periodic();
    assert_eq!(run.world.coordinator.pending.len(), 1);
    assert_eq!(run.violation, None);
}

/// `Task.triggerCheckpointBarrier`: a trigger reaching a task whose own state is not RUNNING is
/// declined with CHECKPOINT_DECLINED_TASK_NOT_READY; a task whose mailbox closed for finishing
/// rejects it (CHECKPOINT_DECLINED_TASK_CLOSING).
#[test]
fn a_trigger_to_a_task_that_does_not_run_is_declined() {
    let spec = Spec::embedded("task-lifecycle").expect("embedded");
    let ctx = TaskContext {
        spec: &spec,
        task: SOURCE,
        now: 0,
    };
    let barrier = |id| Barrier {
        id: CheckpointId(id),
        timestamp: 0,
        kind: checkpoint_harness::protocol::SnapshotKind::Checkpoint,
        alignment: spec
            .checkpointing
            .alignment_for(checkpoint_harness::protocol::SnapshotKind::Checkpoint),
        full: false,
    };
    for (status, reason) in [
        (
            TaskStatus::Deploying,
            FailureReason::CheckpointDeclinedTaskNotReady,
        ),
        (
            TaskStatus::Finishing,
            FailureReason::CheckpointDeclinedTaskClosing,
        ),
    ] {
        let mut task = Task::new(&spec, SOURCE);
        task.status = status;
        let out = task.step(&ctx, TaskInput::Trigger(barrier(3)));
        assert_eq!(
            out,
            vec![TaskOutput::Decline {
                id: CheckpointId(3),
                reason
            }]
        );
        assert_eq!(task.last_checkpoint_id, CheckpointId::NONE, "no snapshot");
        assert!(task
            .step(&ctx, TaskInput::NotifyComplete(CheckpointId(3)))
            .is_empty());
    }
}

/// With `trigger-before-tasks-running` the plan skips the RUNNING check: the trigger reaches the
/// deploying source, which declines with TASK_NOT_READY; the decline aborts the checkpoint and is
/// not counted (tolerance 0: the job keeps running). The oracle names the bug.
#[test]
fn a_task_not_ready_decline_is_not_counted() {
    let mut run = Run::new(&[Bug::TriggerBeforeTasksRunning]);
    run.step_of(SINK);
    run.deliver_rpc(RpcKind::TaskRunning, SINK);
    run.fire_periodic();
    assert_eq!(run.world.coordinator.pending.len(), 1);
    assert_eq!(run.violation, Some("planned-with-tasks-running"));
    run.deliver_rpc(RpcKind::Trigger, SOURCE);
    assert!(run.world.rpcs.iter().any(|r| matches!(
        r,
        Rpc::Decline {
            reason: FailureReason::CheckpointDeclinedTaskNotReady,
            ..
        }
    )));
    run.deliver_rpc(RpcKind::Decline, SOURCE);
    assert!(run.world.coordinator.pending.is_empty());
    assert_eq!(run.world.coordinator.job, JobStatus::Running);
    assert_eq!(run.world.coordinator.failure_manager.count, 0);
}

/// FLIP-147 (`StreamTask.afterInvoke`): a task whose final checkpoint completed is ready to
/// finish and finishes in a later step; a trigger reaching it meanwhile (the coordinator plans
/// it as a task without running predecessors) is declined with TASK_CLOSING, not counted; then
/// it finishes, reports it, and the job finishes.
#[test]
fn ready_to_finish_then_finished_and_the_trigger_between_is_declined() {
    let mut run = Run::new(&[]);
    run.deploy_all();
    // Run until the sink is ready to finish, never taking its finishing step.
    run.run_until(
        |w| w.task(SINK).status == TaskStatus::Finishing,
        |w, a| *a == Action::Emit { task: SINK } && w.task(SINK).status == TaskStatus::Finishing,
    );
    if !run.world.coordinator.finished_tasks.contains(SOURCE) {
        run.deliver_rpc(RpcKind::TaskFinished, SOURCE);
    }
    run.fire_periodic();
    run.deliver_rpc(RpcKind::Trigger, SINK);
    assert_eq!(run.world.task(SINK).status, TaskStatus::Finishing);
    run.deliver_rpc(RpcKind::Decline, SINK);
    assert!(run.world.coordinator.pending.is_empty());
    assert_eq!(run.world.coordinator.job, JobStatus::Running);
    assert_eq!(run.world.coordinator.failure_manager.count, 0);
    run.step_of(SINK);
    assert_eq!(run.world.task(SINK).status, TaskStatus::Finished);
    run.run_until(|w| w.job_done(), |_, _| false);
    assert_eq!(run.violation, None);
}

/// FLIP-147: a checkpoint completed after the source finished records it as finished; a crash
/// restores from it, the source is deployed finished and never reads its input again, and the
/// job finishes with its output exactly once.
#[test]
fn a_task_restored_as_finished_does_not_read_its_input_again() {
    let mut run = Run::new(&[]);
    run.deploy_all();
    // Until the coordinator knows the source finished; the sink does not see the source's end
    // of partition yet, so it still runs.
    let end_of_partition_to_sink = |w: &World, a: &Action| {
        matches!(a, Action::Deliver { channel } if matches!(
            w.channels[channel.0 as usize].front(),
            Some(checkpoint_harness::protocol::ChannelEvent::EndOfPartition)
        ))
    };
    run.run_until(
        |w| w.coordinator.finished_tasks.contains(SOURCE) && w.coordinator.pending.is_empty(),
        end_of_partition_to_sink,
    );
    // A checkpoint with the source finished: only the sink is triggered.
    run.fire_periodic();
    run.run_until(
        |w| {
            w.coordinator
                .store
                .latest()
                .is_some_and(|c| c.finished.contains(SOURCE))
        },
        end_of_partition_to_sink,
    );
    run.take("the sink crashes", |_, a| {
        *a == Action::Crash { task: SINK }
    });
    let before = run.taken.len();
    run.take(
        "the failure report restarts the job",
        |_, a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::TaskFailed),
    );
    assert!(run.world.last.has(LastStep::RESTORED_FINISHED));
    assert_eq!(run.world.task(SOURCE).status, TaskStatus::Finished);
    assert_eq!(run.world.task(SINK).status, TaskStatus::Deploying);
    run.run_until(|w| w.job_done(), |_, _| false);
    assert!(
        !run.taken[before..].contains(&Action::Emit { task: SOURCE }),
        "the source restored as finished read its input again"
    );
    assert_eq!(run.violation, None);
}
