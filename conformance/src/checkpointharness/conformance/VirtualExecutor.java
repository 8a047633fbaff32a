package checkpointharness.conformance;

import org.apache.flink.runtime.concurrent.ComponentMainThreadExecutor;
import org.apache.flink.util.clock.ManualClock;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The single "thread" of one JobManager incarnation: the coordinator's timer and the execution
 * graph's main-thread executor at once. {@link #execute} only queues; {@code schedule*} registers a
 * timer on virtual time. Nothing runs unless the driver says so ({@link #runOne}, {@link #fire}).
 */
final class VirtualExecutor implements ComponentMainThreadExecutor {

    /** A timer on virtual time. Identity equality; ordered by (due, registration sequence). */
    final class Timer implements ScheduledFuture<Object> {
        final Runnable task;
        final long seq;
        final long period; // 0 = one-shot
        long due;
        boolean cancelled;
        boolean done;

        Timer(Runnable task, long due, long period) {
            this.task = task;
            this.due = due;
            this.period = period;
            this.seq = ++timerSeq;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (done || cancelled) {
                return false;
            }
            cancelled = true;
            timers.remove(this);
            return true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done || cancelled;
        }

        @Override
        public Object get() {
            throw new UnsupportedOperationException("blocking get() on a virtual-time timer");
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            throw new UnsupportedOperationException("blocking get() on a virtual-time timer");
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(due - now(), TimeUnit.MILLISECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            if (o instanceof Timer) {
                Timer t = (Timer) o;
                int c = Long.compare(due, t.due);
                return c != 0 ? c : Long.compare(seq, t.seq);
            }
            return Long.compare(getDelay(TimeUnit.MILLISECONDS), o.getDelay(TimeUnit.MILLISECONDS));
        }
    }

    private final ManualClock clock;
    private final Consumer<Throwable> onError;
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private final List<Timer> timers = new ArrayList<>();
    private long timerSeq;
    private boolean dead;

    VirtualExecutor(ManualClock clock, Consumer<Throwable> onError) {
        this.clock = clock;
        this.onError = onError;
    }

    long now() {
        return clock.relativeTimeMillis();
    }

    /** A dead executor (a JobManager that failed over) drops its work and accepts nothing new. */
    void kill() {
        dead = true;
        queue.clear();
        for (Timer t : new ArrayList<>(timers)) {
            t.cancel(false);
        }
    }

    @Override
    public void execute(Runnable command) {
        if (!dead) {
            queue.add(command);
        }
    }

    int queued() {
        return queue.size();
    }

    /** Runs the oldest queued task; false if the queue was empty. Exceptions become outputs. */
    boolean runOne() {
        Runnable r = queue.poll();
        if (r == null) {
            return false;
        }
        try {
            r.run();
        } catch (Throwable t) {
            onError.accept(t);
        }
        return true;
    }

    private Timer addTimer(Runnable r, long delayMs, long periodMs) {
        Timer t = new Timer(r, now() + Math.max(0L, delayMs), periodMs);
        if (dead) {
            t.cancelled = true;
        } else {
            timers.add(t);
        }
        return t;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return addTimer(command, unit.toMillis(delay), 0L);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        Runnable r = () -> {
            try {
                callable.call();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        @SuppressWarnings("unchecked")
        ScheduledFuture<V> f = (ScheduledFuture<V>) (ScheduledFuture<?>) addTimer(r, unit.toMillis(delay), 0L);
        return f;
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        return addTimer(command, unit.toMillis(initialDelay), Math.max(1L, unit.toMillis(period)));
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        return addTimer(command, unit.toMillis(initialDelay), Math.max(1L, unit.toMillis(delay)));
    }

    @Override
    public void assertRunningInMainThread() {
        // single-threaded by construction
    }

    /** Live timers, sorted by (due, registration order). */
    List<Timer> timers() {
        List<Timer> l = new ArrayList<>(timers);
        Collections.sort(l);
        return l;
    }

    /** Runs a timer's task now (the caller moves the clock if it wants to). */
    void fire(Timer t) {
        if (t.done || t.cancelled) {
            return;
        }
        timers.remove(t);
        if (t.period > 0) {
            t.due += t.period;
            timers.add(t);
        } else {
            t.done = true;
        }
        try {
            t.task.run();
        } catch (Throwable e) {
            onError.accept(e);
        }
    }

    /** A {@link ScheduledExecutorService} view (for the graph's "future executor"). */
    ScheduledExecutorService asService() {
        return new ServiceView(this);
    }

    private static final class ServiceView extends AbstractExecutorService implements ScheduledExecutorService {
        private final VirtualExecutor ex;

        ServiceView(VirtualExecutor ex) {
            this.ex = ex;
        }

        @Override
        public void shutdown() {}

        @Override
        public List<Runnable> shutdownNow() {
            return new ArrayList<>();
        }

        @Override
        public boolean isShutdown() {
            return false;
        }

        @Override
        public boolean isTerminated() {
            return false;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return true;
        }

        @Override
        public void execute(Runnable command) {
            ex.execute(command);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            return ex.schedule(command, delay, unit);
        }

        @Override
        public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
            return ex.schedule(callable, delay, unit);
        }

        @Override
        public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
            return ex.scheduleAtFixedRate(command, initialDelay, period, unit);
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
            return ex.scheduleWithFixedDelay(command, initialDelay, delay, unit);
        }
    }
}
