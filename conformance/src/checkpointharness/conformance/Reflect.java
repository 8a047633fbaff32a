package checkpointharness.conformance;

import org.apache.flink.runtime.checkpoint.CheckpointCoordinator;
import org.apache.flink.runtime.checkpoint.CheckpointFailureManager;
import org.apache.flink.runtime.checkpoint.CheckpointProperties;
import org.apache.flink.runtime.checkpoint.PendingCheckpoint;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Comparator;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** The few private parts of Flink the driver reads or replaces, all by reflection. */
final class Reflect {
    private Reflect() {}

    static Field field(Class<?> c, String name) {
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            try {
                Field f = k.getDeclaredField(name);
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException e) {
                // look in the superclass
            }
        }
        throw new IllegalStateException("no field " + name + " in " + c.getName() + " (Flink version mismatch?)");
    }

    static Object getField(Object o, String name) {
        try {
            return field(o.getClass(), name).get(o);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    static void setField(Object o, String name, Object value) {
        try {
            field(o.getClass(), name).set(o, value);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final Class<?> REQUEST_CLASS;
    private static final Field REQUEST_TIMESTAMP;
    private static final Field REQUEST_PERIODIC;
    private static final Field REQUEST_PROMISE;
    private static final Field FAILURE_COUNTER = field(CheckpointFailureManager.class, "continuousFailureCounter");
    private static final Method PENDING_PROPS;

    static {
        try {
            REQUEST_CLASS = Class.forName(CheckpointCoordinator.class.getName() + "$CheckpointTriggerRequest");
            REQUEST_TIMESTAMP = field(REQUEST_CLASS, "timestamp");
            REQUEST_PERIODIC = field(REQUEST_CLASS, "isPeriodic");
            REQUEST_PROMISE = field(REQUEST_CLASS, "onCompletionPromise");
            PENDING_PROPS = PendingCheckpoint.class.getDeclaredMethod("getProps");
            PENDING_PROPS.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Told of every new trigger request the moment the request decider queues it. */
    interface RequestListener {
        /** @return the request's deterministic "creation timestamp" (a sequence number). */
        long onNewRequest(boolean periodic, CompletableFuture<?> promise);
    }

    /** A view of the coordinator's request queue. */
    interface RequestQueueHandle {
        int size();
    }

    /**
     * Replaces the request decider's queue by one that (1) reports each new request, so periodic
     * requests get handles, and (2) overwrites the request's wall-clock creation timestamp with a
     * sequence number: the decider orders requests of equal class by that timestamp and breaks ties
     * by identity hash code, which would make the queue order vary between runs.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static RequestQueueHandle interceptRequests(CheckpointCoordinator coordinator, RequestListener listener) {
        Object decider = getField(coordinator, "requestDecider");
        TreeSet original = (TreeSet) getField(decider, "queuedRequests");
        Comparator comparator = original.comparator();
        TreeSet queue = new TreeSet(comparator) {
            private static final long serialVersionUID = 1L;

            @Override
            public boolean add(Object request) {
                try {
                    long ts = listener.onNewRequest(
                            REQUEST_PERIODIC.getBoolean(request), (CompletableFuture<?>) REQUEST_PROMISE.get(request));
                    REQUEST_TIMESTAMP.setLong(request, ts);
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
                return super.add(request);
            }
        };
        setField(decider, "queuedRequests", queue);
        return queue::size;
    }

    static int failureCounter(CheckpointFailureManager fm) {
        try {
            return ((AtomicInteger) FAILURE_COUNTER.get(fm)).get();
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    static CheckpointProperties props(PendingCheckpoint pc) {
        try {
            return (CheckpointProperties) PENDING_PROPS.invoke(pc);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The coordinator's live periodic trigger (`currentPeriodicTrigger`), or null. */
    static Object currentPeriodicTrigger(CheckpointCoordinator coordinator) {
        return coordinator == null ? null : getField(coordinator, "currentPeriodicTrigger");
    }

    /** The checkpoint id a CheckpointCoordinator$CheckpointCanceller belongs to, or -1. */
    static long cancellerId(Runnable canceller) {
        Object pc = getField(canceller, "pendingCheckpoint");
        return pc instanceof PendingCheckpoint ? ((PendingCheckpoint) pc).getCheckpointID() : -1L;
    }
}
