package checkpointharness.conformance;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.OperatorIDPair;
import org.apache.flink.runtime.blob.VoidBlobWriter;
import org.apache.flink.runtime.checkpoint.CheckpointCoordinator;
import org.apache.flink.runtime.checkpoint.CheckpointCoordinatorDeActivator;
import org.apache.flink.runtime.checkpoint.CheckpointException;
import org.apache.flink.runtime.checkpoint.CheckpointFailureManager;
import org.apache.flink.runtime.checkpoint.CheckpointFailureReason;
import org.apache.flink.runtime.checkpoint.CheckpointMetrics;
import org.apache.flink.runtime.checkpoint.CheckpointScheduling;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.DefaultCheckpointPlanCalculator;
import org.apache.flink.runtime.checkpoint.NoOpCheckpointStatsTracker;
import org.apache.flink.runtime.checkpoint.OperatorCoordinatorCheckpointContext;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.TaskStateSnapshot;
import org.apache.flink.runtime.checkpoint.VertexFinishedStateChecker;
import org.apache.flink.runtime.deployment.TaskDeploymentDescriptorFactory;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.DefaultExecutionGraph;
import org.apache.flink.runtime.executiongraph.DefaultExecutionGraphBuilder;
import org.apache.flink.runtime.executiongraph.DefaultVertexAttemptNumberStore;
import org.apache.flink.runtime.executiongraph.Execution;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.executiongraph.ExecutionGraphCheckpointPlanCalculatorContext;
import org.apache.flink.runtime.executiongraph.ExecutionJobVertex;
import org.apache.flink.runtime.executiongraph.ExecutionVertex;
import org.apache.flink.runtime.executiongraph.NoOpExecutionDeploymentListener;
import org.apache.flink.runtime.executiongraph.TaskExecutionStateTransition;
import org.apache.flink.runtime.executiongraph.failover.FailoverStrategy;
import org.apache.flink.runtime.executiongraph.failover.RestartAllFailoverStrategy;
import org.apache.flink.runtime.executiongraph.failover.RestartPipelinedRegionFailoverStrategy;
import org.apache.flink.runtime.io.network.partition.JobMasterPartitionTracker;
import org.apache.flink.runtime.io.network.partition.ResultPartitionType;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.operators.coordination.OperatorCoordinator;
import org.apache.flink.runtime.jobgraph.JobType;
import org.apache.flink.runtime.jobmanager.slots.TaskManagerGateway;
import org.apache.flink.runtime.messages.checkpoint.AcknowledgeCheckpoint;
import org.apache.flink.runtime.messages.checkpoint.DeclineCheckpoint;
import org.apache.flink.runtime.metrics.groups.UnregisteredMetricGroups;
import org.apache.flink.runtime.scheduler.InternalFailuresListener;
import org.apache.flink.runtime.scheduler.SchedulerBase;
import org.apache.flink.runtime.scheduler.SchedulerNG;
import org.apache.flink.runtime.scheduler.VertexEndOfDataListener;
import org.apache.flink.runtime.scheduler.adaptivebatch.NonAdaptiveExecutionPlanSchedulingContext;
import org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler;
import org.apache.flink.runtime.scheduler.stopwithsavepoint.StopWithSavepointTerminationHandlerImpl;
import org.apache.flink.runtime.scheduler.stopwithsavepoint.StopWithSavepointTerminationManager;
import org.apache.flink.runtime.scheduler.strategy.ExecutionVertexID;
import org.apache.flink.runtime.shuffle.NettyShuffleMaster;
import org.apache.flink.runtime.shuffle.ShuffleMasterContextImpl;
import org.apache.flink.runtime.taskmanager.TaskExecutionState;
import org.apache.flink.util.FlinkException;
import org.apache.flink.util.concurrent.FutureUtils;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * One JobManager incarnation: a real DefaultExecutionGraph, a real CheckpointCoordinator wired to
 * it the way {@code DefaultExecutionGraph.enableCheckpointing} wires its own, and the parts of
 * {@code SchedulerBase}/{@code DefaultScheduler} that touch checkpointing, re-enacted step by step
 * (Flink's scheduler itself needs a slot pool and a cluster, so its calls are repeated here in the
 * order Flink makes them).
 */
final class JobMaster {
    static final Logger LOG = LoggerFactory.getLogger(JobMaster.class);
    static final Executor DIRECT = Runnable::run;
    static final String SAVEPOINT_TARGET = "memory://driver-savepoints";
    private static final ClassLoader CL = JobMaster.class.getClassLoader();

    /** SchedulerNG and CheckpointScheduling at once, for StopWithSavepointTerminationHandlerImpl. */
    interface SchedulerFacade extends SchedulerNG, CheckpointScheduling {}

    final Script s;
    final VirtualExecutor exec;
    final CheckpointsCleaner cleaner = new CheckpointsCleaner();
    final DefaultExecutionGraph graph;
    final CheckpointFailureManager failureManager;
    final CheckpointCoordinator coordinator;
    /** The operator coordinators this JobManager's CheckpointCoordinator checkpoints. */
    private final List<OperatorCoordinatorCheckpointContext> operatorCoordinators;
    final VertexEndOfDataListener endOfData;
    final FailoverStrategy failover;
    final Reflect.RequestQueueHandle requests;
    final TaskManagerGateway gateway;
    private long slotSeq;
    private final Set<ExecutionVertexID> waitingForRestart = new HashSet<>();
    private final Map<ExecutionVertexID, Long> versions = new HashMap<>();

    JobMaster(Script s) throws Exception {
        this.s = s;
        this.exec = new VirtualExecutor(s.clock, s::exception);
        this.gateway = Fakes.gateway(s);
        JobGraph jobGraph = s.jobGraph();

        // DefaultExecutionGraphFactory.createAndRestoreExecutionGraph -> buildGraph (no checkpoint
        // settings on the JobGraph, so it does not build a coordinator of its own)
        this.graph = DefaultExecutionGraphBuilder.buildGraph(
                jobGraph,
                new Configuration(),
                exec.asService(),
                DIRECT,
                CL,
                s.store,
                cleaner,
                s.counter,
                Duration.ofSeconds(10),
                VoidBlobWriter.getInstance(),
                LOG,
                new NettyShuffleMaster(new ShuffleMasterContextImpl(new Configuration(), t -> s.exception(t))),
                Fakes.defaults(JobMasterPartitionTracker.class),
                TaskDeploymentDescriptorFactory.PartitionLocationConstraint.fromJobType(JobType.STREAMING),
                NoOpExecutionDeploymentListener.get(),
                (attempt, from, to) -> {},
                0L,
                new DefaultVertexAttemptNumberStore(),
                SchedulerBase.computeVertexParallelismStore(jobGraph),
                NoOpCheckpointStatsTracker.INSTANCE,
                false,
                new org.apache.flink.runtime.executiongraph.ExecutionJobVertex.Factory(),
                ResultPartitionType::isBlockingOrBlockingPersistentResultPartition,
                false,
                UnregisteredMetricGroups.createUnregisteredJobManagerJobMetricGroup(),
                NonAdaptiveExecutionPlanSchedulingContext.INSTANCE);

        // DefaultExecutionGraph.enableCheckpointing, with our timer, clock and I/O executor
        this.failureManager = new CheckpointFailureManager(s.tolerable, new CheckpointFailureManager.FailJobCallback() {
            @Override
            public void failJob(Throwable cause) {
                s.failJob("job", null, cause);
                if (s.failJobFailover) {
                    exec.execute(() -> graph.failGlobal(cause));
                }
            }

            @Override
            public void failJobDueToTaskFailure(Throwable cause, ExecutionAttemptID failingTask) {
                s.failJob("task", failingTask, cause);
                if (s.failJobFailover) {
                    exec.execute(() -> {
                        // DefaultExecutionGraph.failGlobalIfExecutionIsStillRunning
                        Execution failed = graph.getRegisteredExecutions().get(failingTask);
                        if (failed != null && (failed.getState() == ExecutionState.RUNNING || failed.getState() == ExecutionState.INITIALIZING)) {
                            graph.failGlobal(cause);
                        }
                    });
                }
            }
        });
        this.operatorCoordinators = s.coordinators();
        this.coordinator = new CheckpointCoordinator(
                Script.JOB_ID,
                s.chkConfig,
                operatorCoordinators,
                s.counter,
                s.store,
                s.storage,
                DIRECT,
                cleaner,
                exec,
                failureManager,
                new DefaultCheckpointPlanCalculator(
                        Script.JOB_ID,
                        new ExecutionGraphCheckpointPlanCalculatorContext(graph),
                        graph.getVerticesTopologically(),
                        s.chkConfig.isEnableCheckpointsAfterTasksFinish()),
                s.clock,
                NoOpCheckpointStatsTracker.INSTANCE,
                VertexFinishedStateChecker::new);
        this.requests = Reflect.interceptRequests(coordinator, s);
        Reflect.setField(graph, "checkpointCoordinator", coordinator);
        if (coordinator.isPeriodicCheckpointingConfigured()) {
            CheckpointCoordinatorDeActivator deActivator = coordinator.createActivatorDeactivator(true);
            graph.registerJobStatusListener(deActivator);
            graph.registerExecutionStateUpdateListener(deActivator);
        }

        // SchedulerBase.createAndRestoreExecutionGraph, after the factory
        graph.setInternalTaskFailuresListener(new InternalFailuresListener() {
            @Override
            public void notifyTaskFailure(ExecutionAttemptID attemptId, Throwable t, boolean cancelTask, boolean releasePartitions) {
                updateTaskExecutionState(new TaskExecutionStateTransition(
                        new TaskExecutionState(attemptId, ExecutionState.FAILED, t), cancelTask, releasePartitions));
            }

            @Override
            public void notifyGlobalFailure(Throwable cause) {
                handleGlobalFailure(cause);
            }
        });
        graph.start(exec);
        this.endOfData = new VertexEndOfDataListener(graph);
        this.failover = s.regionFailover
                ? new RestartPipelinedRegionFailoverStrategy(graph.getSchedulingTopology())
                : new RestartAllFailoverStrategy(graph.getSchedulingTopology());
        // the JobMaster shuts the checkpoint services down once the job is globally terminal
        final Faults.Store store = s.store; // this leader's (a new leader gets its own)
        graph.getTerminationFuture().thenAccept(status -> {
            if (status.isGloballyTerminalState()) {
                exec.execute(() -> {
                    try {
                        store.shutdown(status, cleaner);
                        s.counter.shutdown(status);
                    } catch (Exception e) {
                        s.exception(e);
                    }
                });
            }
        });
    }

    // ------------------------------------------------------------------ tasks

    ExecutionVertex vertex(int task) {
        int v = s.vertexOf(task);
        return graph.getJobVertex(s.vertexIds[v]).getTaskVertices()[task - s.vertexBase[v]];
    }

    Execution current(int task) {
        return vertex(task).getCurrentExecutionAttempt();
    }

    List<ExecutionVertex> allVertices() {
        List<ExecutionVertex> l = new ArrayList<>();
        for (int t = 0; t < s.numTasks; t++) {
            l.add(vertex(t));
        }
        return l;
    }

    private List<ExecutionVertex> sorted(Collection<ExecutionVertexID> ids) {
        List<ExecutionVertex> l = new ArrayList<>();
        for (int t = 0; t < s.numTasks; t++) {
            ExecutionVertex ev = vertex(t);
            if (ids.contains(ev.getID())) {
                l.add(ev);
            }
        }
        return l;
    }

    /** DefaultScheduler.startSchedulingInternal: the job goes RUNNING, then all tasks deploy. */
    void startScheduling(boolean running) {
        graph.transitionToRunning();
        deploy(allVertices(), running);
    }

    /**
     * DefaultExecutionDeployer without a cluster: SCHEDULED, slot, produced partitions, DEPLOYING;
     * then (if {@code running}) the TaskManager reports INITIALIZING and RUNNING for each task.
     */
    void deploy(List<ExecutionVertex> vertices, boolean running) {
        for (ExecutionVertex ev : vertices) {
            ev.getCurrentExecutionAttempt().transitionState(ExecutionState.SCHEDULED);
        }
        for (ExecutionVertex ev : vertices) {
            Execution e = ev.getCurrentExecutionAttempt();
            if (!e.tryAssignResource(Fakes.slot(gateway, ++slotSeq))) {
                throw new IllegalStateException("could not assign a slot to " + s.taskName(e.getAttemptId()));
            }
            e.registerProducedPartitions(Fakes.LOCATION);
            e.transitionState(ExecutionState.DEPLOYING);
        }
        if (running) {
            for (ExecutionVertex ev : vertices) {
                report(ev.getCurrentExecutionAttempt(), ExecutionState.INITIALIZING);
            }
            for (ExecutionVertex ev : vertices) {
                report(ev.getCurrentExecutionAttempt(), ExecutionState.RUNNING);
            }
        }
    }

    /** A TaskManager's updateTaskExecutionState(state) for the given attempt. */
    boolean report(Execution e, ExecutionState state) {
        return updateTaskExecutionState(new TaskExecutionStateTransition(new TaskExecutionState(e.getAttemptId(), state)));
    }

    boolean reportFailed(Execution e, Throwable cause) {
        return updateTaskExecutionState(new TaskExecutionStateTransition(new TaskExecutionState(e.getAttemptId(), ExecutionState.FAILED, cause)));
    }

    /** SchedulerBase.updateTaskExecutionState + onTaskExecutionStateUpdate. */
    boolean updateTaskExecutionState(TaskExecutionStateTransition t) {
        Execution e = graph.getRegisteredExecutions().get(t.getID());
        if (e != null && graph.updateState(t)) {
            if (e.getState() == t.getExecutionState() && t.getExecutionState() == ExecutionState.FAILED) {
                Throwable error = t.getError(CL);
                handleTaskFailure(e, error);
            }
            return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ failover (DefaultScheduler)

    void handleTaskFailure(Execution failed, Throwable error) {
        restartTasksWithDelay(failover.getTasksNeedingRestart(failed.getVertex().getID(), error), false);
    }

    void handleGlobalFailure(Throwable error) {
        if (ExecutionFailureHandler.isUnrecoverableError(error)) {
            // DefaultScheduler.maybeRestartTasks: the failure handler refuses to restart (e.g.
            // StopWithSavepointStoppingException, FLINK-26783), so the job fails.
            failJob(error);
            return;
        }
        Set<ExecutionVertexID> all = new LinkedHashSet<>();
        for (ExecutionVertex ev : allVertices()) {
            all.add(ev.getID());
        }
        restartTasksWithDelay(all, true);
    }

    /**
     * SchedulerBase.failJob: every vertex's version moves on (restarts already queued are
     * dropped), then ExecutionGraph.failJob: FAILING, every execution cancelled (the
     * TaskManagers confirm at once), FAILED.
     */
    private void failJob(Throwable error) {
        for (ExecutionVertex ev : allVertices()) {
            versions.put(ev.getID(), versions.getOrDefault(ev.getID(), 0L) + 1);
        }
        waitingForRestart.clear();
        graph.failJob(error, s.clock.absoluteTimeMillis());
        for (ExecutionVertex ev : allVertices()) {
            Execution e = ev.getCurrentExecutionAttempt();
            if (e.getState() == ExecutionState.CANCELING) {
                report(e, ExecutionState.CANCELED);
            }
        }
    }

    private void restartTasksWithDelay(Set<ExecutionVertexID> toRestart, boolean global) {
        Map<ExecutionVertexID, Long> recorded = new HashMap<>();
        for (ExecutionVertexID id : toRestart) {
            long v = versions.getOrDefault(id, 0L) + 1;
            versions.put(id, v);
            recorded.put(id, v);
        }
        waitingForRestart.addAll(toRestart);
        graph.transitionState(JobStatus.RUNNING, JobStatus.RESTARTING);
        List<ExecutionVertex> vertices = sorted(toRestart);
        for (ExecutionVertex ev : vertices) {
            ev.getCurrentExecutionAttempt().cancel();
        }
        // the TaskManagers confirm the cancellation at once
        for (ExecutionVertex ev : vertices) {
            Execution e = ev.getCurrentExecutionAttempt();
            if (e.getState() == ExecutionState.CANCELING) {
                report(e, ExecutionState.CANCELED);
            }
        }
        final boolean running = s.restartRunning;
        Runnable restart = new RestartTasks(recorded, global, running);
        if (s.delayedRestarts > 0) {
            // a non-atomic restart of the model: it runs on a `restart` input, or never (the
            // JobManager loses leadership first)
            s.delayedRestarts--;
            exec.schedule(restart, DELAYED_RESTART_MS, TimeUnit.MILLISECONDS);
        } else if (s.restartDelay <= 0) {
            exec.execute(restart);
        } else {
            exec.schedule(restart, s.restartDelay, TimeUnit.MILLISECONDS);
        }
    }

    /** A delayed restart's timer: far beyond any script's clock, so only `restart` fires it. */
    static final long DELAYED_RESTART_MS = 1_000_000_000_000L;

    /** Fires the armed delayed restart, if any. */
    boolean fireRestart() {
        for (VirtualExecutor.Timer t : exec.timers()) {
            if (t.task instanceof RestartTasks) {
                exec.fire(t);
                return true;
            }
        }
        return false;
    }

    /** DefaultScheduler.restartTasks (a named class so the driver can show it as a timer). */
    final class RestartTasks implements Runnable {
        final Map<ExecutionVertexID, Long> recorded;
        final boolean global;
        final boolean running;

        RestartTasks(Map<ExecutionVertexID, Long> recorded, boolean global, boolean running) {
            this.recorded = recorded;
            this.global = global;
            this.running = running;
        }

        @Override
        public void run() {
            Set<ExecutionVertexID> toRestart = new HashSet<>();
            for (Map.Entry<ExecutionVertexID, Long> e : recorded.entrySet()) {
                if (versions.getOrDefault(e.getKey(), 0L).equals(e.getValue())) {
                    toRestart.add(e.getKey());
                }
            }
            if (toRestart.isEmpty()) {
                return;
            }
            waitingForRestart.removeAll(toRestart);
            if (waitingForRestart.isEmpty()) {
                graph.transitionState(JobStatus.RESTARTING, JobStatus.RUNNING);
            }
            List<ExecutionVertex> vertices = sorted(toRestart);
            for (ExecutionVertex ev : vertices) {
                ev.resetForNewExecution();
            }
            try {
                restoreState(toRestart, global);
            } catch (Throwable t) {
                s.exception(t);
                handleGlobalFailure(t);
                return;
            }
            deploy(vertices, running);
        }
    }

    /** SchedulerBase.restoreState. */
    private void restoreState(Set<ExecutionVertexID> vertices, boolean global) throws Exception {
        endOfData.restoreVertices(vertices);
        CheckpointCoordinator cc = graph.getCheckpointCoordinator();
        if (cc == null) {
            return;
        }
        cc.abortPendingCheckpoints(new CheckpointException(CheckpointFailureReason.JOB_FAILOVER_REGION));
        Set<ExecutionJobVertex> jobVertices = new HashSet<>();
        for (ExecutionVertex ev : sorted(vertices)) {
            jobVertices.add(ev.getJobVertex());
        }
        if (global) {
            long latest = s.store.getLatestCheckpointId();
            boolean restored = cc.restoreLatestCheckpointedStateToAll(jobVertices, true);
            s.restored("to_all", restored ? latest : null, jobVertices);
        } else {
            OptionalLong id = cc.restoreLatestCheckpointedStateToSubtasks(jobVertices);
            s.restored("to_subtasks", id.isPresent() ? id.getAsLong() : null, jobVertices);
            // SchedulerBase.notifyCoordinatorsOfSubtaskRestore: the checkpoint coordinator does
            // not reset operator coordinators in a local failover, the scheduler tells them
            // which subtasks were restored (in ascending order here; Flink's follows a set).
            long restoredId = id.isPresent() ? id.getAsLong() : OperatorCoordinator.NO_CHECKPOINT;
            for (ExecutionVertex ev : sorted(vertices)) {
                if (s.coordinatorVertex >= 0 && ev.getJobvertexId().equals(s.vertexIds[s.coordinatorVertex])) {
                    for (OperatorCoordinatorCheckpointContext c : operatorCoordinators) {
                        c.subtaskReset(ev.getParallelSubtaskIndex(), restoredId);
                    }
                }
            }
        }
    }

    /** DefaultExecutionGraphFactory: restoreInitialCheckpointIfPresent right after building the graph. */
    void restoreInitial(boolean report) throws Exception {
        long latest = s.store.getLatestCheckpointId();
        Set<ExecutionJobVertex> all = new HashSet<>(graph.getAllVertices().values());
        boolean restored = coordinator.restoreInitialCheckpointIfPresent(all);
        if (report) {
            s.restored("initial", restored ? latest : null, all);
        }
    }

    /** A bare CheckpointCoordinator.restoreLatestCheckpointedStateToAll on the current attempts. */
    void restoreDirect() throws Exception {
        long latest = s.store.getLatestCheckpointId();
        Set<ExecutionJobVertex> all = new HashSet<>(graph.getAllVertices().values());
        boolean restored = coordinator.restoreLatestCheckpointedStateToAll(all, false);
        s.restored("to_all", restored ? latest : null, all);
    }

    /** The old JobMaster loses leadership: the graph is suspended; its process then dies. */
    void suspendForFailover() {
        graph.suspend(new FlinkException("JobManager failover (driver)"));
        exec.kill();
    }

    // ------------------------------------------------------------------ requests (SchedulerBase)

    CompletableFuture<CompletedCheckpoint> triggerCheckpoint(CheckpointType type) {
        CheckpointCoordinator cc = graph.getCheckpointCoordinator();
        if (cc == null) {
            throw new IllegalStateException(String.format("Job %s is not a streaming job.", Script.JOB_ID));
        }
        return cc.triggerCheckpoint(type);
    }

    CompletableFuture<CompletedCheckpoint> triggerSavepoint(SavepointFormatType format) {
        CheckpointCoordinator cc = graph.getCheckpointCoordinator();
        StopWithSavepointTerminationManager.checkSavepointActionPreconditions(cc, SAVEPOINT_TARGET, Script.JOB_ID, LOG);
        return cc.triggerSavepoint(SAVEPOINT_TARGET, format);
    }

    CompletableFuture<CompletedCheckpoint> stopWithSavepoint(boolean drain, SavepointFormatType format) {
        CheckpointCoordinator cc = graph.getCheckpointCoordinator();
        StopWithSavepointTerminationManager.checkSavepointActionPreconditions(cc, SAVEPOINT_TARGET, Script.JOB_ID, LOG);
        stopCheckpointScheduler();
        List<CompletableFuture<ExecutionState>> terminal = new ArrayList<>();
        for (ExecutionVertex ev : allVertices()) {
            terminal.add(ev.getCurrentExecutionAttempt().getTerminalStateFuture());
        }
        CompletableFuture<Collection<ExecutionState>> terminations = FutureUtils.combineAll(terminal);
        CompletableFuture<CompletedCheckpoint> savepoint = cc.triggerSynchronousSavepoint(drain, SAVEPOINT_TARGET, format);
        new StopWithSavepointTerminationManager(new StopWithSavepointTerminationHandlerImpl(Script.JOB_ID, facade(), LOG))
                .stopWithSavepoint(savepoint, terminations, exec);
        return savepoint;
    }

    void stopCheckpointScheduler() {
        CheckpointCoordinator cc = graph.getCheckpointCoordinator();
        if (cc != null) {
            cc.stopCheckpointScheduler();
        }
    }

    void startCheckpointScheduler() {
        CheckpointCoordinator cc = graph.getCheckpointCoordinator();
        if (cc != null && cc.isPeriodicCheckpointingConfigured()) {
            try {
                cc.startCheckpointScheduler();
            } catch (IllegalStateException ignored) {
                // as SchedulerBase: the coordinator may have been shut down concurrently
            }
        }
    }

    private SchedulerFacade facade() {
        return (SchedulerFacade) Proxy.newProxyInstance(CL, new Class<?>[] {SchedulerFacade.class}, (proxy, m, args) -> {
            switch (m.getName()) {
                case "startCheckpointScheduler":
                    startCheckpointScheduler();
                    return null;
                case "stopCheckpointScheduler":
                    stopCheckpointScheduler();
                    return null;
                case "handleGlobalFailure":
                    handleGlobalFailure((Throwable) args[0]);
                    return null;
                default:
                    return Fakes.defaultFor(proxy, m, args);
            }
        });
    }

    /** SchedulerBase.notifyEndOfData (checkpointing after tasks finish is the driver's premise). */
    void notifyEndOfData(Execution e) {
        if (!s.chkConfig.isEnableCheckpointsAfterTasksFinish()) {
            return;
        }
        ExecutionAttemptID id = e.getAttemptId();
        endOfData.recordTaskEndOfData(id);
        if (endOfData.areAllTasksOfJobVertexEndOfData(id.getJobVertexId())) {
            CheckpointCoordinator cc = graph.getCheckpointCoordinator();
            if (cc != null) {
                for (OperatorIDPair pair : graph.getJobVertex(id.getJobVertexId()).getOperatorIDs()) {
                    cc.setIsProcessingBacklog(pair.getGeneratedOperatorID(), false);
                }
            }
        }
        if (endOfData.areAllTasksEndOfData()) {
            s.watch("e" + (++s.endOfDataSeq), triggerCheckpoint(CheckpointType.CONFIGURED));
        }
    }

    // ------------------------------------------------------------------ task messages

    /**
     * ExecutionGraphHandler.acknowledgeCheckpoint (the I/O executor is direct here). With
     * {@code setup.incremental} a stateful task's operators carry keyed incremental state naming
     * the shared files it uploaded and reused ({@link SharedFiles#keyedState}).
     */
    void acknowledge(ExecutionAttemptID attempt, long id, boolean withState, List<String> uploaded, List<String> reused)
            throws Exception {
        CheckpointCoordinator cc = graph.getCheckpointCoordinator();
        if (cc == null) {
            s.ignored("no CheckpointCoordinator");
            return;
        }
        // a stateless task acknowledges with null (as Flink's AsyncCheckpointRunnable does); a
        // stateful one with an OperatorSubtaskState for each operator of its vertex
        TaskStateSnapshot snapshot = null;
        if (withState) {
            snapshot = new TaskStateSnapshot();
            ExecutionJobVertex vertex = graph.getJobVertex(attempt.getJobVertexId());
            for (OperatorIDPair pair : vertex.getOperatorIDs()) {
                OperatorSubtaskState.Builder state = OperatorSubtaskState.builder();
                if (!uploaded.isEmpty() || !reused.isEmpty()) {
                    int task = s.taskOf(attempt);
                    state.setManagedKeyedState(SharedFiles.keyedState(task, attempt.getSubtaskIndex(),
                            vertex.getParallelism(), vertex.getMaxParallelism(), id, uploaded, reused, s));
                }
                snapshot.putSubtaskStateByOperatorID(pair.getGeneratedOperatorID(), state.build());
            }
        }
        boolean r = cc.receiveAcknowledgeMessage(
                new AcknowledgeCheckpoint(Script.JOB_ID, attempt, id, new CheckpointMetrics(), snapshot), "driver-tm");
        s.ackReturned(r);
    }

    void decline(ExecutionAttemptID attempt, long id, CheckpointFailureReason reason) {
        CheckpointCoordinator cc = graph.getCheckpointCoordinator();
        if (cc == null) {
            s.ignored("no CheckpointCoordinator");
            return;
        }
        cc.receiveDeclineMessage(
                new DeclineCheckpoint(Script.JOB_ID, attempt, id, new CheckpointException(reason)), "driver-tm");
    }
}
