package checkpointharness.conformance;

import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.CheckpointCoordinator;
import org.apache.flink.runtime.checkpoint.CheckpointException;
import org.apache.flink.runtime.checkpoint.CheckpointFailureManager;
import org.apache.flink.runtime.checkpoint.CheckpointFailureReason;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.checkpoint.CheckpointPlan;
import org.apache.flink.runtime.checkpoint.CheckpointRetentionPolicy;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.JobManagerTaskRestore;
import org.apache.flink.runtime.checkpoint.OperatorCoordinatorCheckpointContext;
import org.apache.flink.runtime.checkpoint.PendingCheckpoint;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.runtime.checkpoint.SnapshotType;
import org.apache.flink.runtime.checkpoint.StandaloneCheckpointIDCounter;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.Execution;
import org.apache.flink.runtime.messages.Acknowledge;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.executiongraph.ExecutionJobVertex;
import org.apache.flink.runtime.executiongraph.ExecutionVertex;
import org.apache.flink.runtime.io.network.partition.ResultPartitionType;
import org.apache.flink.runtime.jobgraph.DistributionPattern;
import org.apache.flink.runtime.jobgraph.IntermediateDataSetID;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobType;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.runtime.jobgraph.JobVertexID;
import org.apache.flink.runtime.jobgraph.tasks.CheckpointCoordinatorConfiguration;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.util.AbstractID;
import org.apache.flink.util.ExceptionUtils;
import org.apache.flink.util.clock.ManualClock;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/** One script: its topology and configuration, the shared store and id counter, and the current JobManager. */
final class Script implements Session, Fakes.GatewayListener, Reflect.RequestListener, SharedFiles.Listener {
    static final JobID JOB_ID = new JobID(0x636b70742d6a6f62L, 1L);
    static final ObjectMapper M = new ObjectMapper();
    private static final int DRAIN_LIMIT = 1_000_000;
    private static final int FIRE_LIMIT = 100_000;

    /** An input that is illegal in the current state: reported as {"error":...}, with no effect. */
    static final class BadInput extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadInput(String message) {
            super(message, null, false, false);
        }
    }

    // topology
    final String[] names;
    final int[] parallelism;
    final int[] maxParallelism;
    final int[] vertexBase;
    final JobVertexID[] vertexIds;
    final Map<JobVertexID, Integer> vertexIndex = new HashMap<>();
    final int numTasks;
    private final List<int[]> edges = new ArrayList<>(); // {from, to, pointwise?1:0}

    // configuration
    final CheckpointCoordinatorConfiguration chkConfig;
    final int tolerable;
    final boolean autoDrain;
    final boolean failJobFailover;
    final boolean regionFailover;
    /**
     * Setup {@code incremental}: acknowledgements carry keyed incremental state naming the
     * model's shared files (input keys {@code uploaded} and {@code reused}).
     */
    final boolean incremental;
    /** Setup {@code running}: the first deployment's tasks report RUNNING at once. */
    final boolean initiallyRunning;
    /** The vertex with an operator coordinator ({@link RecordingCoordinator}), or -1. */
    final int coordinatorVertex;
    final long restartDelay;
    /** Restarts still to be delayed until a {@code restart} input (the model's non-atomic ones). */
    int delayedRestarts;
    boolean restartRunning = true; // per failover input

    // state shared by all JobManager incarnations of this script
    /**
     * Virtual time 0 is this far into the clock: Flink's relative clock has an arbitrary origin
     * (System.nanoTime), so "last completion at relative time 0" means long ago, and the first
     * periodic checkpoint is never held back by the minimum pause. Times in the schema are virtual.
     */
    static final long T0 = 1_000_000_000L;

    final ManualClock clock = new ManualClock(T0 * 1_000_000L);
    final Faults faults = new Faults();
    /** HA storage's store; a new leader gets a new one over what it recovers ({@code jm_failover}). */
    Faults.Store store;
    final StandaloneCheckpointIDCounter counter = new StandaloneCheckpointIDCounter();
    final Faults.Storage storage = faults.new Storage();
    private final Map<Integer, Integer> rpcFaults = new HashMap<>();
    /** Open futures of trigger RPCs by "task/id", for `trigger_failed` (lookup only, never iterated). */
    private final Map<String, CompletableFuture<Acknowledge>> openTriggers = new HashMap<>();
    private final Set<String> handles = new HashSet<>();
    int periodicSeq;
    int endOfDataSeq;
    private long requestSeq;
    JobMaster jm;

    /** Outputs of the current input, in the order they were produced. */
    private ArrayNode out = M.createArrayNode();

    Script(JsonNode setup) {
        JsonNode vs = setup.path("vertices");
        if (!vs.isArray() || vs.size() == 0) {
            throw new BadInput("setup.vertices must be a non-empty array");
        }
        int n = vs.size();
        names = new String[n];
        parallelism = new int[n];
        maxParallelism = new int[n];
        vertexBase = new int[n];
        vertexIds = new JobVertexID[n];
        Map<String, Integer> byName = new HashMap<>();
        int base = 0;
        for (int i = 0; i < n; i++) {
            JsonNode v = vs.get(i);
            names[i] = v.path("name").asText("v" + i);
            if (byName.put(names[i], i) != null) {
                throw new BadInput("duplicate vertex name " + names[i]);
            }
            parallelism[i] = intField(v, "parallelism", 1);
            if (parallelism[i] < 1 || parallelism[i] > 1024) {
                throw new BadInput("vertex " + names[i] + ": parallelism must be in 1..1024");
            }
            maxParallelism[i] = intField(v, "max_parallelism", Math.max(128, parallelism[i]));
            vertexBase[i] = base;
            base += parallelism[i];
            // The upper part's two halves cancel in AbstractID.hashCode, so the hash is i + 1
            // and every HashMap keyed by vertex id walks the vertices in declared order: the
            // order the model's end-of-data listener walks (VertexEndOfDataListener removes the
            // complete vertices it walks past; src/system/coordinator/end_of_data.rs).
            vertexIds[i] = new JobVertexID(0x7665727476657274L, i + 1);
            vertexIndex.put(vertexIds[i], i);
        }
        numTasks = base;
        for (JsonNode e : setup.path("edges")) {
            int from = vertexRef(e.path("from"), byName);
            int to = vertexRef(e.path("to"), byName);
            if (from >= to) {
                throw new BadInput("edge " + names[from] + "->" + names[to] + ": vertices must be listed in topological order");
            }
            String p = e.path("pattern").asText("all_to_all");
            int pointwise;
            switch (p) {
                case "pointwise":
                case "forward":
                case "rescale":
                    pointwise = 1;
                    break;
                case "all_to_all":
                case "hash":
                case "rebalance":
                case "broadcast":
                    pointwise = 0;
                    break;
                default:
                    throw new BadInput("unknown edge pattern " + p);
            }
            edges.add(new int[] {from, to, pointwise});
        }

        JsonNode c = setup.path("checkpointing");
        JsonNode interval = c.path("interval");
        long intervalMs = interval.isMissingNode() || interval.isNull() ? Long.MAX_VALUE : interval.asLong();
        int tol = intField(c, "tolerable_failures", 0);
        this.tolerable = tol < 0 ? CheckpointFailureManager.UNLIMITED_TOLERABLE_FAILURE_NUMBER : tol;
        CheckpointRetentionPolicy retention;
        switch (c.path("retention").asText("never")) {
            case "never":
                retention = CheckpointRetentionPolicy.NEVER_RETAIN_AFTER_TERMINATION;
                break;
            case "on_failure":
                retention = CheckpointRetentionPolicy.RETAIN_ON_FAILURE;
                break;
            case "on_cancellation":
                retention = CheckpointRetentionPolicy.RETAIN_ON_CANCELLATION;
                break;
            default:
                throw new BadInput("checkpointing.retention must be never|on_failure|on_cancellation");
        }
        try {
            this.chkConfig = CheckpointCoordinatorConfiguration.builder()
                    .setCheckpointInterval(intervalMs)
                    .setCheckpointIntervalDuringBacklog(intervalMs)
                    .setCheckpointTimeout(c.path("timeout").asLong(600_000L))
                    .setMinPauseBetweenCheckpoints(c.path("min_pause").asLong(0L))
                    .setMaxConcurrentCheckpoints(intField(c, "max_concurrent", 1))
                    .setCheckpointRetentionPolicy(retention)
                    .setExactlyOnce(c.path("exactly_once").asBoolean(true))
                    .setTolerableCheckpointFailureNumber(this.tolerable)
                    .setUnalignedCheckpointsEnabled(c.path("unaligned").asBoolean(false))
                    .setAlignedCheckpointTimeout(c.path("aligned_timeout").asLong(0L))
                    .setEnableCheckpointsAfterTasksFinish(c.path("checkpoints_after_tasks_finish").asBoolean(true))
                    .build();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new BadInput("invalid checkpointing configuration (Flink rejects it: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage())
                    + "; Flink requires interval >= 10, timeout >= 10, min_pause >= 0, max_concurrent >= 1, and max_concurrent <= 1 with unaligned)");
        }
        int retained = intField(c, "retained", 1);
        if (retained < 1) {
            throw new BadInput("checkpointing.retained must be >= 1");
        }
        this.incremental = setup.path("incremental").asBoolean(false);
        RecoveryClaimMode claimMode;
        switch (setup.path("claim_mode").asText("default")) {
            case "default":
                claimMode = RecoveryClaimMode.DEFAULT;
                break;
            case "claim":
                claimMode = RecoveryClaimMode.CLAIM;
                break;
            case "no_claim":
                claimMode = RecoveryClaimMode.NO_CLAIM;
                break;
            default:
                throw new BadInput("setup.claim_mode must be default|claim|no_claim");
        }
        // A job started from a retained checkpoint (`-s <path>` with a claim mode): the store
        // starts with it, its files registered under the mode, and ids continue after it, as
        // CheckpointCoordinator.restoreSavepoint leaves them (the first restore then sets
        // forceFullSnapshot from the snapshot's unclaimed properties).
        List<CompletedCheckpoint> initial = new ArrayList<>();
        JsonNode ic = setup.path("initial_checkpoint");
        if (!ic.isMissingNode() && !ic.isNull()) {
            long id = longField(ic, "id");
            if (id < 1) {
                throw new BadInput("initial_checkpoint.id must be >= 1");
            }
            Map<Integer, List<String>> files = new HashMap<>();
            for (JsonNode t : ic.path("tasks")) {
                int task = task(t);
                List<String> keys = new ArrayList<>();
                for (JsonNode k : t.path("shared")) {
                    keys.add(k.asText());
                }
                files.put(task, keys);
            }
            initial.add(SharedFiles.initialCheckpoint(this, id, files, claimMode, retention));
            try {
                counter.setCount(id + 1);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        this.store = faults.new Store(retained, initial, claimMode);
        this.autoDrain = setup.path("auto_drain").asBoolean(true);
        String fj = setup.path("fail_job").asText("record");
        if (!fj.equals("record") && !fj.equals("failover")) {
            throw new BadInput("setup.fail_job must be record|failover");
        }
        this.failJobFailover = fj.equals("failover");
        String fo = setup.path("failover").asText("region");
        if (!fo.equals("region") && !fo.equals("full")) {
            throw new BadInput("setup.failover must be region|full");
        }
        this.regionFailover = fo.equals("region");
        JsonNode oc = setup.path("operator_coordinator");
        this.coordinatorVertex = oc.isMissingNode() || oc.isNull() ? -1 : vertexRef(oc, byName);
        this.initiallyRunning = setup.path("running").asBoolean(true);
        this.restartDelay = setup.path("restart_delay").asLong(0L);
        this.delayedRestarts = setup.path("delayed_restarts").asInt(0);
    }

    private int vertexRef(JsonNode ref, Map<String, Integer> byName) {
        if (ref.isInt()) {
            int i = ref.asInt();
            if (i < 0 || i >= names.length) {
                throw new BadInput("edge refers to vertex index " + i);
            }
            return i;
        }
        Integer i = byName.get(ref.asText());
        if (i == null) {
            throw new BadInput("edge refers to unknown vertex " + ref);
        }
        return i;
    }

    private static int intField(JsonNode o, String name, int dflt) {
        JsonNode v = o.path(name);
        if (v.isMissingNode() || v.isNull()) {
            return dflt;
        }
        if (!v.canConvertToInt()) {
            throw new BadInput(name + " must be an integer");
        }
        return v.asInt();
    }

    /** A fresh JobGraph (each JobManager reads its own copy of the job). */
    JobGraph jobGraph() {
        JobVertex[] jv = new JobVertex[names.length];
        for (int i = 0; i < jv.length; i++) {
            jv[i] = new JobVertex(names[i], vertexIds[i]);
            jv[i].setInvokableClass(NoOpInvokable.class);
            jv[i].setParallelism(parallelism[i]);
            jv[i].setMaxParallelism(maxParallelism[i]);
        }
        int k = 0;
        for (int[] e : edges) {
            jv[e[1]].connectNewDataSetAsInput(
                    jv[e[0]],
                    e[2] == 1 ? DistributionPattern.POINTWISE : DistributionPattern.ALL_TO_ALL,
                    ResultPartitionType.PIPELINED_BOUNDED,
                    new IntermediateDataSetID(new AbstractID(0x6564676500000000L, ++k)),
                    false,
                    false);
        }
        JobGraph g = new JobGraph(JOB_ID, "checkpoint-harness-conformance", jv);
        g.setJobType(JobType.STREAMING);
        return g;
    }

    int vertexOf(int task) {
        for (int v = vertexBase.length - 1; v >= 0; v--) {
            if (task >= vertexBase[v]) {
                return v;
            }
        }
        throw new IllegalArgumentException("task " + task);
    }

    int taskOf(ExecutionAttemptID a) {
        Integer v = vertexIndex.get(a.getJobVertexId());
        return v == null ? -1 : vertexBase[v] + a.getSubtaskIndex();
    }

    String taskName(ExecutionAttemptID a) {
        return "task " + taskOf(a) + " attempt " + a.getAttemptNumber();
    }

    // ================================================================== inputs

    /** Starts the script: the first JobManager builds its graph and deploys the job. */
    @Override
    public ObjectNode start() {
        out = M.createArrayNode();
        try {
            jm = new JobMaster(this);
            jm.restoreInitial(false);
            jm.startScheduling(initiallyRunning);
        } catch (BadInput e) {
            throw e;
        } catch (Throwable t) {
            exception(t);
        }
        drain();
        return stepResult(0);
    }

    @Override
    public ObjectNode handle(JsonNode in, int step) {
        out = M.createArrayNode();
        String op = in.path("op").asText("");
        try {
            checkAt(in);
            restartRunning = in.path("running").asBoolean(true);
            boolean drainAfter = autoDrain;
            switch (op) {
                case "periodic": {
                    VirtualExecutor.Timer t = findTimer("periodic", -1);
                    if (t == null) {
                        throw new BadInput("no periodic trigger timer is armed");
                    }
                    advance(in);
                    jm.exec.fire(t);
                    break;
                }
                case "request":
                    request(in);
                    break;
                case "hop":
                    if (jm.exec.queued() == 0) {
                        throw new BadInput("no queued task to run");
                    }
                    advance(in);
                    jm.exec.runOne();
                    drainAfter = false;
                    break;
                case "drain":
                    advance(in);
                    drain();
                    drainAfter = false;
                    break;
                case "noop":
                    advance(in);
                    break;
                case "fire_due":
                    advance(in);
                    fireDue();
                    break;
                case "restart":
                    // the delay of a delayed restart elapsed: DefaultScheduler.restartTasks runs
                    advance(in);
                    if (!jm.fireRestart()) {
                        throw new BadInput("no delayed restart is armed");
                    }
                    if (autoDrain) {
                        drain();
                    }
                    break;
                case "ack": {
                    ExecutionAttemptID a = attempt(in);
                    long id = longField(in, "id");
                    boolean withState = in.path("state").asBoolean(false);
                    List<String> uploaded = keys(in, "uploaded");
                    List<String> reused = keys(in, "reused");
                    advance(in);
                    jm.acknowledge(a, id, withState, uploaded, reused);
                    break;
                }
                case "decline": {
                    ExecutionAttemptID a = attempt(in);
                    long id = longField(in, "id");
                    CheckpointFailureReason reason = reason(in.path("reason").asText("CHECKPOINT_DECLINED"));
                    advance(in);
                    jm.decline(a, id, reason);
                    break;
                }
                case "timeout": {
                    long id = longField(in, "id");
                    VirtualExecutor.Timer t = findTimer("timeout", id);
                    if (t == null) {
                        throw new BadInput("no timeout timer is armed for checkpoint " + id);
                    }
                    advance(in);
                    if (t.due > clock.relativeTimeMillis()) {
                        clock.advanceTime(t.due - clock.relativeTimeMillis(), TimeUnit.MILLISECONDS);
                    }
                    jm.exec.fire(t);
                    break;
                }
                case "end_of_data": {
                    Execution e = jm.current(task(in));
                    advance(in);
                    if (staleAttempt(in, e)) {
                        ignored("attempt " + in.path("attempt").asInt() + " is not the task's current attempt");
                    } else if (!jm.graph.getRegisteredExecutions().containsKey(e.getAttemptId())) {
                        ignored("the task's current attempt is " + e.getState());
                    } else {
                        jm.notifyEndOfData(e);
                    }
                    break;
                }
                case "finished":
                case "running":
                case "task_failed": {
                    Execution e = jm.current(task(in));
                    if (op.equals("running") && e.getState() != ExecutionState.DEPLOYING && e.getState() != ExecutionState.INITIALIZING) {
                        throw new BadInput("running: the task's current attempt is " + e.getState() + ", not DEPLOYING or INITIALIZING");
                    }
                    advance(in);
                    if (staleAttempt(in, e)) {
                        // A report from an earlier attempt: that execution is no longer registered.
                        ignored("attempt " + in.path("attempt").asInt() + " is not the task's current attempt");
                        break;
                    }
                    boolean accepted;
                    if (op.equals("finished")) {
                        accepted = jm.report(e, ExecutionState.FINISHED);
                    } else if (op.equals("running")) {
                        accepted = true;
                        if (e.getState() == ExecutionState.DEPLOYING) {
                            accepted = jm.report(e, ExecutionState.INITIALIZING);
                        }
                        accepted = accepted && jm.report(e, ExecutionState.RUNNING);
                    } else {
                        accepted = jm.reportFailed(e, new Exception("task failure injected by the conformance driver"));
                    }
                    if (!accepted) {
                        ignored("the execution graph did not accept the update (attempt is " + e.getState() + ")");
                    }
                    break;
                }
                case "global_failure":
                    advance(in);
                    jm.handleGlobalFailure(new Exception("global failure injected by the conformance driver"));
                    break;
                case "jm_failover": {
                    advance(in);
                    boolean running = in.path("running").asBoolean(true);
                    jm.suspendForFailover();
                    // the new leader's CompletedCheckpointStore recovers from HA storage
                    store = store.recovered();
                    jm = new JobMaster(this);
                    jm.restoreInitial(true);
                    jm.startScheduling(running);
                    break;
                }
                case "restore":
                    advance(in);
                    jm.restoreDirect();
                    break;
                case "storage_fault": {
                    String stage = in.path("stage").asText("location");
                    int count = intField(in, "count", 1);
                    if (!stage.equals("location") && !stage.equals("metadata") && !stage.equals("store")
                            && !stage.equals("store_inconsistent")) {
                        throw new BadInput("storage_fault.stage must be location|metadata|store|store_inconsistent");
                    }
                    advance(in);
                    if (stage.equals("location")) {
                        faults.location += count;
                    } else if (stage.equals("metadata")) {
                        faults.metadata += count;
                    } else if (stage.equals("store_inconsistent")) {
                        faults.inconsistent += count;
                    } else {
                        faults.store += count;
                    }
                    break;
                }
                case "trigger_failed": {
                    // The trigger RPC sent earlier fails now (the task was gone when it arrived):
                    // its future completes exceptionally, as the TaskExecutor's answer would.
                    int t = task(in);
                    long id = longField(in, "id");
                    CompletableFuture<Acknowledge> f = openTriggers.remove(t + "/" + id);
                    if (f == null) {
                        throw new BadInput("no open trigger RPC of checkpoint " + id + " to task " + t);
                    }
                    advance(in);
                    f.completeExceptionally(new Exception("trigger RPC failed on delivery: the task is not running"));
                    break;
                }
                case "rpc_fault": {
                    int t = task(in);
                    int count = intField(in, "count", 1);
                    advance(in);
                    rpcFaults.merge(t, count, Integer::sum);
                    break;
                }
                default:
                    throw new BadInput("unknown op '" + op + "'");
            }
            if (drainAfter) {
                drain();
            }
        } catch (BadInput e) {
            ObjectNode r = M.createObjectNode();
            r.put("step", step);
            r.put("error", e.getMessage());
            return r;
        } catch (Throwable t) {
            exception(t);
            if (autoDrain) {
                drain();
            }
        }
        return stepResult(step);
    }

    private void request(JsonNode in) {
        String kind = in.path("kind").asText("checkpoint");
        JsonNode h = in.path("handle");
        if (h.isMissingNode() || h.isNull()) {
            throw new BadInput("request needs a handle");
        }
        String handle = h.asText();
        if (handles.contains(handle) || handle.matches("[pe][0-9]+")) {
            throw new BadInput("handle " + handle + " is already used or reserved (p<n> and e<n> are the driver's)");
        }
        SavepointFormatType format = in.path("format").asText("canonical").equals("native")
                ? SavepointFormatType.NATIVE : SavepointFormatType.CANONICAL;
        CompletableFuture<CompletedCheckpoint> f;
        switch (kind) {
            case "checkpoint": {
                CheckpointType type;
                switch (in.path("type").asText("configured")) {
                    case "configured":
                        type = CheckpointType.CONFIGURED;
                        break;
                    case "full":
                        type = CheckpointType.FULL;
                        break;
                    case "incremental":
                        type = CheckpointType.INCREMENTAL;
                        break;
                    default:
                        throw new BadInput("request.type must be configured|full|incremental");
                }
                handles.add(handle);
                advance(in);
                f = jm.triggerCheckpoint(type);
                break;
            }
            case "savepoint":
                handles.add(handle);
                advance(in);
                f = jm.triggerSavepoint(format);
                break;
            case "stop_with_savepoint":
                handles.add(handle);
                advance(in);
                f = jm.stopWithSavepoint(in.path("drain").asBoolean(false), format);
                break;
            default:
                throw new BadInput("request.kind must be checkpoint|savepoint|stop_with_savepoint");
        }
        watch(handle, f);
    }

    private void advance(JsonNode in) {
        JsonNode at = in.path("at");
        if (at.isMissingNode() || at.isNull()) {
            return;
        }
        long now = now();
        if (at.asLong() > now) {
            clock.advanceTime(at.asLong() - now, TimeUnit.MILLISECONDS);
        }
    }

    /** Validates "at" before anything happens: time never goes backwards. */
    void checkAt(JsonNode in) {
        JsonNode at = in.path("at");
        if (at.isMissingNode() || at.isNull()) {
            return;
        }
        if (!at.canConvertToLong()) {
            throw new BadInput("at must be an integer (ms)");
        }
        if (at.asLong() < now()) {
            throw new BadInput("at " + at.asLong() + " is before the current time " + now());
        }
    }

    /** Virtual time (ms since the script started). */
    long now() {
        return clock.relativeTimeMillis() - T0;
    }

    private int task(JsonNode in) {
        JsonNode t = in.path("task");
        if (!t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= numTasks) {
            throw new BadInput("task must be an integer in 0.." + (numTasks - 1));
        }
        return t.asInt();
    }

    /** The input names an attempt other than the task's current one (reports from it are stale). */
    private static boolean staleAttempt(JsonNode in, Execution current) {
        JsonNode a = in.path("attempt");
        if (a.isMissingNode() || a.isNull()) {
            return false;
        }
        if (!a.canConvertToInt() || a.asInt() < 0) {
            throw new BadInput("attempt must be a non-negative integer");
        }
        return a.asInt() != current.getAttemptNumber();
    }

    private ExecutionAttemptID attempt(JsonNode in) {
        int task = task(in);
        ExecutionVertex ev = jm.vertex(task);
        JsonNode a = in.path("attempt");
        if (a.isMissingNode() || a.isNull()) {
            return ev.getCurrentExecutionAttempt().getAttemptId();
        }
        if (!a.canConvertToInt() || a.asInt() < 0) {
            throw new BadInput("attempt must be a non-negative integer");
        }
        return new ExecutionAttemptID(jm.graph.getExecutionGraphID(), ev.getID(), a.asInt());
    }

    /** A list of shared-file keys (absent: empty). */
    private List<String> keys(JsonNode in, String name) {
        List<String> keys = new ArrayList<>();
        JsonNode v = in.path(name);
        if (v.isMissingNode() || v.isNull()) {
            return keys;
        }
        if (!incremental) {
            throw new BadInput(name + " needs setup.incremental");
        }
        for (JsonNode k : v) {
            keys.add(k.asText());
        }
        return keys;
    }

    private static long longField(JsonNode in, String name) {
        JsonNode v = in.path(name);
        if (!v.canConvertToLong()) {
            throw new BadInput(name + " must be an integer");
        }
        return v.asLong();
    }

    private static CheckpointFailureReason reason(String name) {
        try {
            return CheckpointFailureReason.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new BadInput("unknown CheckpointFailureReason " + name);
        }
    }

    private VirtualExecutor.Timer findTimer(String kind, long id) {
        for (VirtualExecutor.Timer t : jm.exec.timers()) {
            if (timerKind(t).equals(kind) && (id < 0 || timerId(t) == id)) {
                return t;
            }
        }
        return null;
    }

    private void drain() {
        int n = 0;
        while (jm != null && jm.exec.runOne()) {
            if (++n >= DRAIN_LIMIT) {
                exception(new IllegalStateException("driver: the executor queue did not drain"));
                return;
            }
        }
    }

    private void fireDue() {
        for (int n = 0; n < FIRE_LIMIT; n++) {
            List<VirtualExecutor.Timer> ts = jm.exec.timers();
            if (ts.isEmpty() || ts.get(0).due > clock.relativeTimeMillis()) {
                return;
            }
            jm.exec.fire(ts.get(0));
            if (autoDrain) {
                drain();
            }
        }
        exception(new IllegalStateException("driver: timers kept firing"));
    }

    // ================================================================== outputs

    /** The operator coordinators a JobManager's CheckpointCoordinator checkpoints. */
    List<OperatorCoordinatorCheckpointContext> coordinators() {
        if (coordinatorVertex < 0) {
            return Collections.emptyList();
        }
        return Collections.singletonList(new RecordingCoordinator(this, coordinatorVertex));
    }

    /** A call on the operator coordinator: {@code id} -1 (NO_CHECKPOINT) is null, task -1 absent. */
    void coordinatorCall(String call, long id, int task) {
        ObjectNode b = M.createObjectNode();
        b.put("call", call);
        if (id < 0) {
            b.putNull("id");
        } else {
            b.put("id", id);
        }
        if (task >= 0) {
            b.put("task", task);
        }
        emit("coordinator", b);
    }

    private void emit(String key, ObjectNode body) {
        ObjectNode o = M.createObjectNode();
        o.set(key, body);
        out.add(o);
    }

    @Override
    public CompletableFuture<Acknowledge> onTrigger(ExecutionAttemptID attempt, long id, CheckpointOptions options) {
        ObjectNode b = M.createObjectNode();
        int task = taskOf(attempt);
        b.put("task", task);
        b.put("attempt", attempt.getAttemptNumber());
        b.put("id", id);
        b.put("kind", kind(options.getCheckpointType()));
        b.put("alignment", options.getAlignment().name());
        b.put("unaligned", options.isUnalignedCheckpoint());
        if (options.isTimeoutable()) {
            b.put("aligned_timeout", options.getAlignedCheckpointTimeout());
        } else {
            b.putNull("aligned_timeout");
        }
        Integer faultsLeft = rpcFaults.get(task);
        Throwable failure = null;
        if (faultsLeft != null && faultsLeft > 0) {
            rpcFaults.put(task, faultsLeft - 1);
            b.put("rpc_fault", true);
            failure = new Exception("injected trigger RPC fault");
        }
        emit("trigger", b);
        CompletableFuture<Acknowledge> future = new CompletableFuture<>();
        if (failure != null) {
            future.completeExceptionally(failure);
        } else {
            openTriggers.put(task + "/" + id, future);
        }
        return future;
    }

    @Override
    public void onNotifyComplete(ExecutionAttemptID attempt, long id, long lastSubsumed) {
        ObjectNode b = M.createObjectNode();
        b.put("task", taskOf(attempt));
        b.put("attempt", attempt.getAttemptNumber());
        b.put("id", id);
        if (lastSubsumed < 0) {
            b.putNull("last_subsumed");
        } else {
            b.put("last_subsumed", lastSubsumed);
        }
        emit("complete", b);
    }

    @Override
    public void onNotifyAborted(ExecutionAttemptID attempt, long id, long latestCompleted) {
        ObjectNode b = M.createObjectNode();
        b.put("task", taskOf(attempt));
        b.put("attempt", attempt.getAttemptNumber());
        b.put("id", id);
        b.put("latest_completed", latestCompleted);
        emit("abort", b);
    }

    @Override
    public long onNewRequest(boolean periodic, CompletableFuture<?> promise) {
        if (periodic) {
            watch("p" + (++periodicSeq), promise);
        }
        return ++requestSeq;
    }

    void watch(String handle, CompletableFuture<?> f) {
        f.whenComplete((result, error) -> {
            ObjectNode b = M.createObjectNode();
            b.put("handle", handle);
            if (error == null) {
                b.put("completed", ((CompletedCheckpoint) result).getCheckpointID());
            } else {
                Optional<CheckpointException> ce = ExceptionUtils.findThrowable(error, CheckpointException.class);
                if (ce.isPresent()) {
                    b.put("failed", ce.get().getCheckpointFailureReason().name());
                } else {
                    Throwable t = ExceptionUtils.stripCompletionException(error);
                    b.put("failed", t.getClass().getSimpleName());
                    b.put("message", sanitize(t.getMessage()));
                }
            }
            emit("outcome", b);
        });
    }

    void failJob(String level, ExecutionAttemptID attempt, Throwable cause) {
        ObjectNode b = M.createObjectNode();
        b.put("level", level);
        if (attempt != null) {
            b.put("task", taskOf(attempt));
            b.put("attempt", attempt.getAttemptNumber());
        }
        Optional<CheckpointException> ce = ExceptionUtils.findThrowable(cause, CheckpointException.class);
        String msg = String.valueOf(cause.getMessage());
        if (ce.isPresent()) {
            b.put("reason", ce.get().getCheckpointFailureReason().name());
            b.put("exceeded", false);
        } else if (msg.startsWith(CheckpointFailureManager.EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE)) {
            String reason = "UNKNOWN";
            for (CheckpointFailureReason r : CheckpointFailureReason.values()) {
                if (msg.contains("failed due to " + r.message() + ", view")) {
                    reason = r.name();
                }
            }
            b.put("reason", reason);
            b.put("exceeded", true);
        } else {
            b.put("reason", cause.getClass().getSimpleName());
            b.put("exceeded", false);
        }
        emit("fail_job", b);
    }

    void restored(String method, Long id, Collection<ExecutionJobVertex> vertices) {
        ObjectNode b = M.createObjectNode();
        b.put("method", method);
        if (id == null) {
            b.putNull("id");
        } else {
            b.put("id", id);
        }
        ArrayNode tasks = b.putArray("tasks");
        Set<ExecutionJobVertex> set = new HashSet<>(vertices);
        for (int t = 0; t < numTasks; t++) {
            ExecutionVertex ev = jm.vertex(t);
            if (!set.contains(ev.getJobVertex())) {
                continue;
            }
            JobManagerTaskRestore r = ev.getCurrentExecutionAttempt().getTaskRestore();
            if (id != null && r != null && r.getRestoreCheckpointId() == id) {
                tasks.add(t);
            }
        }
        emit("restore", b);
    }

    /** A shared state file's {@code discardState} ran: Flink deleted it. */
    @Override
    public void sharedDiscarded(String key) {
        ObjectNode b = M.createObjectNode();
        b.put("key", key);
        emit("discarded", b);
    }

    void ackReturned(boolean r) {
        ObjectNode o = M.createObjectNode();
        o.put("ack_returned", r);
        out.add(o);
    }

    void ignored(String why) {
        ObjectNode o = M.createObjectNode();
        o.put("ignored", why);
        out.add(o);
    }

    void exception(Throwable t) {
        Throwable s = ExceptionUtils.stripCompletionException(t);
        ObjectNode o = M.createObjectNode();
        o.put("exception", s.getClass().getName() + ": " + sanitize(s.getMessage()));
        out.add(o);
    }

    private static final Pattern HEX_ID = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern IDENTITY = Pattern.compile("@[0-9a-f]{4,8}\\b");

    static String sanitize(String s) {
        if (s == null) {
            return "null";
        }
        return IDENTITY.matcher(HEX_ID.matcher(s).replaceAll("<id>")).replaceAll("@<hash>");
    }

    static String kind(SnapshotType t) {
        if (t instanceof SavepointType) {
            switch (((SavepointType) t).getPostCheckpointAction()) {
                case SUSPEND:
                    return "sync_savepoint";
                case TERMINATE:
                    return "terminate_savepoint";
                default:
                    return "savepoint";
            }
        }
        return t == org.apache.flink.runtime.checkpoint.CheckpointType.FULL_CHECKPOINT ? "full_checkpoint" : "checkpoint";
    }

    private String timerKind(VirtualExecutor.Timer t) {
        Runnable r = t.task;
        if (r instanceof JobMaster.RestartTasks) {
            return "restart";
        }
        String n = r.getClass().getName();
        if (n.endsWith("CheckpointCoordinator$ScheduledTrigger")) {
            // A trigger superseded without being cancelled (startCheckpointScheduler over a
            // trigger re-armed by setIsProcessingBacklog while the scheduler was stopped): its
            // run() returns at once because it is no longer currentPeriodicTrigger.
            return r == Reflect.currentPeriodicTrigger(jm.coordinator) ? "periodic" : "stale_periodic";
        }
        if (n.endsWith("CheckpointCoordinator$CheckpointCanceller")) {
            return "timeout";
        }
        return "other";
    }

    private long timerId(VirtualExecutor.Timer t) {
        return timerKind(t).equals("timeout") ? Reflect.cancellerId(t.task) : -1L;
    }

    private ObjectNode stepResult(int step) {
        ObjectNode r = M.createObjectNode();
        r.put("step", step);
        r.set("outputs", out);
        r.set("state", state());
        return r;
    }

    ObjectNode state() {
        ObjectNode s = M.createObjectNode();
        s.put("now", now());
        if (jm == null) {
            return s;
        }
        CheckpointCoordinator cc = jm.coordinator;
        s.put("job", jm.graph.getState().name());
        s.put("periodic", cc.isPeriodicCheckpointingStarted());
        s.put("triggering", cc.isTriggering());
        s.put("requests", jm.requests.size());
        ArrayNode pending = s.putArray("pending");
        List<PendingCheckpoint> pcs = new ArrayList<>(cc.getPendingCheckpoints().values());
        pcs.sort((a, b) -> Long.compare(a.getCheckpointID(), b.getCheckpointID()));
        for (PendingCheckpoint pc : pcs) {
            ObjectNode p = pending.addObject();
            p.put("id", pc.getCheckpointID());
            p.put("kind", kind(Reflect.props(pc).getCheckpointType()));
            CheckpointPlan plan = pc.getCheckpointPlan();
            List<Integer> acked = new ArrayList<>();
            List<Integer> awaited = new ArrayList<>();
            for (Execution e : plan.getTasksToWaitFor()) {
                (pc.isAcknowledgedBy(e.getAttemptId()) ? acked : awaited).add(taskOf(e.getAttemptId()));
            }
            List<Integer> finished = new ArrayList<>();
            for (Execution e : plan.getFinishedTasks()) {
                finished.add(taskOf(e.getAttemptId()));
            }
            putSorted(p.putArray("acked"), acked);
            putSorted(p.putArray("awaited"), awaited);
            putSorted(p.putArray("finished"), finished);
        }
        ArrayNode st = s.putArray("store");
        for (CompletedCheckpoint c : store.getAllCheckpoints()) {
            st.add(c.getCheckpointID());
        }
        ArrayNode re = s.putArray("recent_expired");
        for (Iterator<Long> it = cc.getRecentExpiredCheckpoints().iterator(); it.hasNext(); ) {
            re.add(it.next());
        }
        s.put("failures", Reflect.failureCounter(jm.failureManager));
        s.put("queued", jm.exec.queued());
        ArrayNode timers = s.putArray("timers");
        for (VirtualExecutor.Timer t : jm.exec.timers()) {
            ObjectNode o = timers.addObject();
            String k = timerKind(t);
            o.put("kind", k);
            if (k.equals("timeout")) {
                o.put("id", timerId(t));
            } else {
                o.putNull("id");
            }
            o.put("due", t.due - T0);
        }
        ArrayNode tasks = s.putArray("tasks");
        for (int t = 0; t < numTasks; t++) {
            Execution e = jm.current(t);
            ObjectNode o = tasks.addObject();
            o.put("attempt", e.getAttemptNumber());
            o.put("state", e.getState().name());
        }
        return s;
    }

    private static void putSorted(ArrayNode a, List<Integer> l) {
        l.sort(Integer::compare);
        for (int i : l) {
            a.add(i);
        }
    }
}
