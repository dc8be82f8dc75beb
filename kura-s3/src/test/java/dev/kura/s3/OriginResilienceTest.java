package dev.kura.s3;

import dev.kura.s3.FaultRelay.Fault;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Origin resilience end to end: S3Proxy behind a {@link FaultRelay} (resets, 500 and 503 SlowDown
 * bursts, stalls, cut bodies) and a refused port, kura in front with the AWS SDK origin client.
 * Asserts what clients get, how many origin requests kura sent, breaker transitions, replica
 * failover and hedging, from the answers, the relay's counts and {@code /metrics}.
 */
class OriginResilienceTest {

    @TempDir
    Path tmp;

    private static BucketConfig.Builder bucket(Fixture f, URI endpoint, OriginResilience r) {
        return f.bucket("/r", "r", endpoint,
                OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY),
                Duration.ofSeconds(20), Duration.ofDays(1)).toBuilder().resilience(r);
    }

    private static OriginResilience retries(int n) {
        return new OriginResilience(n, Duration.ofSeconds(10), Duration.ofMillis(5), Duration.ofMillis(50),
                new OriginResilience.Breaker(false, null, null, null, null, null), null);
    }

    @Test
    void slowDownErrorsAndResetsBeforeTheFirstByteAreRetried() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            byte[] body = ProxyTest.random(200_000, 3);
            f.origin.put(Fixture.BUCKET, "a.bin", body, "application/octet-stream", null);
            f.extraBuckets.add(bucket(f, relay.endpoint(), retries(3)).build());
            f.startProxy();
            relay.script(Fault.SLOW_DOWN, Fault.ERROR_500, Fault.RESET);
            HttpResponse<byte[]> r = f.get("/r/a.bin");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(body);
            assertThat(relay.requests.get()).as("three failed attempts and the answer").isEqualTo(4);
            String m = f.metrics();
            assertThat(value(m, "kura_origin_retries_total", "bucket=\"r\"", "kind=\"server_error\"")).isEqualTo(2);
            assertThat(value(m, "kura_origin_retries_total", "bucket=\"r\"", "kind=\"io\"")).isEqualTo(1);
            assertThat(value(m, "kura_origin_attempts_total", "bucket=\"r\"", "outcome=\"ok\"")).isEqualTo(1);
        }
    }

    @Test
    void withRetriesOffOneOriginRequestIsSentTheSdkAddsNone() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            f.origin.put(Fixture.BUCKET, "a.txt", "x".getBytes(), "text/plain", null);
            f.extraBuckets.add(bucket(f, relay.endpoint(), retries(0)).build());
            f.startProxy();
            relay.script(Fault.SLOW_DOWN);
            HttpResponse<byte[]> r = f.get("/r/a.txt");
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("<Code>ServiceUnavailable</Code>");
            assertThat(relay.requests.get()).isEqualTo(1);
            assertThat(f.get("/r/a.txt").statusCode()).isEqualTo(200);
            assertThat(relay.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void anOpenBreakerAnswersAtOnceServesStaleAndClosesAfterATrial() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            byte[] stale = "stale but useful\n".getBytes();
            f.origin.put(Fixture.BUCKET, "s.txt", stale, "text/plain", "max-age=0");
            f.origin.put(Fixture.BUCKET, "new.txt", "new\n".getBytes(), "text/plain", null);
            OriginResilience r = new OriginResilience(0, null, null, null,
                    new OriginResilience.Breaker(true, 50, 3, 3, Duration.ofSeconds(2), 1), null);
            f.extraBuckets.add(bucket(f, relay.endpoint(), r).build());
            f.startProxy();
            assertThat(f.get("/r/s.txt").statusCode()).isEqualTo(200); // cached, expired at once
            relay.then(Fault.ERROR_500);
            for (int i = 0; i < 3; i++) {
                assertThat(f.get("/r/missing-" + i).statusCode()).isEqualTo(503);
            }
            // The window holds the first GET (ok) and two 500s: 2 of 3 failed, the breaker opened, so
            // the third miss was answered without an origin request.
            int sent = relay.requests.get();
            assertThat(sent).isEqualTo(3);
            String m = f.metrics();
            String ep = "endpoint=\"127.0.0.1:" + relay.endpoint().getPort() + "\"";
            assertThat(value(m, "kura_origin_breaker_state", "bucket=\"r\"", ep, "state=\"open\"")).isEqualTo(1);
            assertThat(value(m, "kura_origin_breaker_transitions_total", "bucket=\"r\"", ep, "to=\"open\"")).isEqualTo(1);
            // Open: no origin request; a miss is answered 503 at once, an expired entry is served stale.
            HttpResponse<byte[]> miss = f.get("/r/new.txt");
            assertThat(miss.statusCode()).isEqualTo(503);
            assertThat(new String(miss.body(), StandardCharsets.UTF_8)).contains("<Code>ServiceUnavailable</Code>",
                    "circuit open");
            // open-for is 2 s: the client is told to come back when the trial request may go through.
            assertThat(miss.headers().firstValue("Retry-After")).hasValueSatisfying(
                    v -> assertThat(Long.parseLong(v)).isBetween(1L, 2L));
            HttpResponse<byte[]> s = f.get("/r/s.txt");
            assertThat(s.statusCode()).isEqualTo(200);
            assertThat(s.headers().firstValue("X-Cache")).contains("STALE");
            assertThat(s.body()).isEqualTo(stale);
            assertThat(relay.requests.get()).isEqualTo(sent);
            // After open-for, one trial request; the origin is back, so it closes.
            relay.then(Fault.PASS);
            Thread.sleep(2_100);
            assertThat(f.get("/r/new.txt").statusCode()).isEqualTo(200);
            m = f.metrics();
            assertThat(value(m, "kura_origin_breaker_state", "bucket=\"r\"", ep, "state=\"closed\"")).isEqualTo(1);
            assertThat(value(m, "kura_origin_breaker_transitions_total", "bucket=\"r\"", ep, "to=\"half_open\""))
                    .isEqualTo(1);
        }
    }

    @Test
    void aReplicaTakesOverWhenThePrimaryRefusesConnections() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay replica = new FaultRelay(f.origin.endpoint().getPort())) {
            for (int i = 0; i < 5; i++) {
                f.origin.put(Fixture.BUCKET, "o" + i, ("object " + i).getBytes(), "text/plain", null);
            }
            OriginResilience r = new OriginResilience(1, null, Duration.ofMillis(5), Duration.ofMillis(5),
                    new OriginResilience.Breaker(true, 50, 2, 2, Duration.ofMinutes(5), 1), null);
            f.extraBuckets.add(bucket(f, URI.create("http://127.0.0.1:" + closedPort), r)
                    .replicas(List.of(replica.endpoint())).build());
            f.startProxy();
            for (int i = 0; i < 5; i++) {
                HttpResponse<byte[]> a = f.get("/r/o" + i);
                assertThat(a.statusCode()).isEqualTo(200);
                assertThat(new String(a.body())).isEqualTo("object " + i);
            }
            assertThat(replica.requests.get()).isEqualTo(5);
            String m = f.metrics();
            String primary = "endpoint=\"127.0.0.1:" + closedPort + "\"";
            assertThat(value(m, "kura_origin_attempts_total", "bucket=\"r\"", primary, "outcome=\"unreachable\""))
                    .as("refused twice, then its breaker opened").isEqualTo(2);
            assertThat(value(m, "kura_origin_breaker_skips_total", "bucket=\"r\"", primary)).isEqualTo(3);
            assertThat(value(m, "kura_origin_breaker_state", "bucket=\"r\"", primary, "state=\"open\"")).isEqualTo(1);
        }
    }

    @Test
    void aStalledRequestIsHedgedToTheReplicaAndTheLoserIsCancelled() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay primary = new FaultRelay(f.origin.endpoint().getPort());
             FaultRelay replica = new FaultRelay(f.origin.endpoint().getPort())) {
            byte[] body = ProxyTest.random(300_000, 4);
            f.origin.put(Fixture.BUCKET, "h.bin", body, "application/octet-stream", null);
            OriginResilience r = new OriginResilience(0, null, null, null,
                    new OriginResilience.Breaker(false, null, null, null, null, null), Duration.ofMillis(200));
            f.extraBuckets.add(bucket(f, primary.endpoint(), r).replicas(List.of(replica.endpoint())).build());
            f.startProxy();
            primary.script(Fault.STALL);
            long t0 = System.nanoTime();
            HttpResponse<byte[]> a = f.get("/r/h.bin");
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(a.statusCode()).isEqualTo(200);
            assertThat(a.body()).isEqualTo(body);
            // Answered by the hedge, long before the primary's 20 s read timeout.
            assertThat(took).isLessThan(Duration.ofSeconds(10));
            assertThat(primary.requests.get()).isEqualTo(1);
            assertThat(replica.requests.get()).isEqualTo(1);
            assertThat(value(f.metrics(), "kura_origin_hedges_total", "bucket=\"r\"", "winner=\"hedge\"")).isEqualTo(1);
            for (int i = 0; i < 100 && primary.openConnections() > 0; i++) {
                Thread.sleep(50);
            }
            assertThat(primary.openConnections()).as("the stalled request's connection was closed").isZero();
        }
    }

    @Test
    void withHedgeAfterP99AStalledRequestIsHedgedOnceTheBucketHasAnEstimate() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            for (int i = 0; i < 25; i++) {
                f.origin.put(Fixture.BUCKET, "w" + i + ".txt", ("w" + i).getBytes(), "text/plain", null);
            }
            f.origin.put(Fixture.BUCKET, "slow.txt", "slow\n".getBytes(), "text/plain", null);
            // hedge-max (the wait without an estimate) is the read timeout: no hedge before there is one.
            OriginResilience r = new OriginResilience(0, null, null, null,
                    new OriginResilience.Breaker(false, null, null, null, null, null), OriginResilience.HedgeAfter.P99,
                    Duration.ofMillis(50), Duration.ofSeconds(20));
            f.extraBuckets.add(bucket(f, relay.endpoint(), r).build());
            f.startProxy();
            for (int i = 0; i < 25; i++) { // 25 answers: the estimate exists (S3Proxy on loopback: a few ms)
                assertThat(f.get("/r/w" + i + ".txt").statusCode()).isEqualTo(200);
            }
            assertThat(value(f.metrics(), "kura_origin_hedges_total", "bucket=\"r\"")).isZero();
            relay.script(Fault.STALL);
            long t0 = System.nanoTime();
            HttpResponse<byte[]> a = f.get("/r/slow.txt");
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(a.statusCode()).isEqualTo(200);
            assertThat(new String(a.body(), StandardCharsets.UTF_8)).isEqualTo("slow\n");
            // Hedged after the estimate (>= hedge-min, 50 ms), not after hedge-max (20 s).
            assertThat(took).isLessThan(Duration.ofSeconds(10));
            assertThat(relay.requests.get()).isEqualTo(27);
            assertThat(value(f.metrics(), "kura_origin_hedges_total", "bucket=\"r\"", "winner=\"hedge\""))
                    .isEqualTo(1);
        }
    }

    @Test
    void aBodyCutMidWayResumesWithARangedGetAndIsNotRetried() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            byte[] body = ProxyTest.random(1 << 20, 5);
            f.origin.put(Fixture.BUCKET, "c.bin", body, "application/octet-stream", null);
            f.extraBuckets.add(bucket(f, relay.endpoint(), retries(3)).build());
            f.startProxy();
            relay.cutAfter = 200_000;
            relay.script(Fault.CUT);
            HttpResponse<byte[]> a = f.get("/r/c.bin");
            assertThat(a.statusCode()).isEqualTo(200);
            assertThat(a.body()).isEqualTo(body);
            assertThat(relay.heads).hasSize(2);
            assertThat(relay.heads.get(1).toLowerCase(java.util.Locale.ROOT)).contains("range: bytes=", "if-match:");
            assertThat(value(f.metrics(), "kura_origin_retries_total", "bucket=\"r\"")).isZero();
        }
    }

    /** The sum of the samples of {@code name} whose labels contain every one of {@code labels}. */
    static double value(String metrics, String name, String... labels) {
        double sum = 0;
        Matcher m = Pattern.compile("(?m)^" + name + "\\{([^}]*)\\} (\\S+)$").matcher(metrics);
        while (m.find()) {
            boolean all = true;
            for (String l : labels) {
                all &= m.group(1).contains(l);
            }
            if (all) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }
}
