package checkpointharness.conformance;

import org.apache.flink.runtime.checkpoint.CheckpointException;
import org.apache.flink.runtime.checkpoint.CheckpointMetaData;
import org.apache.flink.runtime.checkpoint.CheckpointMetricsBuilder;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.checkpoint.CheckpointType;
import org.apache.flink.runtime.checkpoint.channel.InputChannelInfo;
import org.apache.flink.runtime.io.network.api.CancelCheckpointMarker;
import org.apache.flink.runtime.io.network.api.CheckpointBarrier;
import org.apache.flink.runtime.io.network.partition.consumer.CheckpointableInput;
import org.apache.flink.runtime.jobgraph.tasks.CheckpointableTask;
import org.apache.flink.runtime.state.CheckpointStorageLocationReference;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.streaming.runtime.io.checkpointing.BarrierAlignmentUtil;
import org.apache.flink.streaming.runtime.io.checkpointing.CheckpointBarrierHandler;
import org.apache.flink.streaming.runtime.io.checkpointing.CheckpointBarrierTracker;
import org.apache.flink.streaming.runtime.io.checkpointing.SingleCheckpointBarrierHandler;
import org.apache.flink.streaming.runtime.tasks.SubtaskCheckpointCoordinator;
import org.apache.flink.util.clock.ManualClock;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * One barrier-handler script (conformance/SCHEMA.md, section "Barrier handlers"): Flink's real
 * task-side barrier handler of one task with N input channels on one gate, fed barriers,
 * cancellation markers, ends of partition and timer firings on virtual time. The task it notifies
 * and the input gate it blocks are fakes that only record what the handler asked of them.
 */
final class HandlerScript implements Session {
    private final String kind;
    private final int channels;
    private final long alignmentTimeout;
    private final ManualClock clock = new ManualClock(0);
    private final List<String> events = new ArrayList<>();
    private final TreeSet<Integer> blocked = new TreeSet<>();
    private final TreeSet<Integer> ended = new TreeSet<>();
    private final List<Timer> timers = new ArrayList<>();
    private final CheckpointBarrierHandler handler;

    /** An alignment timer registered through the DelayableTimer, on virtual time. */
    private static final class Timer {
        final long deadline;
        final Callable<?> callback;
        boolean cancelled;

        Timer(long deadline, Callable<?> callback) {
            this.deadline = deadline;
            this.callback = callback;
        }
    }

    HandlerScript(JsonNode setup) {
        kind = setup.path("kind").asText("");
        channels = setup.path("channels").asInt(0);
        alignmentTimeout = setup.path("alignment_timeout").asLong(0);
        if (channels < 1 || channels > 64) {
            throw new Script.BadInput("handler.channels must be 1..64, got " + setup.path("channels"));
        }
        CheckpointableTask task = new RecordingTask();
        BarrierAlignmentUtil.DelayableTimer timer = (callback, delay) -> {
            Timer t = new Timer(clock.absoluteTimeMillis() + delay.toMillis(), callback);
            timers.add(t);
            return () -> t.cancelled = true;
        };
        CheckpointableInput input = new RecordingInput();
        switch (kind) {
            case "tracker":
                handler = new CheckpointBarrierTracker(channels, task, clock, true);
                break;
            case "aligned":
                handler = SingleCheckpointBarrierHandler.aligned("task", task, clock, channels, timer, true, input);
                break;
            case "alternating":
                handler = SingleCheckpointBarrierHandler.alternating(
                        "task", task, subtaskCoordinator(), clock, channels, timer, true, input);
                break;
            default:
                throw new Script.BadInput("handler.kind must be tracker, aligned or alternating, got \"" + kind + "\"");
        }
    }

    @Override
    public ObjectNode start() {
        return answer(0);
    }

    @Override
    public ObjectNode handle(JsonNode in, int step) {
        String op = in.path("op").asText("");
        long now = in.path("now").asLong(clock.absoluteTimeMillis());
        if (now < clock.absoluteTimeMillis()) {
            return error(step, "now " + now + " is before the handler's time " + clock.absoluteTimeMillis());
        }
        int channel = in.path("channel").asInt(-1);
        boolean needsChannel = !op.equals("timer");
        if (needsChannel && (channel < 0 || channel >= channels)) {
            return error(step, "channel must be 0.." + (channels - 1) + ", got " + in.path("channel"));
        }
        if (needsChannel && ended.contains(channel)) {
            return error(step, "channel " + channel + " has ended");
        }
        clock.advanceTime(now - clock.absoluteTimeMillis(), TimeUnit.MILLISECONDS);
        events.clear();
        InputChannelInfo info = new InputChannelInfo(0, channel);
        try {
            switch (op) {
                case "barrier": {
                    long id = in.path("id").asLong();
                    long timestamp = in.path("timestamp").asLong(0);
                    CheckpointOptions options = options(in.path("alignment").asText(""));
                    handler.processBarrier(new CheckpointBarrier(id, timestamp, options), info, in.path("rpc").asBoolean(false));
                    break;
                }
                case "cancel":
                    handler.processCancellationBarrier(new CancelCheckpointMarker(in.path("id").asLong()), info);
                    break;
                case "end_of_partition":
                    ended.add(channel);
                    handler.processEndOfPartition(info);
                    break;
                case "timer":
                    fireTimers();
                    break;
                default:
                    return error(step, "unknown handler op \"" + op + "\"");
            }
        } catch (Script.BadInput e) {
            return error(step, e.getMessage());
        } catch (Exception e) {
            return error(step, "handler threw " + e.getClass().getSimpleName() + ": " + Script.sanitize(e.getMessage()));
        }
        return answer(step);
    }

    /** Fires every live timer whose deadline has passed, in registration order. */
    private void fireTimers() throws Exception {
        long now = clock.absoluteTimeMillis();
        List<Timer> due = new ArrayList<>();
        for (Timer t : timers) {
            if (!t.cancelled && t.deadline <= now) {
                due.add(t);
            }
        }
        timers.removeAll(due);
        timers.removeIf(t -> t.cancelled);
        for (Timer t : due) {
            t.callback.call();
        }
    }

    private CheckpointOptions options(String alignment) {
        CheckpointStorageLocationReference location = CheckpointStorageLocationReference.getDefault();
        switch (alignment) {
            case "at_least_once":
                return CheckpointOptions.notExactlyOnce(CheckpointType.CHECKPOINT, location);
            case "aligned":
                return CheckpointOptions.alignedNoTimeout(CheckpointType.CHECKPOINT, location);
            case "timeoutable":
                return CheckpointOptions.alignedWithTimeout(CheckpointType.CHECKPOINT, location, alignmentTimeout);
            case "unaligned":
                return CheckpointOptions.unaligned(CheckpointType.CHECKPOINT, location);
            default:
                throw new Script.BadInput("barrier.alignment must be at_least_once, aligned, timeoutable or unaligned, got \"" + alignment + "\"");
        }
    }

    private static String alignmentName(CheckpointOptions options) {
        if (!options.isExactlyOnceMode()) {
            return "at_least_once";
        }
        if (options.isUnalignedCheckpoint()) {
            return "unaligned";
        }
        return options.isTimeoutable() ? "timeoutable" : "aligned";
    }

    private ObjectNode answer(int step) {
        ObjectNode r = Script.M.createObjectNode();
        r.put("step", step);
        ArrayNode ev = r.putArray("events");
        events.forEach(ev::add);
        ArrayNode bl = r.putArray("blocked");
        blocked.forEach(bl::add);
        return r;
    }

    private static ObjectNode error(int step, String message) {
        ObjectNode r = Script.M.createObjectNode();
        r.put("step", step);
        r.put("error", message);
        return r;
    }

    /** The unaligned part of the subtask's checkpointing: nothing to do for these scripts. */
    private static SubtaskCheckpointCoordinator subtaskCoordinator() {
        return (SubtaskCheckpointCoordinator) Proxy.newProxyInstance(
                HandlerScript.class.getClassLoader(),
                new Class<?>[] {SubtaskCheckpointCoordinator.class},
                (proxy, method, args) -> {
                    Class<?> type = method.getReturnType();
                    if (type == boolean.class) {
                        return false;
                    }
                    if (type == int.class || type == long.class) {
                        return type == int.class ? (Object) 0 : (Object) 0L;
                    }
                    return null;
                });
    }

    /** The task the handler notifies: records triggers and aborts in order. */
    private final class RecordingTask implements CheckpointableTask {
        @Override
        public CompletableFuture<Boolean> triggerCheckpointAsync(CheckpointMetaData metadata, CheckpointOptions options) {
            throw new UnsupportedOperationException("a source trigger is not a handler input");
        }

        @Override
        public void triggerCheckpointOnBarrier(CheckpointMetaData metadata, CheckpointOptions options, CheckpointMetricsBuilder metrics) {
            events.add("trigger " + metadata.getCheckpointId() + " " + alignmentName(options));
        }

        @Override
        public Future<Void> notifyCheckpointCompleteAsync(long checkpointId) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public Future<Void> notifyCheckpointAbortAsync(long checkpointId, long latestCompletedCheckpointId) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public Future<Void> notifyCheckpointSubsumedAsync(long checkpointId) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void abortCheckpointOnBarrier(long checkpointId, CheckpointException cause) {
            events.add("abort " + checkpointId + " " + cause.getCheckpointFailureReason().name());
        }
    }

    /** One input gate of `channels` channels: records which channels are blocked. */
    private final class RecordingInput implements CheckpointableInput {
        @Override
        public void blockConsumption(InputChannelInfo channelInfo) {
            blocked.add(channelInfo.getInputChannelIdx());
        }

        @Override
        public void resumeConsumption(InputChannelInfo channelInfo) {
            blocked.remove(channelInfo.getInputChannelIdx());
        }

        @Override
        public List<InputChannelInfo> getChannelInfos() {
            List<InputChannelInfo> infos = new ArrayList<>();
            for (int i = 0; i < channels; i++) {
                infos.add(new InputChannelInfo(0, i));
            }
            return infos;
        }

        @Override
        public int getNumberOfInputChannels() {
            return channels;
        }

        @Override
        public void checkpointStarted(CheckpointBarrier barrier) {}

        @Override
        public void checkpointStopped(long cancelledCheckpointId) {}

        @Override
        public int getInputGateIndex() {
            return 0;
        }

        @Override
        public void convertToPriorityEvent(int channel, int sequenceNumber) {}
    }
}
