// A broker-side KIP-714 telemetry receiver for kafkit's tests: the broker lists
// GetTelemetrySubscriptions and PushTelemetry only when a metrics reporter implements
// ClientTelemetry. Each push is appended to the file named by `kafkit.telemetry.sink.file`, one
// line per push: client instance id, terminating flag, content type, payload size in bytes,
// payload in hex. The broker hands over the payload decompressed: a size equal to what the
// client encoded, from a push it sent compressed, shows the broker read the client's codec.
import java.io.FileWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.apache.kafka.server.authorizer.AuthorizableRequestContext;
import org.apache.kafka.server.telemetry.ClientTelemetry;
import org.apache.kafka.server.telemetry.ClientTelemetryPayload;
import org.apache.kafka.server.telemetry.ClientTelemetryReceiver;

public class TelemetrySink implements MetricsReporter, ClientTelemetry, ClientTelemetryReceiver {
    private volatile String file;

    @Override
    public void configure(Map<String, ?> configs) {
        Object f = configs.get("kafkit.telemetry.sink.file");
        file = f == null ? null : f.toString();
    }

    @Override
    public void init(List<KafkaMetric> metrics) {}

    @Override
    public void metricChange(KafkaMetric metric) {}

    @Override
    public void metricRemoval(KafkaMetric metric) {}

    @Override
    public void close() {}

    @Override
    public ClientTelemetryReceiver clientReceiver() {
        return this;
    }

    @Override
    public synchronized void exportMetrics(AuthorizableRequestContext context, ClientTelemetryPayload payload) {
        if (file == null) return;
        ByteBuffer data = payload.data().duplicate();
        int size = data.remaining();
        StringBuilder hex = new StringBuilder();
        while (data.hasRemaining()) hex.append(String.format("%02x", data.get() & 0xff));
        try (FileWriter w = new FileWriter(file, true)) {
            w.write(payload.clientInstanceId() + " " + payload.isTerminating() + " "
                + payload.contentType() + " " + size + " " + hex + "\n");
        } catch (IOException e) {
            // A test sink: a lost line shows up as a failed test.
        }
    }
}
