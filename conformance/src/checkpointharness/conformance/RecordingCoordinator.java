package checkpointharness.conformance;

import java.util.concurrent.CompletableFuture;

import org.apache.flink.runtime.checkpoint.OperatorCoordinatorCheckpointContext;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.operators.coordination.OperatorCoordinator;

/**
 * The operator coordinator of one vertex (setup {@code operator_coordinator}), as Flink's
 * {@code CheckpointCoordinator} and scheduler see it: an {@code OperatorCoordinatorCheckpointContext}
 * that records every call as a {@code coordinator} output and checkpoints at once (its future
 * completes inside the call, with a state of a few bytes). It has no enumerator: what a split
 * enumerator does with the calls is the model's to get right, and its unit tests' (see
 * docs/fidelity.md); which calls Flink makes, and when, is what this compares.
 */
final class RecordingCoordinator implements OperatorCoordinatorCheckpointContext {
    private final Script s;
    private final int vertex;

    RecordingCoordinator(Script s, int vertex) {
        this.s = s;
        this.vertex = vertex;
    }

    @Override
    public OperatorID operatorId() {
        // A plain JobVertex has one operator, whose id is derived from the vertex's.
        return OperatorID.fromJobVertexID(s.vertexIds[vertex]);
    }

    @Override
    public int maxParallelism() {
        return s.maxParallelism[vertex];
    }

    @Override
    public int currentParallelism() {
        return s.parallelism[vertex];
    }

    @Override
    public void checkpointCoordinator(long checkpointId, CompletableFuture<byte[]> result) {
        s.coordinatorCall("checkpoint", checkpointId, -1);
        result.complete(new byte[] {(byte) checkpointId});
    }

    @Override
    public void abortCurrentTriggering() {
        s.coordinatorCall("abort_triggering", OperatorCoordinator.NO_CHECKPOINT, -1);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        s.coordinatorCall("complete", checkpointId, -1);
    }

    @Override
    public void notifyCheckpointAborted(long checkpointId) {
        s.coordinatorCall("aborted", checkpointId, -1);
    }

    @Override
    public void resetToCheckpoint(long checkpointId, byte[] checkpointData) {
        s.coordinatorCall("reset", checkpointId, -1);
    }

    @Override
    public void subtaskReset(int subtask, long checkpointId) {
        s.coordinatorCall("subtask_reset", checkpointId, s.vertexBase[vertex] + subtask);
    }
}
