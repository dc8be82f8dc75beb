package dev.kura.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.s3.FaultRelay.Fault;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Grafana dashboard {@code deploy/grafana/kura.json} asks only for metrics kura publishes:
 * every metric name in its PromQL (panel targets and template variables) appears in a running
 * kura's {@code /metrics} once it has served a miss, a hit, a 404, a retried and a hedged origin
 * request, tripped a circuit breaker and throttled a client, with a shared tier configured whose
 * server is down (its meters exist and count errors).
 */
class DashboardMetricsTest {
    private static final Pattern METRIC = Pattern.compile("\\bkura_[a-z0-9_]+\\b");

    @TempDir
    Path tmp;

    /** Every kura metric name in the dashboard's queries. */
    static Set<String> dashboardMetrics(JsonNode n) {
        Set<String> names = new TreeSet<>();
        collect(n, names);
        return names;
    }

    private static void collect(JsonNode n, Set<String> names) {
        if (n.isObject()) {
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                boolean query = e.getKey().equals("expr") || e.getKey().equals("query") || e.getKey().equals("definition");
                if (query && e.getValue().isTextual()) {
                    Matcher m = METRIC.matcher(e.getValue().asText());
                    while (m.find()) {
                        names.add(m.group());
                    }
                } else {
                    collect(e.getValue(), names);
                }
            }
        } else if (n.isArray()) {
            n.forEach(x -> collect(x, names));
        }
    }

    private static BucketConfig bucket(Fixture f, String name, URI endpoint, OriginResilience r) {
        return f.bucket("/" + name, name, endpoint,
                OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY),
                Duration.ofSeconds(20), Duration.ZERO).toBuilder().resilience(r).build();
    }

    @Test
    void everyMetricTheDashboardQueriesIsPublished() throws Exception {
        JsonNode dash = new ObjectMapper().readTree(Files.readString(Path.of("..", "deploy", "grafana", "kura.json")));
        assertThat(dash.get("panels").size()).isGreaterThan(10);
        Set<String> wanted = dashboardMetrics(dash);
        assertThat(wanted).contains("kura_shared_errors_total", "kura_cache_hits_total",
                "kura_requests_seconds_bucket", "kura_served_bytes_total",
                "kura_origin_requests_seconds_bucket", "kura_fills_in_flight", "kura_cache_size_bytes");

        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay retried = new FaultRelay(f.origin.endpoint().getPort());
             FaultRelay broken = new FaultRelay(f.origin.endpoint().getPort())) {
            f.origin.put(Fixture.BUCKET, "m.txt", "m\n".getBytes(), "text/plain", null);
            f.origin.put(Fixture.BUCKET, "x.txt", "x\n".getBytes(), "text/plain", null);
            f.origin.put(Fixture.BUCKET, "y.txt", "y\n".getBytes(), "text/plain", null);
            OriginResilience.Breaker off = new OriginResilience.Breaker(false, null, null, null, null, null);
            f.extraBuckets.add(bucket(f, "r", retried.endpoint(), new OriginResilience(1, null, Duration.ofMillis(5),
                    Duration.ofMillis(10), off, Duration.ofMillis(300))));
            f.extraBuckets.add(bucket(f, "b", broken.endpoint(), new OriginResilience(0, null, null, null,
                    new OriginResilience.Breaker(true, 50, 2, 2, Duration.ofSeconds(60), 1), null)));
            int closed;
            try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
                closed = s.getLocalPort(); // nothing listens here once closed: the shared tier's server is down
            }
            f.shared = SharedCacheConfig.of(URI.create("redis://127.0.0.1:" + closed));
            f.rateLimits = new RateLimits(new RateLimits.Limit(1, 30, null, null), null, null, null);
            f.startProxy();

            assertThat(f.get("/test/m.txt").headers().firstValue("X-Cache")).hasValue("MISS");
            assertThat(f.get("/test/m.txt").headers().firstValue("X-Cache")).hasValue("HIT");
            assertThat(f.get("/test/no-such-key").statusCode()).isEqualTo(404);
            retried.script(Fault.SLOW_DOWN);
            assertThat(f.get("/r/x.txt").statusCode()).as("retried").isEqualTo(200);
            retried.script(Fault.STALL);
            assertThat(f.get("/r/y.txt").statusCode()).as("hedged").isEqualTo(200);
            broken.then(Fault.ERROR_500);
            for (int i = 0; i < 3; i++) { // two failures open the breaker; the third is not sent
                assertThat(f.get("/b/k" + i).statusCode()).isEqualTo(503);
            }
            assertThat(broken.requests.get()).isEqualTo(2);
            boolean throttled = false;
            for (int i = 0; i < 60 && !throttled; i++) {
                throttled = f.get("/test/m.txt").statusCode() == 503;
            }
            assertThat(throttled).isTrue();

            String metrics = f.metrics();
            Set<String> published = new TreeSet<>();
            Matcher m = Pattern.compile("(?m)^(kura_[a-z0-9_]+)[{ ]").matcher(metrics);
            while (m.find()) {
                published.add(m.group(1));
            }
            Set<String> missing = new TreeSet<>(wanted);
            missing.removeAll(published);
            assertThat(missing).as("dashboard metrics not in /metrics").isEmpty();
        }
    }
}
