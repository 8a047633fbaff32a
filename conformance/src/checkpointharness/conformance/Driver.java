package checkpointharness.conformance;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;

/**
 * The conformance driver: reads scripts (JSON lines) from stdin, runs each against Flink's real
 * CheckpointCoordinator (or, for a handler script, its task-side barrier handler), and writes exactly one JSON line per input line to stdout. See
 * conformance/SCHEMA.md. Many scripts run in one JVM; each gets fresh Flink objects.
 */
public final class Driver {
    private Driver() {}

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Writer out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        Session script = null;
        int step = 0;
        String line;
        while ((line = in.readLine()) != null) {
            line = line.trim();
            if (line.isEmpty() || line.startsWith("//")) {
                continue;
            }
            ObjectNode result;
            try {
                JsonNode n;
                try {
                    n = Script.M.readTree(line);
                } catch (IOException e) {
                    n = null;
                }
                if (n == null || !n.isObject()) {
                    result = error(script == null ? null : ++step, "input is not a JSON object");
                } else if (n.has("handler") || n.has("setup")) {
                    // A new script: a barrier-handler script or a coordinator script.
                    script = null;
                    step = 0;
                    try {
                        Session s = n.has("handler") ? new HandlerScript(n.get("handler")) : new Script(n.get("setup"));
                        result = s.start();
                        script = s;
                    } catch (Script.BadInput e) {
                        result = error(0, e.getMessage());
                    }
                } else if ("end".equals(n.path("op").asText())) {
                    result = Script.M.createObjectNode().put("end", true);
                    script = null;
                } else if (script == null) {
                    result = error(null, "no script is running (a script starts with a setup line)");
                } else {
                    result = script.handle(n, ++step);
                }
            } catch (Throwable t) {
                // never let a bad script kill the JVM: report and drop the script
                result = error(script == null ? null : step, "driver failure: " + t.getClass().getName() + ": " + Script.sanitize(t.getMessage()));
                script = null;
            }
            out.write(Script.M.writeValueAsString(result));
            out.write('\n');
            if (result.has("end") || !in.ready()) {
                out.flush();
            }
        }
        out.flush();
    }

    private static ObjectNode error(Integer step, String message) {
        ObjectNode r = Script.M.createObjectNode();
        if (step == null) {
            r.putNull("step");
        } else {
            r.put("step", step);
        }
        r.put("error", message);
        return r;
    }
}
