//! Region failover (`[failover] strategy = "region"`, Flink's default), restated on the
//! `region-failover` model (a source forward into a two-phase-commit sink at parallelism 2: two
//! pipelined regions, {source#0, sink#0} and {source#1, sink#1}) and replayed through the world
//! (`world::apply` over scripted actions, each enabled where it is taken, every invariant
//! checked after every step) or the coordinator's step function. Named after the Flink tests
//! they restate where one exists (`CheckpointFailureManagerTest#testContinuousFailure`,
//! `CheckpointCoordinatorTest#testResetCalledInRegionRecovery`), otherwise after the rule of the
//! reference (§3.1, rule 22) and of Flink's source they assert (`SchedulerBase.restoreState`,
//! `SchedulingPipelinedRegionComputeUtil`, `ExecutionAttemptID`).

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::coordinator::{
    Coordinator, CoordinatorContext, CoordinatorEvent, CoordinatorInput, CoordinatorOutput,
    JobStatus,
};
use checkpoint_harness::ghost::LastStep;
use checkpoint_harness::invariants;
use checkpoint_harness::protocol::{
    Attempt, ChannelEvent, CheckpointId, FailureReason, TaskId, TaskSet,
};
use checkpoint_harness::spec::{FailoverStrategy, Spec};
use checkpoint_harness::task::Task;
use checkpoint_harness::world::{self, Action, Rpc, RpcKind};

const SOURCE_0: TaskId = TaskId(0);
const SOURCE_1: TaskId = TaskId(1);
const SINK_0: TaskId = TaskId(2);
const SINK_1: TaskId = TaskId(3);

/// The embedded model's text with `changes` applied (each `(from, to)` replaced once).
fn model(changes: &[(&str, &str)]) -> Spec {
    let (_, text) = checkpoint_harness::spec::EMBEDDED_MODELS
        .iter()
        .find(|(n, _)| *n == "region-failover")
        .expect("embedded");
    let mut text = text.to_string();
    for (from, to) in changes {
        assert!(text.contains(from), "{from} in the model");
        text = text.replacen(from, to, 1);
    }
    Spec::parse("region-failover-test", &text).expect("a valid model")
}

/// Two crashes (so the second failover is not the job run's first), two checkpoints in flight.
fn two_crashes(tolerable: &str) -> Spec {
    model(&[
        ("task_crashes = 1", "task_crashes = 2"),
        ("max_concurrent = 1", "max_concurrent = 2"),
        (
            "tolerable_failures = \"unlimited\"",
            &format!("tolerable_failures = {tolerable}"),
        ),
    ])
}

mod scripted;

scripted_run!(Run);

impl Run {
    fn new(spec: Spec) -> Run {
        Run::of(spec)
    }

    fn emit(&mut self, task: TaskId) {
        self.take("the source emits", |_, a| *a == Action::Emit { task });
    }

    fn deliver_channel_into(&mut self, task: TaskId) {
        let spec = &self.spec;
        let channel = spec.task(task).inputs[0].channel;
        self.take("the channel's head is delivered", |_, a| {
            *a == Action::Deliver { channel }
        });
    }

    fn crash(&mut self, task: TaskId) {
        self.take("the crash", |_, a| *a == Action::Crash { task });
    }

    fn rpcs_to(&self, kind: RpcKind) -> TaskSet {
        let mut tasks = TaskSet::default();
        for rpc in &self.world.rpcs {
            let key = rpc.key();
            if key.kind == kind {
                tasks.insert(key.task);
            }
        }
        tasks
    }
}

fn set(tasks: &[TaskId]) -> TaskSet {
    let mut set = TaskSet::default();
    for t in tasks {
        set.insert(*t);
    }
    set
}

/// Reference §3.1: in a streaming job every exchange is pipelined, so a pipelined region is a
/// connected component of the subtask graph: a forward edge joins only matched subtasks (one
/// region per parallel pipeline), an all-to-all edge every subtask of both operators.
#[test]
fn regions_are_the_connected_components_of_the_subtask_graph() {
    let spec = model(&[]);
    assert_eq!(
        spec.regions,
        vec![set(&[SOURCE_0, SINK_0]), set(&[SOURCE_1, SINK_1])]
    );
    assert_eq!(spec.region_of(SINK_1), set(&[SOURCE_1, SINK_1]));
    let hashed = model(&[("partitioning = \"forward\"", "partitioning = \"hash\"")]);
    assert_eq!(hashed.regions, vec![TaskSet::all(4)]);
    // The keyed join's all-to-all edges make the default model one region.
    let default = Spec::default_model();
    assert_eq!(default.regions, vec![default.all_tasks()]);
}

/// Full failover stays the default of the model files; the region strategy is rejected, naming
/// its key, where a partial restart is not modelled.
#[test]
fn full_failover_stays_the_default_and_region_refuses_what_it_does_not_model() {
    assert_eq!(
        Spec::embedded("linear").expect("embedded").failover,
        FailoverStrategy::Full
    );
    let (_, text) = checkpoint_harness::spec::EMBEDDED_MODELS
        .iter()
        .find(|(n, _)| *n == "split-source")
        .expect("embedded");
    let error = Spec::parse(
        "x.toml",
        &format!("{text}\n[failover]\nstrategy = \"region\"\n"),
    )
    .expect_err("split-source with region failover");
    assert_eq!(error.key, "failover.strategy");
    assert!(error.reason.contains("split-source"), "{}", error.reason);
    let error = Spec::parse(
        "x.toml",
        &format!("{text}\n[failover]\nstrategy = \"regions\"\n"),
    )
    .expect_err("an unknown strategy");
    assert!(error.key.starts_with("failover"), "{}", error.key);
}

/// `SchedulerBase.restoreState(vertices, isGlobalRecovery = false)`: a task failure restarts
/// only its region, from the latest completed checkpoint (`restoreLatestCheckpointedStateToSubtasks`);
/// the other region's tasks keep their state, their channel contents and their attempt, and the
/// job stays RUNNING.
#[test]
fn a_task_failure_restarts_only_its_region() {
    let mut run = Run::new(model(&[]));
    // The surviving region is mid-stream: sink#1 consumed a record, another is in flight.
    run.emit(SOURCE_1);
    run.deliver_channel_into(SINK_1);
    run.emit(SOURCE_1);
    run.emit(SOURCE_0);
    let survivors_before: Vec<Task> = [SOURCE_1, SINK_1]
        .iter()
        .map(|t| run.world.task(*t).clone())
        .collect();
    let channel_1 = run.spec.task(SINK_1).inputs[0].channel;
    let channel_0 = run.spec.task(SINK_0).inputs[0].channel;
    let in_flight = run.world.channels[channel_1.0 as usize].clone();
    assert!(!in_flight.is_empty());
    let attempt_before = run.world.coordinator.attempt_of(SOURCE_1);

    run.crash(SOURCE_0);
    run.deliver_rpc(RpcKind::TaskFailed, SOURCE_0);
    assert!(run.world.last.has(LastStep::REGION_RESTORED));
    assert_eq!(run.world.ghost.restored, set(&[SOURCE_0, SINK_0]));
    assert_eq!(run.world.coordinator.job, JobStatus::Running);
    for (t, before) in [SOURCE_1, SINK_1].iter().zip(&survivors_before) {
        assert_eq!(run.world.task(*t), before, "{t:?} kept everything");
    }
    assert_eq!(run.world.channels[channel_1.0 as usize], in_flight);
    assert!(
        run.world.channels[channel_0.0 as usize].is_empty(),
        "the region's channel is cleared"
    );
    assert_eq!(run.world.coordinator.attempt_of(SOURCE_1), attempt_before);
    assert_ne!(run.world.coordinator.attempt_of(SOURCE_0), attempt_before);
    assert_eq!(
        run.world.coordinator.attempt_of(SOURCE_0),
        run.world.coordinator.attempt_of(SINK_0)
    );
    // Nothing completed yet: the region starts from scratch (NO_CHECKPOINT).
    assert_eq!(run.world.task(SOURCE_0), &Task::new(&run.spec, SOURCE_0));
    run.run_until(|w| w.job_done(), |_, _| false);
    assert_eq!(run.violation, None);
}

/// CCT#testResetCalledInRegionRecovery, the part this model has (no master hooks): a region
/// restore with an empty store restores nothing and reports NO_CHECKPOINT; the restarted
/// subtasks start empty and the coordinator is not reset (its store and id counter stay).
#[test]
fn cct_test_reset_called_in_region_recovery() {
    let spec = model(&[]);
    let mut c = Coordinator::new(&spec, 0);
    let ctx = CoordinatorContext {
        spec: &spec,
        now: 0,
        storage_write_fails: false,
    };
    let out = c.step(
        &ctx,
        CoordinatorInput::TaskFailed {
            task: SINK_1,
            attempt: c.attempt,
        },
    );
    let restores: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            CoordinatorOutput::RestoreRegion { checkpoint, tasks } => {
                Some((checkpoint.as_ref().map(|c| c.id), *tasks))
            }
            CoordinatorOutput::Restore { .. } => panic!("a global restore"),
            _ => None,
        })
        .collect();
    assert_eq!(restores, vec![(None, set(&[SOURCE_1, SINK_1]))]);
    assert!(out.iter().any(|o| matches!(
        o,
        CoordinatorOutput::Event(CoordinatorEvent::Restored { id: None, .. })
    )));
    assert_eq!(c.job, JobStatus::Running);
    assert_eq!(c.next_id, CheckpointId(1));
}

/// Attempts are per execution (`ExecutionAttemptID`): a failure report of a restarted task's old
/// attempt is dropped, one of a surviving task's unchanged attempt still fails its region. Flink
/// numbers the attempts per execution vertex, so each region's restarted tasks get their own
/// next attempt, whatever the other region went through (found by conformance with real Flink
/// on two region restarts, `traces/conformance/two-region-restarts.json`).
#[test]
fn reports_of_a_restarted_tasks_old_attempt_are_dropped_a_survivors_are_not() {
    let spec = two_crashes("\"unlimited\"");
    let mut c = Coordinator::new(&spec, 0);
    let ctx = CoordinatorContext {
        spec: &spec,
        now: 0,
        storage_write_fails: false,
    };
    let first = c.attempt;
    let restored = |out: &[CoordinatorOutput]| {
        out.iter()
            .filter(|o| matches!(o, CoordinatorOutput::RestoreRegion { .. }))
            .count()
    };
    let failed = |task| CoordinatorInput::TaskFailed {
        task,
        attempt: first,
    };
    assert_eq!(restored(&c.step(&ctx, failed(SOURCE_0))), 1);
    assert_eq!(restored(&c.step(&ctx, failed(SINK_0))), 0, "old attempt");
    assert_eq!(restored(&c.step(&ctx, failed(SINK_1))), 1, "a survivor");
    let next = Attempt(first.0 + 1);
    for task in [SOURCE_0, SINK_0, SOURCE_1, SINK_1] {
        assert_eq!(c.attempt_of(task), next, "task {task:?}: restarted once");
    }
    assert_eq!(restored(&c.step(&ctx, failed(SINK_1))), 0, "old attempt");
    assert_eq!(
        restored(&c.step(
            &ctx,
            CoordinatorInput::TaskFailed {
                task: SINK_1,
                attempt: next
            }
        )),
        1,
        "the survivor's own next attempt"
    );
    assert_eq!(c.attempt_of(SINK_1), Attempt(first.0 + 2));
    assert_eq!(
        c.attempt_of(SINK_0),
        next,
        "the other region keeps its attempts"
    );
}

/// Rule 22 / `SchedulerBase.restoreState`: the region restart aborts every pending checkpoint,
/// also the part the surviving region acknowledged; the notifications reach the survivors only
/// (the restarted tasks' executions in the plan are cancelled). On the job run's first failover
/// the execution-tracking activator's stop comes first (CHECKPOINT_COORDINATOR_SUSPEND).
#[test]
fn a_region_restart_aborts_every_pending_checkpoint_and_notifies_the_survivors() {
    let mut run = Run::new(model(&[]));
    run.fire_periodic();
    run.deliver_rpc(RpcKind::Trigger, SOURCE_1);
    run.deliver_channel_into(SINK_1); // sink#1 aligns and acknowledges
    run.deliver_rpc(RpcKind::Ack, SINK_1);
    assert_eq!(run.world.coordinator.pending.len(), 1);
    run.crash(SOURCE_0);
    run.deliver_rpc(RpcKind::TaskFailed, SOURCE_0);
    assert!(run.world.coordinator.pending.is_empty());
    assert!(run.world.ghost.aborted.contains(CheckpointId(1)));
    assert_eq!(
        run.rpcs_to(RpcKind::NotifyAborted),
        set(&[SOURCE_1, SINK_1])
    );
    assert_eq!(run.rpcs_to(RpcKind::Trigger), TaskSet::default());
    assert_eq!(run.violation, None);
}

/// CFM#testContinuousFailure's JOB_FAILOVER_REGION: after the job run's first failover the
/// scheduler keeps running and a region restart aborts with JOB_FAILOVER_REGION, which the
/// failure manager does not count: with no tolerance the job still does not fail over again.
#[test]
fn cfm_test_continuous_failure_job_failover_region_is_not_counted() {
    let mut run = Run::new(two_crashes("0"));
    run.crash(SINK_1);
    run.deliver_rpc(RpcKind::TaskFailed, SINK_1);
    assert!(run.world.coordinator.failed_over);
    run.fire_periodic();
    assert_eq!(run.world.coordinator.pending.len(), 1);
    let attempt = run.world.coordinator.attempt;
    run.crash(SOURCE_0);
    let events = {
        let action = world::enabled(&run.spec, &run.world)
            .into_iter()
            .find(|a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == RpcKind::TaskFailed))
            .expect("the failure report");
        let (after, events) = world::apply_traced(&run.spec, &run.world, action).expect("enabled");
        run.world = after;
        events
    };
    let aborted: Vec<FailureReason> = events
        .iter()
        .filter_map(|e| match e {
            world::StepEvent::Coordinator(CoordinatorEvent::Aborted { reason, .. }) => {
                Some(*reason)
            }
            _ => None,
        })
        .collect();
    assert_eq!(aborted, vec![FailureReason::JobFailover]);
    assert_eq!(run.world.coordinator.failure_manager.count, 0);
    assert_eq!(run.world.coordinator.job, JobStatus::Running);
    assert!(
        run.world.coordinator.periodic_due.is_some(),
        "still scheduled"
    );
    assert_eq!(run.world.coordinator.attempt.0, attempt.0 + 1);
    assert!(invariants::check_all(&run.spec, &run.oracle, &run.world).is_ok());
}

/// Rule 20 across a region restart: a surviving task that hears of the abort before the
/// checkpoint's barrier skips that checkpoint (it never acknowledges it); the survivors' later
/// checkpoint spans them and the restarted region, and the job finishes exactly once.
#[test]
fn a_survivor_skips_the_checkpoint_it_heard_aborted_before_its_barrier() {
    let mut run = Run::new(model(&[]));
    run.fire_periodic();
    run.deliver_rpc(RpcKind::Trigger, SOURCE_1);
    let channel_1 = run.spec.task(SINK_1).inputs[0].channel;
    assert!(matches!(
        run.world.channels[channel_1.0 as usize].back(),
        Some(ChannelEvent::Barrier(_))
    ));
    run.crash(SINK_0);
    run.deliver_rpc(RpcKind::TaskFailed, SINK_0);
    run.deliver_rpc(RpcKind::NotifyAborted, SINK_1);
    assert!(run.world.last.has(LastStep::SURVIVOR_ABORT_BEFORE_BARRIER));
    run.deliver_channel_into(SINK_1); // the barrier of the aborted checkpoint
    assert!(!run.world.rpcs.iter().any(|r| matches!(
        r,
        Rpc::Ack { task, id, .. } if *task == SINK_1 && *id == CheckpointId(1)
    )));
    run.run_until(|w| !w.coordinator.store.entries.is_empty(), |_, _| false);
    let latest = run.world.coordinator.store.latest().expect("completed");
    assert!(latest.id > CheckpointId(1));
    for task in [SOURCE_0, SOURCE_1, SINK_0, SINK_1] {
        assert!(
            latest.snapshot(task).is_some() || latest.finished.contains(task),
            "{task:?} in the checkpoint"
        );
    }
    run.run_until(|w| w.job_done(), |_, _| false);
    assert_eq!(run.violation, None);
}

/// The catalogued `region-splits-at-forward-edges`: regions computed without the forward edge
/// restart a failed source alone; its sink keeps what it consumed after the restored
/// checkpoint, and the oracle, judging the restored task's whole declared component, sees it.
#[test]
fn regions_split_at_forward_edges_leave_a_connected_sink_running_on_rewound_input() {
    let spec = model(&[]).with_bugs(BugSet::of(&[Bug::RegionSplitsAtForwardEdges]));
    let mut run = Run::new(spec);
    run.emit(SOURCE_0);
    run.deliver_channel_into(SINK_0);
    run.crash(SOURCE_0);
    run.deliver_rpc(RpcKind::TaskFailed, SOURCE_0);
    assert_eq!(run.world.ghost.restored, set(&[SOURCE_0]));
    assert_eq!(run.violation, Some("restored-state-exactly-once"));
}

/// The catalogued `region-restart-keeps-attempts`: with the restarted tasks' attempts kept, a
/// report of a cancelled execution (here its failure report, delivered twice) is taken for the
/// restarted one and restarts the region again.
#[test]
fn a_region_restart_that_keeps_attempts_takes_a_cancelled_executions_report() {
    let spec =
        two_crashes("\"unlimited\"").with_bugs(BugSet::of(&[Bug::RegionRestartKeepsAttempts]));
    let mut c = Coordinator::new(&spec, 0);
    let ctx = CoordinatorContext {
        spec: &spec,
        now: 0,
        storage_write_fails: false,
    };
    let failed = CoordinatorInput::TaskFailed {
        task: SOURCE_0,
        attempt: c.attempt,
    };
    for _ in 0..2 {
        let out = c.step(&ctx, failed.clone());
        assert!(out
            .iter()
            .any(|o| matches!(o, CoordinatorOutput::RestoreRegion { .. })));
    }
}

/// The region non-vacuity properties are demanded only of models with survivors to have: with
/// region failover on a job that is one region (every edge all-to-all), a region restart
/// restarts every task and neither can be reached.
#[test]
fn the_region_properties_apply_only_with_two_regions() {
    let applies = |spec: &Spec| {
        [
            "checkpoint-spans-region-restart",
            "survivor-aborted-before-barrier",
        ]
        .map(|name| {
            let property = invariants::PROPERTIES
                .iter()
                .find(|p| p.name == name)
                .expect("listed");
            property.applies(spec)
        })
    };
    assert_eq!(applies(&model(&[])), [true, true]);
    let one_region = model(&[("partitioning = \"forward\"", "partitioning = \"hash\"")]);
    assert_eq!(applies(&one_region), [false, false]);
}

/// Flink 2.3's `VertexEndOfDataListener` (read in `flink-dist-2.3.0.jar`'s bytecode; found by
/// comparing region failover with real Flink): `areAllTasksEndOfData` removes every vertex it
/// finds complete, and `restoreVertices` gives a removed vertex an empty bit set. So after a
/// region restart the survivors' end-of-data reports are forgotten and the restarted tasks' new
/// reports request no end-of-data checkpoint; that holds too when only the sources had ended
/// (the source vertex, walked first, was removed). A full restart starts the listener afresh.
#[test]
fn vertex_end_of_data_listener_forgets_the_survivors_of_a_region_restart() {
    let spec = model(&[]);
    let ctx = CoordinatorContext {
        spec: &spec,
        now: 0,
        storage_write_fails: false,
    };
    let report = |c: &mut Coordinator, task: TaskId| {
        let attempt = c.attempt_of(task);
        c.step(&ctx, CoordinatorInput::EndOfData { task, attempt });
    };
    let fail = |c: &mut Coordinator, task: TaskId| {
        let attempt = c.attempt_of(task);
        let out = c.step(&ctx, CoordinatorInput::TaskFailed { task, attempt });
        assert!(
            out.iter()
                .any(|o| matches!(o, CoordinatorOutput::RestoreRegion { .. })),
            "{out:?}"
        );
    };

    // Every task ended: one request; then region {source#0, sink#0} restarts and ends again.
    let mut c = Coordinator::new(&spec, 0);
    let before = c.request_seq;
    for task in [SOURCE_0, SOURCE_1, SINK_0] {
        report(&mut c, task);
    }
    assert_eq!(c.request_seq, before, "three of four tasks ended");
    report(&mut c, SINK_1);
    assert_eq!(c.request_seq, before + 1, "every task ended: requested");
    fail(&mut c, SINK_0);
    report(&mut c, SOURCE_0);
    report(&mut c, SINK_0);
    assert_eq!(
        c.request_seq,
        before + 1,
        "the survivors' reports were forgotten: no second request"
    );

    // Only the sources ended when the region restarts: the source vertex was removed already.
    let mut c = Coordinator::new(&spec, 0);
    report(&mut c, SOURCE_0);
    report(&mut c, SOURCE_1);
    fail(&mut c, SINK_0);
    for task in [SOURCE_0, SINK_0, SINK_1] {
        report(&mut c, task);
    }
    assert_eq!(c.request_seq, before, "source#1's report was forgotten");

    // The same before any vertex is complete: nothing was removed, only the restarted bits go.
    let mut c = Coordinator::new(&spec, 0);
    report(&mut c, SOURCE_1);
    fail(&mut c, SINK_0);
    for task in [SOURCE_0, SINK_0, SINK_1] {
        report(&mut c, task);
    }
    assert_eq!(
        c.request_seq,
        before + 1,
        "every task's report is held: requested"
    );

    // A restarted task's report is cleared by the restart: the vertex is complete only once it
    // reports again, not when the survivors catch up.
    let mut c = Coordinator::new(&spec, 0);
    report(&mut c, SOURCE_0);
    fail(&mut c, SINK_0);
    for task in [SOURCE_1, SINK_0, SINK_1] {
        report(&mut c, task);
    }
    assert_eq!(
        c.request_seq, before,
        "source#0 was restarted: its report is gone"
    );
    report(&mut c, SOURCE_0);
    assert_eq!(c.request_seq, before + 1, "source#0 ended again: requested");
}
