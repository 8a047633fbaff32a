package checkpointharness.conformance;

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.StandaloneCompletedCheckpointStore;
import org.apache.flink.runtime.persistence.PossibleInconsistentStateException;
import org.apache.flink.runtime.state.SharedStateRegistry;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.util.concurrent.Executors;
import org.apache.flink.runtime.state.CheckpointStorage;
import org.apache.flink.runtime.state.CheckpointStorageAccess;
import org.apache.flink.runtime.state.CheckpointStorageLocation;
import org.apache.flink.runtime.state.CompletedCheckpointStorageLocation;
import org.apache.flink.runtime.state.memory.NonPersistentMetadataCheckpointStorageLocation;
import org.apache.flink.runtime.state.storage.JobManagerCheckpointStorage;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Injectable storage faults, each armed for the next matching write only:
 * <ul>
 *   <li>{@code location}: initialising the next checkpoint/savepoint storage location throws an
 *       IOException (inside the trigger pipeline, after the pending checkpoint exists);
 *   <li>{@code metadata}: opening the next metadata output stream throws an IOException (while
 *       finalizing the next fully acknowledged checkpoint);
 *   <li>{@code store}: the next {@code addCheckpointAndSubsumeOldestOne} throws.
 *   <li>{@code store_inconsistent}: the next {@code addCheckpointAndSubsumeOldestOne} writes the
 *       checkpoint to "HA storage" and then throws {@link PossibleInconsistentStateException}, as
 *       {@code DefaultCompletedCheckpointStore.addCheckpoint} does when
 *       {@code StateHandleStore.addAndLock} cannot tell whether its write landed: the local copy
 *       does not get it, the next leader's recovery reads it back ({@link Store#recover}).
 * </ul>
 * Storage is JobManagerCheckpointStorage (in memory); savepoint locations are redirected to a
 * non-persistent in-memory location so no savepoint is written to disk.
 */
final class Faults {
    int location;
    int metadata;
    int store;
    int inconsistent;

    private static final int MAX_STATE_SIZE = 5 * 1024 * 1024;
    private static final ClassLoader CL = Faults.class.getClassLoader();

    /**
     * The completed-checkpoint store: Flink's standalone store with injectable add failures. It
     * stands in for HA storage: {@code haOnly} holds the checkpoints written to HA storage whose
     * add reported a failure. Its shared-state registry is Flink's, made by
     * {@code SharedStateRegistry.DEFAULT_FACTORY} over the store's initial checkpoints with the
     * job's {@link RecoveryClaimMode} ({@code registerAllAfterRestored} for each, as
     * {@code EmbeddedCompletedCheckpointStore(int, Collection, RecoveryClaimMode)} and a new
     * leader's {@code DefaultCompletedCheckpointStore} do), discarding on a direct executor.
     */
    final class Store extends StandaloneCompletedCheckpointStore {
        private final List<CompletedCheckpoint> haOnly = new ArrayList<>();
        private final int retained;
        private final RecoveryClaimMode mode;

        @SuppressWarnings("unchecked")
        Store(int retained, List<CompletedCheckpoint> initial, RecoveryClaimMode mode) {
            super(retained,
                    (executor, ignored, m) -> SharedStateRegistry.DEFAULT_FACTORY.create(executor, initial, m),
                    Executors.directExecutor(),
                    mode);
            this.retained = retained;
            this.mode = mode;
            ((ArrayDeque<CompletedCheckpoint>) Reflect.getField(this, "checkpoints")).addAll(initial);
        }

        /**
         * A new leader's store: every checkpoint in HA storage, sorted by id, as
         * {@code DefaultCompletedCheckpointStoreUtils.retrieveCompletedCheckpoints} returns them
         * (a new {@code DefaultCompletedCheckpointStore} keeps all of them until its next add),
         * with a registry rebuilt from them ({@code SharedStateRegistryFactory}).
         */
        Store recovered() {
            List<CompletedCheckpoint> all = new ArrayList<>(getAllCheckpoints());
            all.addAll(haOnly);
            all.sort(Comparator.comparingLong(CompletedCheckpoint::getCheckpointID));
            return new Store(retained, all, mode);
        }

        @Override
        public CompletedCheckpoint addCheckpointAndSubsumeOldestOne(
                CompletedCheckpoint checkpoint, CheckpointsCleaner cleaner, Runnable postCleanup) throws Exception {
            if (store > 0) {
                store--;
                throw new Exception("injected completed-checkpoint store fault");
            }
            if (inconsistent > 0) {
                inconsistent--;
                haOnly.add(checkpoint);
                throw new PossibleInconsistentStateException(
                        "injected: the HA write may have landed", new Exception("injected"));
            }
            return super.addCheckpointAndSubsumeOldestOne(checkpoint, cleaner, postCleanup);
        }
    }

    /** The checkpoint storage: JobManagerCheckpointStorage behind a fault-injecting view. */
    final class Storage implements CheckpointStorage {
        private static final long serialVersionUID = 1L;
        private final JobManagerCheckpointStorage delegate = new JobManagerCheckpointStorage();

        @Override
        public CompletedCheckpointStorageLocation resolveCheckpoint(String pointer) throws IOException {
            return delegate.resolveCheckpoint(pointer);
        }

        @Override
        public CheckpointStorageAccess createCheckpointStorage(JobID jobId) throws IOException {
            final CheckpointStorageAccess access = delegate.createCheckpointStorage(jobId);
            return (CheckpointStorageAccess)
                    Proxy.newProxyInstance(CL, new Class<?>[] {CheckpointStorageAccess.class}, (proxy, m, args) -> {
                        switch (m.getName()) {
                            case "initializeLocationForCheckpoint":
                                if (location > 0) {
                                    location--;
                                    throw new IOException("injected storage location fault");
                                }
                                return wrap((CheckpointStorageLocation) invoke(access, m, args));
                            case "initializeLocationForSavepoint":
                                if (location > 0) {
                                    location--;
                                    throw new IOException("injected storage location fault");
                                }
                                return wrap(new NonPersistentMetadataCheckpointStorageLocation(MAX_STATE_SIZE));
                            case "hasDefaultSavepointLocation":
                                return true;
                            default:
                                if (m.getDeclaringClass() == Object.class) {
                                    return Fakes.defaultFor(proxy, m, args);
                                }
                                return invoke(access, m, args);
                        }
                    });
        }

        private CheckpointStorageLocation wrap(CheckpointStorageLocation loc) {
            return (CheckpointStorageLocation)
                    Proxy.newProxyInstance(CL, new Class<?>[] {CheckpointStorageLocation.class}, (proxy, m, args) -> {
                        if (m.getName().equals("createMetadataOutputStream") && metadata > 0) {
                            metadata--;
                            throw new IOException("injected metadata write fault");
                        }
                        if (m.getDeclaringClass() == Object.class) {
                            return Fakes.defaultFor(proxy, m, args);
                        }
                        return invoke(loc, m, args);
                    });
        }
    }

    static Object invoke(Object target, Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
