package dev.kura.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.s3.FaultRelay.Fault;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Prewarm end to end through the admin API ({@code /admin/prewarm} on the ops listener): S3Proxy as
 * the origin behind a counting relay, a real cache on disk, kura in front, the JDK's HTTP client.
 */
class PrewarmTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "prewarm-test-token-0123456789";

    @TempDir
    Path tmp;

    /** A mapping {@code r} whose origin is {@code relay}, with {@code retries} retries and no breaker. */
    private static BucketConfig bucket(Fixture f, URI relay, int retries) {
        return f.bucket("/r", "r", relay,
                OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY),
                Duration.ofSeconds(20), Duration.ofDays(1)).toBuilder()
                .resilience(new OriginResilience(retries, Duration.ofSeconds(10), Duration.ofMillis(5),
                        Duration.ofMillis(50), new OriginResilience.Breaker(false, null, null, null, null, null), null))
                .build();
    }

    private static JsonNode json(HttpResponse<byte[]> r) throws Exception {
        return JSON.readTree(r.body());
    }

    private static String start(Fixture f, String query) throws Exception {
        HttpResponse<byte[]> r = f.ops("POST", "/admin/prewarm?" + query, "Authorization", "Bearer " + TOKEN);
        assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(202);
        return json(r).get("id").asText();
    }

    private static JsonNode progress(Fixture f, String id) throws Exception {
        HttpResponse<byte[]> r = f.ops("GET", "/admin/prewarm/" + id, "Authorization", "Bearer " + TOKEN);
        assertThat(r.statusCode()).isEqualTo(200);
        return json(r);
    }

    private static JsonNode awaitEnd(Fixture f, String id) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode p = progress(f, id);
            String s = p.get("state").asText();
            if (s.equals("DONE") || s.equals("CANCELLED") || s.equals("FAILED")) {
                return p;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("prewarm " + id + " did not end: " + progress(f, id));
    }

    @Test
    void prewarmFillsEveryObjectOfThePrefixThenGetsAreHitsAndASecondRunSkipsThemAll() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            f.sliceSize = 256 * 1024;
            List<byte[]> bodies = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                // the last one is sliced (3 slices and a bit)
                byte[] b = ProxyTest.random(i == 5 ? 800_000 : 10_000 + i * 1000, 40 + i);
                bodies.add(b);
                f.origin.put(Fixture.BUCKET, "data/o" + i + ".bin", b, "application/octet-stream", null);
            }
            f.origin.put(Fixture.BUCKET, "other/x.txt", "not prewarmed\n".getBytes(StandardCharsets.UTF_8), "text/plain", null);
            f.adminToken = TOKEN;
            f.extraBuckets.add(bucket(f, relay.endpoint(), 2));
            f.startProxy();

            JsonNode p = awaitEnd(f, start(f, "bucket=r&prefix=data/&concurrency=3"));
            assertThat(p.get("state").asText()).isEqualTo("DONE");
            assertThat(p.get("listed").asLong()).isEqualTo(6);
            assertThat(p.get("done").asLong()).isEqualTo(6);
            assertThat(p.get("skipped").asLong()).isZero();
            assertThat(p.get("failed").asLong()).as(p.toString()).isZero();
            assertThat(p.get("bytes").asLong()).isEqualTo(bodies.stream().mapToLong(b -> b.length).sum());
            assertThat(p.get("listingComplete").asBoolean()).isTrue();
            int originRequests = relay.requests.get();
            assertThat(originRequests).as("one GET per object (the sliced one in one stream)").isEqualTo(6);

            for (int i = 0; i < 6; i++) {
                HttpResponse<byte[]> r = f.get("/r/data/o" + i + ".bin");
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.headers().firstValue("X-Cache")).as("object " + i).contains("HIT");
                assertThat(r.body()).isEqualTo(bodies.get(i));
            }
            assertThat(relay.requests.get()).as("no origin GET after the prewarm").isEqualTo(originRequests);
            assertThat(f.get("/r/other/x.txt").headers().firstValue("X-Cache"))
                    .as("outside the prefix: not prewarmed").contains("MISS");

            JsonNode again = awaitEnd(f, start(f, "bucket=r&prefix=data/"));
            assertThat(again.get("state").asText()).isEqualTo("DONE");
            assertThat(again.get("skipped").asLong()).isEqualTo(6);
            assertThat(again.get("done").asLong()).isZero();
            assertThat(again.get("bytes").asLong()).isZero();
            assertThat(relay.requests.get()).as("a second prewarm sends no object request")
                    .isEqualTo(originRequests + 1);
        }
    }

    @Test
    void aFailingObjectIsCountedAndTheOthersAreFilled() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            for (int i = 0; i < 5; i++) {
                f.origin.put(Fixture.BUCKET, "p/k" + i, ProxyTest.random(5_000, i), "application/octet-stream", null);
            }
            f.adminToken = TOKEN;
            f.extraBuckets.add(bucket(f, relay.endpoint(), 0));
            f.startProxy();
            relay.script(Fault.ERROR_500); // the first object GET (concurrency 1: p/k0)
            JsonNode p = awaitEnd(f, start(f, "bucket=r&prefix=p/&concurrency=1"));
            assertThat(p.get("state").asText()).isEqualTo("DONE");
            assertThat(p.get("failed").asLong()).isEqualTo(1);
            assertThat(p.get("done").asLong()).isEqualTo(4);
            assertThat(p.get("errors").get(0).asText()).startsWith("p/k0: ");
            assertThat(f.get("/r/p/k1").headers().firstValue("X-Cache")).contains("HIT");
            assertThat(f.get("/r/p/k0").headers().firstValue("X-Cache")).as("the failed one was not cached")
                    .contains("MISS");
        }
    }

    @Test
    void theByteRateBoundsTheJobAndDeleteCancelsIt() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            int n = 40;
            int size = 64 * 1024;
            for (int i = 0; i < n; i++) {
                f.origin.put(Fixture.BUCKET, "slow/" + String.format("%03d", i), ProxyTest.random(size, i),
                        "application/octet-stream", null);
            }
            f.adminToken = TOKEN;
            f.extraBuckets.add(bucket(f, relay.endpoint(), 2));
            f.startProxy();
            long rate = 128 * 1024;
            long t0 = System.nanoTime();
            String id = start(f, "bucket=r&prefix=slow/&concurrency=2&rate=128KiB/s");
            Thread.sleep(2_000);
            JsonNode mid = progress(f, id);
            double seconds = (System.nanoTime() - t0) / 1e9;
            // The allowance: a second's burst, the rate since the start, and the objects in flight.
            assertThat(mid.get("bytes").asLong()).as(mid.toString())
                    .isLessThanOrEqualTo((long) (rate + rate * seconds + 2L * size));
            assertThat(mid.get("state").asText()).isEqualTo("RUNNING");

            HttpResponse<byte[]> del = f.ops("DELETE", "/admin/prewarm/" + id, "Authorization", "Bearer " + TOKEN);
            assertThat(del.statusCode()).isEqualTo(202);
            JsonNode end = awaitEnd(f, id);
            assertThat(end.get("state").asText()).isEqualTo("CANCELLED");
            long handled = end.get("done").asLong() + end.get("failed").asLong() + end.get("skipped").asLong();
            assertThat(handled).as("cancelled before the end").isLessThan(n);
            assertThat(end.get("listed").asLong()).as("listed = handled once it ended").isEqualTo(handled);
            int after = relay.requests.get();
            Thread.sleep(1_000);
            assertThat(relay.requests.get()).as("no object starts after the cancel").isEqualTo(after);
        }
    }

    @Test
    void aDryRunCountsWhatWouldBeFetchedAndFetchesNothing() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            for (int i = 0; i < 3; i++) {
                f.origin.put(Fixture.BUCKET, "q/" + i, ProxyTest.random(1_000 * (i + 1), i), "application/octet-stream",
                        null);
            }
            f.adminToken = TOKEN;
            f.extraBuckets.add(bucket(f, relay.endpoint(), 2));
            f.startProxy();
            assertThat(f.get("/r/q/0").statusCode()).isEqualTo(200); // cached: a dry run skips it
            int before = relay.requests.get();
            JsonNode p = awaitEnd(f, start(f, "bucket=r&prefix=q/&dry-run=true"));
            assertThat(p.get("state").asText()).isEqualTo("DONE");
            assertThat(p.get("dryRun").asBoolean()).isTrue();
            assertThat(p.get("skipped").asLong()).isEqualTo(1);
            assertThat(p.get("done").asLong()).as("would be fetched").isEqualTo(2);
            assertThat(p.get("bytes").asLong()).isEqualTo(2_000 + 3_000);
            assertThat(relay.requests.get()).as("no object request").isEqualTo(before);
            assertThat(f.get("/r/q/1").headers().firstValue("X-Cache")).contains("MISS");
        }
    }

    @Test
    void badCallsGetClearAnswers() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.adminToken = TOKEN;
            f.startProxy();
            assertThat(f.ops("POST", "/admin/prewarm?bucket=test").statusCode()).as("no token").isEqualTo(401);
            String auth = "Bearer " + TOKEN;
            assertThat(f.ops("POST", "/admin/prewarm?bucket=nope", "Authorization", auth).statusCode()).isEqualTo(404);
            assertThat(f.ops("POST", "/admin/prewarm", "Authorization", auth).statusCode()).isEqualTo(400);
            assertThat(f.ops("POST", "/admin/prewarm?bucket=test&concurrency=0", "Authorization", auth).statusCode())
                    .isEqualTo(400);
            assertThat(f.ops("POST", "/admin/prewarm?bucket=test&rate=fast", "Authorization", auth).statusCode())
                    .isEqualTo(400);
            assertThat(f.ops("GET", "/admin/prewarm/pw-0", "Authorization", auth).statusCode()).isEqualTo(404);
            assertThat(f.ops("PUT", "/admin/prewarm", "Authorization", auth).statusCode()).isEqualTo(405);
            HttpResponse<byte[]> list = f.ops("GET", "/admin/prewarm", "Authorization", auth);
            assertThat(list.statusCode()).isEqualTo(200);
            assertThat(json(list).get("jobs").isArray()).isTrue();
        }
    }
}
