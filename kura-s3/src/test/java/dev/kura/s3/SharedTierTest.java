package dev.kura.s3;

import dev.kura.config.DataSize;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shared tier ({@code cache.shared}) end to end: a real S3Proxy origin, a real
 * {@code redis-server} started by the test, and two kura nodes with their own disk caches sharing it.
 */
class SharedTierTest {
    @TempDir
    Path tmp;
    RedisProcess redis;
    Fixture a;
    Fixture b;

    @BeforeEach
    void setUp() throws Exception {
        redis = RedisProcess.start(tmp.resolve("redis"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (b != null) {
            b.close();
        }
        if (a != null) {
            a.close();
        }
        if (redis != null) { // null when redis-server is missing and the test was skipped
            redis.close();
        }
    }

    /** Node a with its origin, node b on the same origin, both with {@code shared} (null: none). */
    private void twoNodes(SharedCacheConfig shared) throws Exception {
        a = new Fixture(tmp.resolve("a"));
        a.shared = shared;
        a.nodeId = "a";
        a.startOrigin().startProxy();
        b = new Fixture(tmp.resolve("b"));
        b.shared = shared;
        b.nodeId = "b";
        b.startProxy(a.origin.endpoint());
        for (Fixture f : List.of(a, b)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (sum(f.metrics(), "kura_shared_connected", "") < 1) {
                assertThat(System.nanoTime()).as("connected to redis").isLessThan(deadline);
                Thread.sleep(20);
            }
        }
    }

    /**
     * The tier at the test's redis with a lookup timeout this loaded test machine meets (the 50 ms
     * default is for a LAN; here a miss by timeout would make these tests flaky, not wrong).
     */
    private SharedCacheConfig tier() {
        return SharedCacheConfig.of(redis.uri()).withTimeout(Duration.ofSeconds(2));
    }

    private void put(String key, byte[] bytes, String cacheControl) {
        a.origin.put(Fixture.BUCKET, key, bytes, "application/octet-stream", cacheControl);
    }

    private static byte[] bytes(int n, long seed) {
        byte[] x = new byte[n];
        new Random(seed).nextBytes(x);
        return x;
    }

    @Test
    void secondNodeIsServedFromTheSharedTierNotTheOrigin() throws Exception {
        twoNodes(tier());
        byte[] obj = bytes(200_000, 1);
        put("shared/one.bin", obj, null);

        HttpResponse<byte[]> first = a.get("/test/shared/one.bin");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("X-Cache")).contains("MISS");
        awaitMetric(a, "kura_shared_writes_total", "outcome=\"ok\"", 1);

        long originGets = a.origin.getCount();
        HttpResponse<byte[]> fromShared = b.get("/test/shared/one.bin");
        assertThat(fromShared.statusCode()).isEqualTo(200);
        assertThat(fromShared.headers().firstValue("X-Cache")).contains("SHARED");
        assertThat(fromShared.body()).isEqualTo(obj);
        assertThat(a.origin.getCount()).as("origin GETs").isEqualTo(originGets);

        // The shared hit filled b's local tiers: the next request is a local hit.
        HttpResponse<byte[]> local = b.get("/test/shared/one.bin");
        assertThat(local.headers().firstValue("X-Cache")).contains("HIT");
        assertThat(local.body()).isEqualTo(obj);
        // A range of it too, from the local entry.
        HttpResponse<byte[]> range = b.get("/test/shared/one.bin", "Range", "bytes=100-199");
        assertThat(range.statusCode()).isEqualTo(206);
        assertThat(range.body()).isEqualTo(java.util.Arrays.copyOfRange(obj, 100, 200));
        assertThat(a.origin.getCount()).as("origin GETs").isEqualTo(originGets);

        String m = b.metrics();
        assertThat(sum(m, "kura_cache_hits_total", "tier=\"shared\"")).isEqualTo(1);
        assertThat(sum(m, "kura_shared_bytes_total", "direction=\"read\"")).isEqualTo(obj.length);
        assertThat(sum(m, "kura_requests_seconds_count", "cache=\"SHARED\"")).isEqualTo(1);
    }

    @Test
    void concurrentMissesOnOneKeyMakeOneSharedLookupAndNoOriginRequest() throws Exception {
        twoNodes(tier());
        byte[] obj = bytes(100_000, 2);
        put("shared/flight.bin", obj, null);
        assertThat(a.get("/test/shared/flight.bin").statusCode()).isEqualTo(200);
        awaitMetric(a, "kura_shared_writes_total", "outcome=\"ok\"", 1);
        long originGets = a.origin.getCount();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<HttpResponse<byte[]>>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                fs.add(pool.submit(() -> b.get("/test/shared/flight.bin")));
            }
            for (Future<HttpResponse<byte[]>> f : fs) {
                HttpResponse<byte[]> r = f.get(60, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo(obj);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(a.origin.getCount()).isEqualTo(originGets);
        String m = b.metrics();
        assertThat(sum(m, "kura_shared_lookups_seconds_count", "outcome=\"hit\"")).isEqualTo(1);
    }

    @Test
    void redisKilledMidLoadFailsNoRequestThenComesBackAfterRestart() throws Exception {
        SharedCacheConfig cfg = SharedCacheConfig.of(redis.uri()).withTimeout(Duration.ofMillis(200))
                .withBreaker(new SharedCacheConfig.Breaker(50, 10, 4, Duration.ofMillis(500), 1));
        twoNodes(cfg);
        int objects = 300;
        List<byte[]> data = new ArrayList<>();
        for (int i = 0; i < objects; i++) {
            data.add(("object " + i + " ").repeat(50 + i).getBytes(StandardCharsets.UTF_8));
            put("load/" + i, data.get(i), null);
        }
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(6);
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            int thread = t;
            fs.add(pool.submit(() -> {
                // Each thread walks the objects from its own start, on both nodes: mostly misses,
                // so the shared tier is asked all along.
                for (int k = 0; k < objects; k++) {
                    int i = (k + thread * 50) % objects;
                    Fixture node = (k + thread) % 2 == 0 ? a : b;
                    try {
                        HttpResponse<byte[]> r = node.get("/test/load/" + i);
                        if (r.statusCode() != 200 || !java.util.Arrays.equals(r.body(), data.get(i))) {
                            failed.incrementAndGet();
                        }
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    }
                    done.incrementAndGet();
                }
                return null;
            }));
        }
        await(() -> done.get() >= objects * 6 / 4, Duration.ofSeconds(120), "a quarter of the load");
        redis.kill();
        int atKill = done.get();
        for (Future<?> f : fs) {
            f.get(300, TimeUnit.SECONDS);
        }
        pool.shutdownNow();
        System.out.printf("SHARED-FIGURE redis killed after %d of %d requests; failed requests: %d%n", atKill,
                objects * 6, failed.get());
        assertThat(failed.get()).as("failed requests").isZero();
        String m = a.metrics() + b.metrics();
        assertThat(sum(m, "kura_shared_errors_total", "")).as("shared tier errors").isPositive();
        // The breaker opened on at least one node: it counts skips or shows the state now.
        assertThat(sum(m, "kura_shared_breaker_skips_total", "") + sum(m, "kura_shared_breaker_state", "state=\"open\""))
                .as("breaker opened").isPositive();

        // Restarted on the same port (empty): a new object goes through it from a to b.
        redis.startAgain();
        byte[] fresh = bytes(5000, 3);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        boolean back = false;
        for (int round = 0; !back && System.nanoTime() < deadline; round++) {
            put("back/" + round, fresh, null);
            assertThat(a.get("/test/back/" + round).statusCode()).isEqualTo(200);
            Thread.sleep(300);
            HttpResponse<byte[]> r = b.get("/test/back/" + round);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(fresh);
            back = r.headers().firstValue("X-Cache").orElse("").equals("SHARED");
        }
        assertThat(back).as("the shared tier serves again after the restart").isTrue();
    }

    @Test
    void aHungServerCostsTheTimeoutThenIsSkippedAndComesBack() throws Exception {
        SharedCacheConfig cfg = SharedCacheConfig.of(redis.uri()).withTimeout(Duration.ofMillis(100))
                .withBreaker(new SharedCacheConfig.Breaker(50, 6, 3, Duration.ofMillis(500), 1));
        twoNodes(cfg);
        byte[] obj = bytes(3000, 9);
        for (int i = 0; i < 20; i++) {
            put("hung/" + i, obj, null);
        }
        redis.pause(true);
        try {
            for (int i = 0; i < 20; i++) {
                HttpResponse<byte[]> r = b.get("/test/hung/" + i);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo(obj);
                assertThat(r.headers().firstValue("X-Cache")).contains("MISS");
            }
            String m = b.metrics();
            assertThat(sum(m, "kura_shared_errors_total", "kind=\"timeout\"")).as("timeouts").isPositive();
            assertThat(sum(m, "kura_shared_breaker_skips_total", "")).as("skipped while open").isPositive();
        } finally {
            redis.pause(false);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        boolean back = false;
        for (int round = 0; !back && System.nanoTime() < deadline; round++) {
            put("hung-back/" + round, obj, null);
            assertThat(a.get("/test/hung-back/" + round).statusCode()).isEqualTo(200);
            Thread.sleep(300);
            back = b.get("/test/hung-back/" + round).headers().firstValue("X-Cache").orElse("").equals("SHARED");
        }
        assertThat(back).as("the shared tier serves again once the server resumes").isTrue();
    }

    @Test
    void aCorruptValueIsNeverServed() throws Exception {
        twoNodes(tier());
        byte[] one = bytes(50_000, 4);
        byte[] two = bytes(50_000, 5);
        put("bad/one", one, null);
        put("bad/two", two, null);
        assertThat(a.get("/test/bad/one").statusCode()).isEqualTo(200);
        assertThat(a.get("/test/bad/two").statusCode()).isEqualTo(200);
        awaitMetric(a, "kura_shared_writes_total", "outcome=\"ok\"", 2);

        RedisClient client = RedisClient.create(redis.uri().toString());
        try (StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE)) {
            List<byte[]> oneKeys = c.sync().keys("kura:{test/bad/one}:v:*");
            List<byte[]> twoKeys = c.sync().keys("kura:{test/bad/two}:v:*");
            assertThat(oneKeys).hasSize(1);
            assertThat(twoKeys).hasSize(1);
            // one: garbage in place of the value; two: one body byte flipped (only the CRC can tell).
            c.sync().set(oneKeys.getFirst(), "garbage, not a kura value".getBytes(StandardCharsets.UTF_8));
            byte[] v = c.sync().get(twoKeys.getFirst());
            v[v.length - 100] ^= 0x01;
            c.sync().set(twoKeys.getFirst(), v);

            long originGets = a.origin.getCount();
            HttpResponse<byte[]> r1 = b.get("/test/bad/one");
            HttpResponse<byte[]> r2 = b.get("/test/bad/two");
            assertThat(r1.body()).isEqualTo(one);
            assertThat(r2.body()).isEqualTo(two);
            assertThat(r1.headers().firstValue("X-Cache")).contains("MISS");
            assertThat(r2.headers().firstValue("X-Cache")).contains("MISS");
            assertThat(a.origin.getCount()).as("both fetched from the origin").isEqualTo(originGets + 2);
            assertThat(sum(b.metrics(), "kura_shared_errors_total", "kind=\"corrupt\"")).isEqualTo(2);
        } finally {
            client.shutdown();
        }
    }

    @Test
    void largeObjectsAndUncacheableAnswersNeverGoToTheSharedTier() throws Exception {
        twoNodes(tier().withMaxObjectSize(DataSize.ofBytes(64 * 1024)));
        byte[] big = bytes(64 * 1024 + 1, 6);
        byte[] noStore = bytes(1000, 7);
        byte[] small = bytes(1000, 8);
        put("skip/big", big, null);
        put("skip/no-store", noStore, "no-store");
        put("skip/small", small, null);
        assertThat(a.get("/test/skip/big").body()).isEqualTo(big);
        assertThat(a.get("/test/skip/no-store").body()).isEqualTo(noStore);
        assertThat(a.get("/test/skip/small").body()).isEqualTo(small);
        awaitMetric(a, "kura_shared_writes_total", "outcome=\"ok\"", 1);
        Thread.sleep(500); // any other write would have been started before the small one's

        RedisClient client = RedisClient.create(redis.uri().toString());
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            assertThat(c.sync().keys("kura:*")).containsExactlyInAnyOrder("kura:{test/skip/small}:etag",
                    "kura:{test/skip/small}:v:" + c.sync().get("kura:{test/skip/small}:etag"));
        } finally {
            client.shutdown();
        }
        assertThat(sum(a.metrics(), "kura_shared_writes_total", "outcome=\"ok\"")).isEqualTo(1);
        long originGets = a.origin.getCount();
        assertThat(b.get("/test/skip/big").headers().firstValue("X-Cache")).contains("MISS");
        assertThat(b.get("/test/skip/no-store").headers().firstValue("X-Cache")).contains("MISS");
        assertThat(b.get("/test/skip/small").headers().firstValue("X-Cache")).contains("SHARED");
        assertThat(a.origin.getCount()).isEqualTo(originGets + 2);
    }

    /**
     * The figure for docs/SCALING.md: the same Zipf workload (s = 1, 200 objects, 800 GETs, one
     * seed) sent round-robin to two nodes, without and then with the shared tier, each on its own
     * keys so both start cold: origin GETs per object requested. Indicative (loopback, shared machine).
     */
    @Test
    void zipfOverTwoNodesWithoutAndWithTheSharedTier() throws Exception {
        twoNodes(tier());
        Fixture plainA = new Fixture(tmp.resolve("plain-a"));
        Fixture plainB = new Fixture(tmp.resolve("plain-b"));
        try {
            plainA.startProxy(a.origin.endpoint());
            plainB.startProxy(a.origin.endpoint());
            int n = 200;
            int requests = 800;
            double[] perObject = new double[2];
            for (String layout : List.of("without", "with")) {
                for (int i = 0; i < n; i++) {
                    put("zipf-" + layout + "/" + i, ("object " + i + " " + layout + " ").repeat(100)
                            .getBytes(StandardCharsets.UTF_8), null);
                }
                List<Fixture> nodes = layout.equals("with") ? List.of(a, b) : List.of(plainA, plainB);
                Zipf zipf = new Zipf(n, 42);
                long before = a.origin.getCount();
                java.util.Set<Integer> asked = new java.util.HashSet<>();
                int local = 0;
                int shared = 0;
                for (int r = 0; r < requests; r++) {
                    int i = zipf.next();
                    asked.add(i);
                    HttpResponse<byte[]> resp = nodes.get(r % 2).get("/test/zipf-" + layout + "/" + i);
                    assertThat(resp.statusCode()).isEqualTo(200);
                    String xc = resp.headers().firstValue("X-Cache").orElse("");
                    local += xc.equals("HIT") ? 1 : 0;
                    shared += xc.equals("SHARED") ? 1 : 0;
                }
                long originGets = a.origin.getCount() - before;
                perObject[layout.equals("with") ? 1 : 0] = originGets / (double) asked.size();
                System.out.printf("SHARED-FIGURE layout=2-nodes-round-robin-%s-shared-tier requests=%d "
                        + "objects-requested=%d local-hits=%d shared-hits=%d origin-gets=%d "
                        + "origin-gets-per-object=%.2f%n", layout, requests, asked.size(), local, shared, originGets,
                        originGets / (double) asked.size());
            }
            assertThat(perObject[1]).as("origin GETs per object with the shared tier").isLessThan(perObject[0]);
        } finally {
            plainB.close();
            plainA.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    private static void await(BooleanSupplier cond, Duration max, String what) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private static void awaitMetric(Fixture f, String name, String label, double atLeast) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        double v;
        while ((v = sum(f.metrics(), name, label)) < atLeast) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(name + "{" + label + "} stayed at " + v + ", expected >= " + atLeast);
            }
            Thread.sleep(20);
        }
    }

    /** The sum of every series of {@code name} whose labels contain {@code label}. */
    private static double sum(String scrape, String name, String label) {
        return dev.kura.testing.PrometheusText.sum(scrape, name, label);
    }
}
