package dev.kura.s3;

import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** serve.access-log-format: json: every line kura writes on kura.access is one JSON object with the request's fields. */
class AccessLogTest {
    @TempDir
    Path tmp;

    @RegisterExtension
    final AccessLogCapture accessLog = new AccessLogCapture();

    @Test
    void everyJsonLineParsesAndCarriesTheRequest() throws Exception {
        // A key with a quote, a backslash and non-ASCII: what a hand-built JSON line would break on.
        String key = "dir/we\"ird\\name-\u00e9\u6f22.bin";
        dev.kura.testing.Requires.fileNames(key); // the embedded origin keeps it as a file name
        byte[] body = ProxyTest.random(10_000, 3);
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, key, body, "application/octet-stream", null);
            f.accessLogFormat = AccessLogFormat.JSON;
            f.nodeId = "access-log-node";
            f.startProxy();
            String path = "/test/" + URLEncoder.encode(key, StandardCharsets.UTF_8).replace("+", "%20")
                    .replace("%2F", "/");
            assertThat(f.get(path).statusCode()).isEqualTo(200);
            assertThat(f.get(path, "Range", "bytes=0-99").statusCode()).isEqualTo(206);
            assertThat(f.get("/test/missing.bin").statusCode()).isEqualTo(404);
            assertThat(f.get("/test?list-type=2").statusCode()).isEqualTo(200);
            assertThat(f.get("/nobucket/x").statusCode()).isEqualTo(404);
            waitForLines(5);
        }
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> parsed = new ArrayList<>();
        for (ILoggingEvent e : accessLog.events()) {
            String line = e.getFormattedMessage();
            assertThat(line).doesNotContain("\n");
            JsonNode n = json.readTree(line); // throws on anything that is not JSON
            assertThat(n.isObject()).as(line).isTrue();
            assertThat(Instant.parse(n.get("time").asText())).isBefore(Instant.now().plusSeconds(1));
            assertThat(n.get("request_id").asText()).isNotEmpty();
            assertThat(n.get("client").asText()).isEqualTo("127.0.0.1");
            assertThat(n.get("duration_ms").isNumber()).isTrue();
            assertThat(n.get("bytes").isIntegralNumber()).isTrue();
            assertThat(n.get("node").asText()).as("serve.node-id").isEqualTo("access-log-node");
            parsed.add(n);
        }
        assertThat(parsed).hasSize(5);
        // A line is written when its response's last write completed: order them by request id (issued in order).
        parsed.sort(java.util.Comparator.comparingLong(n -> Long.parseLong(
                n.get("request_id").asText().substring(n.get("request_id").asText().indexOf('-') + 1), 16)));
        JsonNode miss = parsed.get(0);
        assertThat(miss.get("method").asText()).isEqualTo("GET");
        assertThat(miss.get("bucket").asText()).isEqualTo("test");
        assertThat(miss.get("key").asText()).isEqualTo(key);
        assertThat(miss.get("status").asInt()).isEqualTo(200);
        assertThat(miss.get("bytes").asLong()).isEqualTo(body.length);
        assertThat(miss.get("cache").asText()).isEqualTo("MISS");
        assertThat(miss.has("range")).isFalse();
        JsonNode ranged = parsed.get(1);
        assertThat(ranged.get("status").asInt()).isEqualTo(206);
        assertThat(ranged.get("range").asText()).isEqualTo("bytes=0-99");
        assertThat(ranged.get("bytes").asLong()).isEqualTo(100);
        assertThat(ranged.get("cache").asText()).isEqualTo("HIT");
        assertThat(parsed.get(2).get("status").asInt()).isEqualTo(404);
        assertThat(parsed.get(3).has("key")).isFalse();
        assertThat(parsed.get(3).get("uri").asText()).isEqualTo("/test?list-type=2");
        assertThat(parsed.get(4).has("bucket")).isFalse();
    }

    private void waitForLines(int n) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (accessLog.events().size() < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }
}
