//! Behaviours found by comparing the model's coordinator with Flink 2.3's real
//! `CheckpointCoordinator` (`conform`, the Java driver in `conformance/`), replayed against the
//! model's step function (`Coordinator::step`) and, where the world decides, `World::timers`.
//!
//! Every test is named after what real Flink did and starts with a comment quoting that
//! behaviour and the Flink class and method it comes from (read in the decompiled 2.3.0 classes).
//! The conformance sweep is the oracle; these tests pin each behaviour so that a change to the
//! model that loses it fails here, without Java.

use checkpoint_harness::coordinator::{
    Coordinator, CoordinatorContext, CoordinatorEvent, CoordinatorInput, CoordinatorOutput,
    JobStatus, Outputs, UserRequest,
};
use checkpoint_harness::protocol::{CheckpointId, FailureReason, SnapshotKind, TaskId, Tick};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::task::operator::OperatorState;
use checkpoint_harness::task::TaskSnapshot;
use checkpoint_harness::world::{Timer, World};

/// source -> map -> two-phase-commit sink, one subtask each (tasks 0, 1, 2).
const LINEAR: &str = r#"
name = "conformance-scenario"

[[operators]]
name = "source"
kind = "source"
records = 2

[[operators]]
name = "map"
kind = "map"

[[operators]]
name = "sink"
kind = "two-phase-commit-sink"

[[edges]]
from = "source"
to = "map"

[[edges]]
from = "map"
to = "sink"
"#;

const SOURCE: TaskId = TaskId(0);
const MAP: TaskId = TaskId(1);
const SINK: TaskId = TaskId(2);

fn linear(checkpointing: &str) -> Spec {
    let text = format!("{LINEAR}\n[checkpointing]\n{checkpointing}\n");
    Spec::parse("tests/scenarios_conformance.rs", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// One coordinator with its model and a clock.
struct Job {
    spec: Spec,
    c: Coordinator,
    now: Tick,
}

impl Job {
    fn new(checkpointing: &str) -> Job {
        let spec = linear(checkpointing);
        let c = Coordinator::new(&spec, 0);
        Job { spec, c, now: 0 }
    }

    fn run(&mut self, input: CoordinatorInput, storage_write_fails: bool) -> Outputs {
        let ctx = CoordinatorContext {
            spec: &self.spec,
            now: self.now,
            storage_write_fails,
        };
        self.c.step(&ctx, input)
    }

    fn step(&mut self, input: CoordinatorInput) -> Outputs {
        self.run(input, false)
    }

    fn at(&mut self, now: Tick) {
        assert!(now >= self.now, "time goes forward");
        self.now = now;
    }

    /// The periodic trigger fires at its due time (the trigger phase finished, if one began).
    fn fire(&mut self) -> Outputs {
        let due = self.c.periodic_due.expect("the periodic trigger is armed");
        self.at(due.max(self.now));
        let mut out = self.step(CoordinatorInput::PeriodicTimer);
        if self.c.coordinator_snapshot.is_some() {
            out.extend(self.step(CoordinatorInput::TriggerPhaseDone));
        }
        out
    }

    fn request(&mut self, request: UserRequest) -> Outputs {
        let mut out = self.step(CoordinatorInput::User(request));
        if self.c.coordinator_snapshot.is_some() {
            out.extend(self.step(CoordinatorInput::TriggerPhaseDone));
        }
        out
    }

    fn ack(&mut self, task: TaskId, id: u32, storage_write_fails: bool) -> Outputs {
        let attempt = self.c.attempt;
        let snapshot = TaskSnapshot {
            operator: OperatorState::initial(self.spec.task(task), self.spec.key_space),
            channel_state: Vec::new(),
            shared: Vec::new(),
        };
        self.run(
            CoordinatorInput::Ack {
                task,
                attempt,
                id: CheckpointId(id),
                snapshot: snapshot.into(),
            },
            storage_write_fails,
        )
    }

    fn end_of_data(&mut self, task: TaskId) -> Outputs {
        let attempt = self.c.attempt;
        self.step(CoordinatorInput::EndOfData { task, attempt })
    }

    fn task_failed(&mut self, task: TaskId) -> Outputs {
        let attempt = self.c.attempt;
        self.step(CoordinatorInput::TaskFailed { task, attempt })
    }

    fn pending_ids(&self) -> Vec<u32> {
        self.c.pending.iter().map(|p| p.id.0).collect()
    }
}

fn events(out: &[CoordinatorOutput]) -> impl Iterator<Item = &CoordinatorEvent> {
    out.iter().filter_map(|o| match o {
        CoordinatorOutput::Event(event) => Some(event),
        _ => None,
    })
}

fn allocated(out: &[CoordinatorOutput]) -> Vec<u32> {
    events(out)
        .filter_map(|e| match e {
            CoordinatorEvent::Allocated(id, _) => Some(id.0),
            _ => None,
        })
        .collect()
}

fn aborted(out: &[CoordinatorOutput]) -> Vec<(u32, FailureReason)> {
    events(out)
        .filter_map(|e| match e {
            CoordinatorEvent::Aborted { id, reason, .. } => Some((id.0, *reason)),
            _ => None,
        })
        .collect()
}

fn request_failures(out: &[CoordinatorOutput]) -> Vec<(SnapshotKind, FailureReason)> {
    events(out)
        .filter_map(|e| match e {
            CoordinatorEvent::RequestFailed { kind, reason } => Some((*kind, *reason)),
            _ => None,
        })
        .collect()
}

fn count(out: &[CoordinatorOutput], what: fn(&CoordinatorOutput) -> bool) -> usize {
    out.iter().filter(|o| what(o)).count()
}

fn job_failures(out: &[CoordinatorOutput]) -> usize {
    count(out, |o| {
        matches!(
            o,
            CoordinatorOutput::Event(CoordinatorEvent::FailedByFailureManager)
        )
    })
}

fn restores(out: &[CoordinatorOutput]) -> usize {
    count(out, |o| matches!(o, CoordinatorOutput::Restore { .. }))
}

fn storage_faults_consumed(out: &[CoordinatorOutput]) -> usize {
    count(out, |o| {
        matches!(o, CoordinatorOutput::StorageFaultConsumed)
    })
}

fn triggered_ids(out: &[CoordinatorOutput]) -> Vec<u32> {
    let mut ids: Vec<u32> = out
        .iter()
        .filter_map(|o| match o {
            CoordinatorOutput::TriggerTask { barrier, .. } => Some(barrier.id.0),
            _ => None,
        })
        .collect();
    ids.dedup();
    ids
}

// Flink 2.3 (conform coordinator-faults seed 317): CheckpointCoordinator.abortPendingCheckpoint
// disposes the checkpoint, whose clean-up runs `scheduleTriggerRequest` (executeQueuedRequest
// queued on the timer thread); the CheckpointFailureManager's fail-job callback then queues
// `failGlobal` on the main thread (DefaultExecutionGraph's FailJobCallback), and the `finally`
// schedules another executeQueuedRequest behind it. The first run picks the queued user request
// before the failover, but its plan (DefaultCheckpointPlanCalculator, a main-thread task) is
// calculated after the tasks were cancelled: it fails NOT_ALL_REQUIRED_TASKS_RUNNING without an
// id. Its `onTriggerFailure` runs after the restart and picks the next request, whose storage
// location fails (IO_EXCEPTION, counted: the job fails again); `onTriggerFailure`'s `finally`
// releases isTriggering and runs executeQueuedRequest at once, ahead of the second `failGlobal`,
// so the third request also finds its tasks cancelled. One injected fault fails one write.
#[test]
fn queued_requests_picked_ahead_of_a_failure_manager_failover_find_their_tasks_cancelled() {
    let mut job = Job::new(
        r#"
interval = 100
timeout = 300
max_concurrent = 2
tolerable_failures = 0
"#,
    );
    // A first failover, so that the scheduler activator no longer stops the scheduler.
    assert_eq!(allocated(&job.fire()), vec![1]);
    job.task_failed(MAP);
    assert!(job.c.failed_over);
    assert_eq!(allocated(&job.fire()), vec![2]);
    assert_eq!(allocated(&job.fire()), vec![3]);
    // At max concurrency: a periodic request, a user request and another periodic one queue.
    assert!(job.fire().is_empty());
    assert!(job.request(UserRequest::ManualCheckpoint).is_empty());
    assert!(job.fire().is_empty());
    assert_eq!(job.c.queue.len(), 3);

    let expiry = job.c.pending(CheckpointId(3)).unwrap().expires_at;
    job.at(expiry);
    let out = job.run(CoordinatorInput::CheckpointTimeout(CheckpointId(3)), true);

    assert_eq!(
        aborted(&out),
        vec![
            (3, FailureReason::CheckpointExpired),
            (2, FailureReason::JobFailover),
            (4, FailureReason::IoException),
        ]
    );
    assert_eq!(
        allocated(&out),
        vec![4],
        "only the request after the restart"
    );
    assert_eq!(
        request_failures(&out),
        vec![
            (
                SnapshotKind::Checkpoint,
                FailureReason::NotAllRequiredTasksRunning
            ),
            (
                SnapshotKind::Checkpoint,
                FailureReason::NotAllRequiredTasksRunning
            ),
        ]
    );
    assert_eq!(job_failures(&out), 2);
    assert_eq!(restores(&out), 2);
    assert_eq!(storage_faults_consumed(&out), 1);
    assert!(job.c.queue.is_empty());
    assert!(job.c.pending.is_empty());
    assert!(!job.c.is_triggering);
    assert!(
        job.c.timer_queue.is_empty(),
        "nothing is left queued after a step"
    );
}

// Flink 2.3 (conform coordinator-faults): a `storage_fault` makes one storage write fail. When
// CheckpointCoordinator.completePendingCheckpoint fails to finalize (FINALIZE_CHECKPOINT_FAILURE)
// the abort's executeQueuedRequest runs start the queued request, and its storage location
// (CheckpointCoordinator.initializeCheckpointLocation) is written without a fault: it triggers.
#[test]
fn one_storage_fault_fails_one_write_and_the_queued_request_then_triggers() {
    let mut job = Job::new(
        r#"
interval = 100
max_concurrent = 1
tolerable_failures = "unlimited"
"#,
    );
    assert_eq!(allocated(&job.fire()), vec![1]);
    assert!(job.request(UserRequest::ManualCheckpoint).is_empty());
    assert_eq!(job.c.queue.len(), 1);
    job.ack(SOURCE, 1, false);
    job.ack(MAP, 1, false);
    let mut out = job.ack(SINK, 1, true);
    if job.c.coordinator_snapshot.is_some() {
        out.extend(job.step(CoordinatorInput::TriggerPhaseDone));
    }
    assert_eq!(
        aborted(&out),
        vec![(1, FailureReason::FinalizeCheckpointFailure)]
    );
    assert_eq!(storage_faults_consumed(&out), 1);
    assert_eq!(allocated(&out), vec![2]);
    assert_eq!(triggered_ids(&out), vec![2]);
    assert_eq!(job.pending_ids(), vec![2]);
}

// Flink 2.3 (conform savepoints-2pc seed 15): SchedulerBase.notifyEndOfData calls
// CheckpointCoordinator.setIsProcessingBacklog(op, false) for every operator of a vertex whose
// subtasks all reported end of data; that re-arms the periodic trigger (`rescheduleTrigger`) one
// non-backlog interval from now whenever it would otherwise fire later — also when it is not
// armed at all because stop-with-savepoint stopped the scheduler (SchedulerBase.stopWithSavepoint
// -> stopCheckpointScheduler). It does not start the scheduler: the re-armed ScheduledTrigger
// re-arms itself on every run and submits a periodic request, which `preCheckGlobalState` fails
// with PERIODIC_SCHEDULER_SHUTDOWN (not counted).
#[test]
fn end_of_data_re_arms_the_periodic_trigger_of_a_stopped_scheduler() {
    let mut job = Job::new(
        r#"
interval = 100
max_concurrent = 2
tolerable_failures = "unlimited"
"#,
    );
    assert_eq!(allocated(&job.fire()), vec![1]);
    let out = job.request(UserRequest::StopWithSavepoint);
    assert_eq!(allocated(&out), vec![2]);
    assert_eq!(job.c.job, JobStatus::StoppingWithSavepoint);
    assert!(!job.c.periodic_scheduling);
    assert_eq!(job.c.periodic_due, None);

    // The source's vertex is complete: re-armed, scheduler still stopped.
    job.at(150);
    job.end_of_data(SOURCE);
    assert_eq!(job.c.periodic_due, Some(250));
    assert!(!job.c.periodic_scheduling);

    // The world fires it although the scheduler is stopped.
    let mut world = World::initial(&job.spec);
    world.coordinator = job.c.clone();
    world.now = job.now;
    assert!(world.timers(&job.spec).contains(&(250, Timer::Periodic)));

    let out = job.fire();
    assert_eq!(
        request_failures(&out),
        vec![(
            SnapshotKind::Checkpoint,
            FailureReason::PeriodicSchedulerShutdown
        )]
    );
    assert!(allocated(&out).is_empty());
    assert_eq!(job.c.periodic_due, Some(350), "the trigger re-armed itself");
    assert_eq!(job.c.failure_manager.count, 0);
    assert_eq!(job.pending_ids(), vec![2]);
}
