package checkpointharness.conformance;

import org.apache.flink.runtime.checkpoint.CheckpointProperties;
import org.apache.flink.runtime.checkpoint.CheckpointRetentionPolicy;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.CompletedCheckpointStorageLocation;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.PhysicalStateHandleID;
import org.apache.flink.runtime.state.PlaceholderStreamStateHandle;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.apache.flink.core.execution.RecoveryClaimMode;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Shared (incremental) state for the driver's acknowledgements: a task's keyed state is an
 * {@link IncrementalRemoteKeyedStateHandle} (what {@code RocksIncrementalSnapshotStrategy} sends)
 * whose shared files are named by the model's file keys ({@code t<task>@<checkpoint>}). A file the
 * task uploaded is a {@link Recording} handle, one it reuses a {@link PlaceholderStreamStateHandle}
 * with the same key ({@code SharedStateRegistryKey.forStreamStateHandle} reads the physical id, the
 * handle name). {@link Recording#discardState} reports the key, as Flink's own
 * {@code TestingStreamStateHandle} records its discard: every discard Flink makes of a shared file
 * runs on a direct executor here (the registry's {@code asyncDisposalExecutor} and the store's I/O
 * executor are {@code Executors.directExecutor()}, the coordinator's I/O executor is the driver's
 * direct one), so it shows up in the input that caused it.
 */
final class SharedFiles {
    private SharedFiles() {}

    /** Where a recording handle reports a discard: the script whose input is running. */
    interface Listener {
        void sharedDiscarded(String key);
    }

    /**
     * A shared state file: a {@link ByteStreamStateHandle} (so the metadata serializer, which
     * knows that class, writes it) whose discard is recorded. The listener is transient: the
     * handle travels through Flink's metadata serializer, never through Java serialization.
     */
    static final class Recording extends ByteStreamStateHandle {
        private static final long serialVersionUID = 1L;
        private final transient Listener listener;

        Recording(String key, Listener listener) {
            super(key, new byte[] {1});
            this.listener = listener;
        }

        @Override
        public void discardState() {
            if (listener != null) {
                listener.sharedDiscarded(getHandleName());
            }
        }
    }

    /**
     * One subtask's keyed state: the files it uploaded for this checkpoint (new handles) and the
     * ones it reuses (placeholders), over the subtask's key-group range, with a metadata handle
     * of its own (private state, not recorded).
     */
    static IncrementalRemoteKeyedStateHandle keyedState(
            int task, int subtask, int parallelism, int maxParallelism, long checkpointId,
            List<String> uploaded, List<String> reused, Listener listener) {
        // RocksIncrementalSnapshotStrategy.uploadSnapshotFiles: the reused files (placeholders
        // from the previous snapshot) come first, the new uploads are appended after them, so
        // a placeholder the registry does not know throws before any upload is registered.
        List<HandleAndLocalPath> shared = new ArrayList<>();
        for (String key : reused) {
            StreamStateHandle placeholder = new PlaceholderStreamStateHandle(new PhysicalStateHandleID(key), 1L, false);
            shared.add(HandleAndLocalPath.of(placeholder, key + ".sst"));
        }
        for (String key : uploaded) {
            shared.add(HandleAndLocalPath.of(new Recording(key, listener), key + ".sst"));
        }
        return new IncrementalRemoteKeyedStateHandle(
                new UUID(0x6261636b656e6400L, task),
                KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex(maxParallelism, parallelism, subtask),
                checkpointId,
                shared,
                Collections.emptyList(),
                new ByteStreamStateHandle("meta-t" + task + "@" + checkpointId, new byte[] {0}));
    }

    /**
     * The retained checkpoint a job starts from (setup {@code initial_checkpoint}): every
     * subtask's keyed state references its files (all real handles, as a restored checkpoint's
     * are), with the properties {@code CheckpointCoordinator.restoreSavepoint} gives a restored
     * snapshot: the job's checkpoint properties in CLAIM mode, {@code forUnclaimedSnapshot()}
     * (savepoint-typed, never subsumed or deleted by the job) in NO_CLAIM mode.
     */
    static CompletedCheckpoint initialCheckpoint(
            Script s, long id, Map<Integer, List<String>> files, RecoveryClaimMode mode,
            CheckpointRetentionPolicy retention) {
        Map<OperatorID, OperatorState> states = new HashMap<>();
        for (int v = 0; v < s.names.length; v++) {
            OperatorID op = OperatorID.fromJobVertexID(s.vertexIds[v]);
            OperatorState state = new OperatorState(s.names[v], null, op, s.parallelism[v], s.maxParallelism[v]);
            for (int sub = 0; sub < s.parallelism[v]; sub++) {
                int task = s.vertexBase[v] + sub;
                List<String> keys = files.getOrDefault(task, Collections.emptyList());
                state.putState(sub, OperatorSubtaskState.builder()
                        .setManagedKeyedState(keyedState(task, sub, s.parallelism[v], s.maxParallelism[v], id,
                                keys, Collections.emptyList(), s))
                        .build());
            }
            states.put(op, state);
        }
        CheckpointProperties props = mode == RecoveryClaimMode.NO_CLAIM
                ? CheckpointProperties.forUnclaimedSnapshot()
                : CheckpointProperties.forCheckpoint(retention);
        return new CompletedCheckpoint(
                Script.JOB_ID, id, 0L, 0L, states, Collections.emptyList(), props, location(id), null);
    }

    /** The retained checkpoint's storage location: an external pointer, nothing to delete. */
    private static CompletedCheckpointStorageLocation location(long id) {
        String pointer = "driver://retained/chk-" + id;
        StreamStateHandle metadata = new ByteStreamStateHandle("metadata-chk-" + id, new byte[] {0});
        return (CompletedCheckpointStorageLocation) Proxy.newProxyInstance(
                SharedFiles.class.getClassLoader(),
                new Class<?>[] {CompletedCheckpointStorageLocation.class},
                (proxy, m, args) -> {
                    switch (m.getName()) {
                        case "getExternalPointer":
                            return pointer;
                        case "getMetadataHandle":
                            return metadata;
                        case "disposeStorageLocation":
                            return null;
                        default:
                            return Fakes.defaultFor(proxy, m, args);
                    }
                });
    }
}
