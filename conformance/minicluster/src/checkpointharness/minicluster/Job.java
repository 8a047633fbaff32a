package checkpointharness.minicluster;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.runtime.checkpoint.CheckpointFailureReason;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One end-to-end run of a real Flink 2.3 job on a local MiniCluster (issue 10, point 6).
 *
 * <p>Usage: {@code Job MODE FAULT OUTDIR} with MODE {@code aligned|unaligned} and FAULT
 * {@code none|task|committer}. The job: a FLIP-27 {@code DataGeneratorSource} of {@link #RECORDS}
 * longs, {@link #PER_CHECKPOINT} of them released per completed checkpoint; a map that, with
 * FAULT=task, sleeps and then throws once on record {@link #FAULT_VALUE} (so the checkpoint the
 * driver triggered meanwhile is in flight when the task fails); {@code keyBy(v % KEYS)} with a
 * {@code ValueState} count; a Sink V2 with {@code SupportsCommitter} whose writer writes one
 * pending file per checkpoint and whose committer renames it into {@code OUTDIR/committed} (and,
 * with FAULT=committer, throws once when it first commits the file holding {@link #FAULT_VALUE}).
 * Parallelism 2, exactly-once, aligned or unaligned, a periodic interval that never fires during a
 * run (see main): the driver below triggers every checkpoint with {@code MiniCluster.triggerCheckpoint(jobId, CONFIGURED)}, one at a
 * time, until the job finishes. Faults are "once" through marker files in OUTDIR (class loaders and
 * restarts cannot reset them).
 *
 * <p>It prints one JSON line: the committed records ({@code "key:count"} and the values), the
 * expected ones, and the coordinator events parsed from the JobManager's log (see {@link #events}).
 */
public final class Job {
    static final int PARALLELISM = 2;
    static final long RECORDS = 40;
    static final int PER_CHECKPOINT = 10;
    static final int KEYS = 3;
    /** Subtask 0 reads 0..19, five per checkpoint: 13 is in its third batch, released when checkpoint 2 completes. */
    static final long FAULT_VALUE = 13;
    static final int MAX_TRIGGERS = 12;

    private Job() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3
                || !(args[0].equals("aligned") || args[0].equals("unaligned"))
                || !(args[1].equals("none") || args[1].equals("task") || args[1].equals("committer"))) {
            System.err.println("usage: Job aligned|unaligned none|task|committer OUTDIR");
            System.exit(2);
        }
        String mode = args[0];
        String fault = args[1];
        Path out = Paths.get(args[2]).toAbsolutePath();
        Files.createDirectories(out.resolve("pending"));
        Files.createDirectories(out.resolve("committed"));
        Path log = Paths.get(System.getProperty("minicluster.log"));

        Map<String, String> options = new HashMap<>();
        // An interval must be set: without one Flink 2.3 runs the job AT_LEAST_ONCE and ignores
        // the unaligned option (CheckpointingOptions.getCheckpointingMode), and registers no
        // checkpoint-scheduler activator (a failover then aborts the checkpoint in flight with
        // JOB_FAILOVER_REGION, not CHECKPOINT_COORDINATOR_SUSPEND). The periodic trigger's first
        // delay is drawn from [min-pause, interval]: with these it never fires during a run, and
        // min-pause holds back only periodic requests, not the driver's.
        options.put("execution.checkpointing.interval", "365 d");
        options.put("execution.checkpointing.min-pause", "364 d");
        options.put("execution.checkpointing.mode", "EXACTLY_ONCE");
        options.put("execution.checkpointing.unaligned.enabled", mode.equals("unaligned") ? "true" : "false");
        options.put("restart-strategy.type", "fixed-delay");
        options.put("restart-strategy.fixed-delay.attempts", "3");
        options.put("restart-strategy.fixed-delay.delay", "100 ms");
        options.put("taskmanager.numberOfTaskSlots", String.valueOf(PARALLELISM));
        options.put("rest.bind-port", "0");
        Configuration conf = Configuration.fromMap(options);

        MiniClusterConfiguration clusterConf =
                new MiniClusterConfiguration.Builder()
                        .setConfiguration(conf)
                        .setNumTaskManagers(1)
                        .setNumSlotsPerTaskManager(PARALLELISM)
                        .build();
        int triggers = 0;
        JobStatus finalStatus;
        try (MiniCluster cluster = new MiniCluster(clusterConf)) {
            cluster.start();
            JobID jobId = cluster.submitJob(jobGraph(conf, fault, out)).get().getJobID();
            while (true) {
                if (!awaitRunning(cluster, jobId)) {
                    break;
                }
                // Let the batch released by the previous completion reach the sink (and a faulty
                // record start its sleep) before the next barrier.
                Thread.sleep(300);
                if (cluster.getJobStatus(jobId).get().isGloballyTerminalState() || triggers >= MAX_TRIGGERS) {
                    break;
                }
                triggers++;
                try {
                    cluster.triggerCheckpoint(jobId, CheckpointType.CONFIGURED).get(60, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // a failed checkpoint: the log says why; the loop waits for the restart
                }
            }
            long deadline = System.currentTimeMillis() + 30_000;
            finalStatus = cluster.getJobStatus(jobId).get();
            while (!finalStatus.isGloballyTerminalState() && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
                finalStatus = cluster.getJobStatus(jobId).get();
            }
            if (!finalStatus.isGloballyTerminalState()) {
                cluster.cancelJob(jobId).get(30, TimeUnit.SECONDS);
            }
        }

        List<String> committed = new ArrayList<>();
        List<Long> committedValues = new ArrayList<>();
        try (Stream<Path> files = Files.list(out.resolve("committed"))) {
            for (Path f : (Iterable<Path>) files.sorted()::iterator) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    if (line.isEmpty()) {
                        continue;
                    }
                    String[] parts = line.split(":");
                    committed.add(parts[0] + ":" + parts[1]);
                    committedValues.add(Long.parseLong(parts[2]));
                }
            }
        }
        List<String> expected = new ArrayList<>();
        List<Long> expectedValues = new ArrayList<>();
        long[] counts = new long[KEYS];
        for (long v = 0; v < RECORDS; v++) {
            int key = (int) (v % KEYS);
            counts[key]++;
            expected.add(key + ":" + counts[key]);
            expectedValues.add(v);
        }
        Collections.sort(committed);
        Collections.sort(expected);
        Collections.sort(committedValues);
        Collections.sort(expectedValues);

        StringBuilder json = new StringBuilder();
        json.append("{\"mode\":\"").append(mode).append("\",\"fault\":\"").append(fault).append('"');
        json.append(",\"status\":\"").append(finalStatus).append('"');
        json.append(",\"triggers_requested\":").append(triggers);
        json.append(",\"committed\":").append(strings(committed));
        json.append(",\"expected\":").append(strings(expected));
        json.append(",\"committed_values\":").append(committedValues);
        json.append(",\"expected_values\":").append(expectedValues);
        json.append(",\"events\":[").append(String.join(",", events(log))).append("]}");
        System.out.println(json);
    }

    static String strings(List<String> list) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < list.size(); i++) {
            b.append(i == 0 ? "" : ",").append('"').append(list.get(i)).append('"');
        }
        return b.append(']').toString();
    }

    static JobGraph jobGraph(Configuration conf, String fault, Path out) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(PARALLELISM);
        DataGeneratorSource<Long> source =
                new DataGeneratorSource<>(
                        v -> v, RECORDS, RateLimiterStrategy.perCheckpoint(PER_CHECKPOINT), Types.LONG);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "source")
                .map(new FaultyMap(fault.equals("task"), out.toString()))
                .name("map")
                .keyBy(v -> v % KEYS)
                .process(new CountPerKey())
                .name("count")
                .sinkTo(new TwoPhaseFileSink(out.toString(), fault.equals("committer")))
                .name("sink");
        return env.getStreamGraph().getJobGraph();
    }

    /** Waits until every task runs (true) or the job reached a terminal state (false). */
    static boolean awaitRunning(MiniCluster cluster, JobID jobId) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            AccessExecutionGraph graph = cluster.getExecutionGraph(jobId).get();
            if (graph.getState().isGloballyTerminalState()) {
                return false;
            }
            boolean allRunning = graph.getState() == JobStatus.RUNNING;
            for (AccessExecutionVertex v : graph.getAllExecutionVertices()) {
                ExecutionState s = v.getExecutionState();
                allRunning &= s == ExecutionState.RUNNING || s == ExecutionState.FINISHED;
            }
            if (allRunning) {
                return true;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("the job did not get running within 60 s");
    }

    /** Passes records on; with the fault on, sleeps then throws once on FAULT_VALUE. */
    static final class FaultyMap implements MapFunction<Long, Long> {
        private final boolean fault;
        private final String out;

        FaultyMap(boolean fault, String out) {
            this.fault = fault;
            this.out = out;
        }

        @Override
        public Long map(Long v) throws Exception {
            if (fault && v == FAULT_VALUE) {
                Path marker = Paths.get(out, "fault-task.done");
                if (!Files.exists(marker)) {
                    Files.createFile(marker);
                    Thread.sleep(1500);
                    throw new RuntimeException("injected task fault at record " + v);
                }
            }
            return v;
        }
    }

    /** Keyed state: a running count per key; emits "key:count:value". */
    static final class CountPerKey extends KeyedProcessFunction<Long, Long, String> {
        private transient ValueState<Long> count;

        @Override
        public void open(OpenContext openContext) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(Long v, Context ctx, Collector<String> collector) throws Exception {
            Long c = count.value();
            long next = c == null ? 1 : c + 1;
            count.update(next);
            collector.collect(ctx.getCurrentKey() + ":" + next + ":" + v);
        }
    }

    /** A two-phase-commit Sink V2: pending files per checkpoint, renamed on commit. */
    static final class TwoPhaseFileSink implements Sink<String>, SupportsCommitter<String> {
        private final String out;
        private final boolean committerFault;

        TwoPhaseFileSink(String out, boolean committerFault) {
            this.out = out;
            this.committerFault = committerFault;
        }

        @Override
        public SinkWriter<String> createWriter(WriterInitContext context) {
            return new PendingFileWriter(
                    out,
                    context.getTaskInfo().getIndexOfThisSubtask(),
                    context.getTaskInfo().getAttemptNumber());
        }

        @Override
        public Committer<String> createCommitter(CommitterInitContext context) {
            return new RenamingCommitter(out, committerFault);
        }

        @Override
        public SimpleVersionedSerializer<String> getCommittableSerializer() {
            return new StringSerializer();
        }
    }

    static final class PendingFileWriter implements CommittingSinkWriter<String, String> {
        private final String out;
        private final int subtask;
        private final int attempt;
        private int sequence;
        private final List<String> buffer = new ArrayList<>();

        PendingFileWriter(String out, int subtask, int attempt) {
            this.out = out;
            this.subtask = subtask;
            this.attempt = attempt;
        }

        @Override
        public void write(String element, Context context) {
            buffer.add(element);
        }

        @Override
        public void flush(boolean endOfInput) {}

        @Override
        public Collection<String> prepareCommit() throws IOException {
            if (buffer.isEmpty()) {
                return Collections.emptyList();
            }
            String name = "part-" + subtask + "-" + attempt + "-" + (sequence++) + "-" + System.nanoTime();
            Path pending = Paths.get(out, "pending", name);
            Files.write(pending, (String.join("\n", buffer) + "\n").getBytes(StandardCharsets.UTF_8));
            buffer.clear();
            return Collections.singletonList(name);
        }

        @Override
        public void close() {}
    }

    static final class RenamingCommitter implements Committer<String> {
        private final String out;
        private final boolean fault;

        RenamingCommitter(String out, boolean fault) {
            this.out = out;
            this.fault = fault;
        }

        @Override
        public void commit(Collection<CommitRequest<String>> requests) throws IOException {
            for (CommitRequest<String> request : requests) {
                String name = request.getCommittable();
                Path pending = Paths.get(out, "pending", name);
                Path done = Paths.get(out, "committed", name);
                if (fault && Files.exists(pending) && holdsFaultValue(pending)) {
                    Path marker = Paths.get(out, "fault-committer.done");
                    if (!Files.exists(marker)) {
                        Files.createFile(marker);
                        throw new IOException("injected committer fault committing " + name);
                    }
                }
                try {
                    Files.move(pending, done, StandardCopyOption.ATOMIC_MOVE);
                } catch (NoSuchFileException e) {
                    if (Files.exists(done)) {
                        request.signalAlreadyCommitted();
                    } else {
                        throw e;
                    }
                }
            }
        }

        private static boolean holdsFaultValue(Path pending) throws IOException {
            for (String line : Files.readAllLines(pending, StandardCharsets.UTF_8)) {
                if (line.endsWith(":" + FAULT_VALUE)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void close() {}
    }

    static final class StringSerializer implements SimpleVersionedSerializer<String> {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String deserialize(int version, byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    // ---- the coordinator's events, from the JobManager's log ----

    static final Pattern TRIGGER = Pattern.compile("Triggering checkpoint (\\d+) \\(type=");
    static final Pattern COMPLETE = Pattern.compile("Completed checkpoint (\\d+) for job");
    static final Pattern FAIL =
            Pattern.compile("Failed to trigger or complete checkpoint (\\d+) for job .*\\[cause: (.*)\\]$");
    static final Pattern RESTORE = Pattern.compile("Restoring job \\S+ from Checkpoint (\\d+)");
    static final Pattern NO_CHECKPOINT = Pattern.compile("No checkpoint found during restore");
    static final Pattern RESTARTING = Pattern.compile("switched from state RUNNING to RESTARTING");

    /**
     * The coordinator's events in log order, as JSON objects: {@code {"trigger":N}},
     * {@code {"complete":N}}, {@code {"fail":N,"reason":"FLINK_NAME","cause":"..."}},
     * {@code {"restore":N|null}}. Triggers and restores bound stretches; within a stretch the
     * other events are sorted (completion before failure, then by id), the only reordering
     * concurrent threads could cause. A restore without a checkpoint counts only after the job
     * first restarted (the initial start also looks for one).
     */
    static List<String> events(Path log) throws IOException {
        List<String> events = new ArrayList<>();
        List<String[]> stretch = new ArrayList<>();
        boolean restarted = false;
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            Matcher m;
            if ((m = TRIGGER.matcher(line)).find()) {
                flush(events, stretch);
                events.add("{\"trigger\":" + m.group(1) + "}");
            } else if ((m = RESTORE.matcher(line)).find()) {
                flush(events, stretch);
                events.add("{\"restore\":" + m.group(1) + "}");
            } else if (restarted && NO_CHECKPOINT.matcher(line).find()) {
                flush(events, stretch);
                events.add("{\"restore\":null}");
            } else if ((m = COMPLETE.matcher(line)).find()) {
                stretch.add(new String[] {"0", m.group(1), "{\"complete\":" + m.group(1) + "}"});
            } else if ((m = FAIL.matcher(line)).find()) {
                String cause = m.group(2).replace("\\", "\\\\").replace("\"", "'");
                stretch.add(new String[] {"1", m.group(1),
                    "{\"fail\":" + m.group(1) + ",\"reason\":\"" + reasonName(cause) + "\",\"cause\":\"" + cause + "\"}"});
            } else if (RESTARTING.matcher(line).find()) {
                restarted = true;
            }
        }
        flush(events, stretch);
        return events;
    }

    static void flush(List<String> events, List<String[]> stretch) {
        stretch.sort((a, b) -> a[0].equals(b[0])
                ? Long.compare(Long.parseLong(a[1]), Long.parseLong(b[1]))
                : a[0].compareTo(b[0]));
        for (String[] e : stretch) {
            events.add(e[2]);
        }
        stretch.clear();
    }

    /** The CheckpointFailureReason whose message the cause carries, else "UNKNOWN". */
    static String reasonName(String cause) {
        String best = "UNKNOWN";
        int bestLength = -1;
        for (CheckpointFailureReason r : CheckpointFailureReason.values()) {
            String message = r.message();
            if (cause.contains(message) && message.length() > bestLength) {
                best = r.name();
                bestLength = message.length();
            }
        }
        return best;
    }
}
