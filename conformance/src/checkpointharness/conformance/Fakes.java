package checkpointharness.conformance;

import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.clusterframework.types.AllocationID;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.jobmanager.scheduler.Locality;
import org.apache.flink.runtime.jobmanager.slots.TaskManagerGateway;
import org.apache.flink.runtime.jobmaster.LogicalSlot;
import org.apache.flink.runtime.jobmaster.SlotRequestId;
import org.apache.flink.runtime.messages.Acknowledge;
import org.apache.flink.runtime.taskmanager.TaskManagerLocation;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.util.Collections;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** The stand-ins for a cluster: a recording TaskManager gateway, slots, and default-returning proxies. */
final class Fakes {
    private Fakes() {}

    /** What the gateway reports to; implemented by {@link Script}. */
    interface GatewayListener {
        /**
         * @return the trigger RPC's future: failed at once for an injected fault, else left open
         *     until the script fails it (`trigger_failed`) or never (the task took it).
         */
        CompletableFuture<Acknowledge> onTrigger(ExecutionAttemptID attempt, long id, CheckpointOptions options);

        void onNotifyComplete(ExecutionAttemptID attempt, long id, long lastSubsumed);

        void onNotifyAborted(ExecutionAttemptID attempt, long id, long latestCompleted);
    }

    /** One TaskManager location for every slot: a fixed ResourceID, loopback, no DNS look-up. */
    static final TaskManagerLocation LOCATION =
            new TaskManagerLocation(new ResourceID("driver-tm"), InetAddress.getLoopbackAddress(), 1);

    private static final ClassLoader CL = Fakes.class.getClassLoader();

    static TaskManagerGateway gateway(GatewayListener listener) {
        return (TaskManagerGateway)
                Proxy.newProxyInstance(
                        CL,
                        new Class<?>[] {TaskManagerGateway.class},
                        (proxy, m, args) -> {
                            switch (m.getName()) {
                                case "triggerCheckpoint":
                                    return listener.onTrigger((ExecutionAttemptID) args[0], (Long) args[2], (CheckpointOptions) args[4]);
                                case "notifyCheckpointOnComplete":
                                    listener.onNotifyComplete((ExecutionAttemptID) args[0], (Long) args[2], (Long) args[4]);
                                    return null;
                                case "notifyCheckpointAborted":
                                    listener.onNotifyAborted((ExecutionAttemptID) args[0], (Long) args[2], (Long) args[3]);
                                    return null;
                                case "getAddress":
                                    return "driver-tm";
                                default:
                                    return defaultFor(proxy, m, args);
                            }
                        });
    }

    /** A slot that accepts one payload and is released at once. */
    static LogicalSlot slot(TaskManagerGateway gateway, long n) {
        final Object[] payload = new Object[1];
        final AllocationID allocation = new AllocationID(0x736c6f74L, n);
        final SlotRequestId request = new SlotRequestId(0x72657175L, n);
        return (LogicalSlot)
                Proxy.newProxyInstance(
                        CL,
                        new Class<?>[] {LogicalSlot.class},
                        (proxy, m, args) -> {
                            switch (m.getName()) {
                                case "getTaskManagerLocation":
                                    return LOCATION;
                                case "getTaskManagerGateway":
                                    return gateway;
                                case "getLocality":
                                    return Locality.UNKNOWN;
                                case "isAlive":
                                    return true;
                                case "tryAssignPayload":
                                    if (payload[0] != null) {
                                        return false;
                                    }
                                    payload[0] = args[0];
                                    return true;
                                case "getPayload":
                                    return payload[0];
                                case "releaseSlot":
                                    return CompletableFuture.completedFuture(null);
                                case "getAllocationId":
                                    return allocation;
                                case "getSlotRequestId":
                                    return request;
                                default:
                                    return defaultFor(proxy, m, args);
                            }
                        });
    }

    /** A proxy of an interface whose every method returns a neutral default. */
    static <T> T defaults(Class<T> iface) {
        return iface.cast(Proxy.newProxyInstance(CL, new Class<?>[] {iface}, Fakes::defaultFor));
    }

    static Object defaultFor(Object proxy, Method m, Object[] args) {
        switch (m.getName()) {
            case "toString":
                if (m.getParameterCount() == 0) {
                    return "fake:" + m.getDeclaringClass().getSimpleName();
                }
                break;
            case "hashCode":
                if (m.getParameterCount() == 0) {
                    return System.identityHashCode(proxy);
                }
                break;
            case "equals":
                if (m.getParameterCount() == 1) {
                    return proxy == args[0];
                }
                break;
            default:
                break;
        }
        Class<?> r = m.getReturnType();
        if (r == void.class) {
            return null;
        } else if (r == boolean.class) {
            return false;
        } else if (r == int.class) {
            return 0;
        } else if (r == long.class) {
            return 0L;
        } else if (r == double.class) {
            return 0.0;
        } else if (r == float.class) {
            return 0.0f;
        } else if (r == short.class) {
            return (short) 0;
        } else if (r == byte.class) {
            return (byte) 0;
        } else if (r == char.class) {
            return (char) 0;
        } else if (CompletableFuture.class.isAssignableFrom(r)) {
            return CompletableFuture.completedFuture(Acknowledge.get());
        } else if (r == Optional.class) {
            return Optional.empty();
        } else if (r == java.util.Collection.class || r == java.util.List.class) {
            return Collections.emptyList();
        } else if (r == java.util.Set.class) {
            return Collections.emptySet();
        } else if (r == java.util.Map.class) {
            return Collections.emptyMap();
        }
        return null;
    }
}
