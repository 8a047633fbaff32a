package checkpointharness.conformance;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

/** One running script of the driver: a coordinator script or a barrier-handler script. */
interface Session {
    /** The answer to the setup line (step 0). */
    ObjectNode start();

    /** Runs one input line; exactly one answer. */
    ObjectNode handle(JsonNode in, int step);
}
