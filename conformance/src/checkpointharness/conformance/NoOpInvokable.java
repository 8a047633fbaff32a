package checkpointharness.conformance;

import org.apache.flink.runtime.execution.Environment;
import org.apache.flink.runtime.jobgraph.tasks.AbstractInvokable;

/** The invokable class of every job vertex. It is named in the JobGraph but never instantiated. */
public final class NoOpInvokable extends AbstractInvokable {
    public NoOpInvokable(Environment environment) {
        super(environment);
    }

    @Override
    public void invoke() {}
}
