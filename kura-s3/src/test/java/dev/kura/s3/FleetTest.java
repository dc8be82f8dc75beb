package dev.kura.s3;

import dev.kura.s3.embedded.EmbeddedOrigin;
import dev.kura.testing.Requires;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12 §1: three kura nodes behind a real HAProxy ({@code /usr/sbin/haproxy}, Debian's
 * {@code haproxy}) running {@code deploy/haproxy/haproxy.cfg} as shipped, its addresses given by
 * environment variables with loopback ports. One S3Proxy origin serves all three nodes.
 *
 * <p>Checks: each of 30 objects is fetched from the origin once across the fleet, and a second
 * pass is all HITs on the same nodes ({@code X-Kura-Node}); stopping one node moves only its
 * keys, every request still succeeding; starting it again (same ports, same cache directory)
 * gives it its keys back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetTest {
    static final int OBJECTS = 30;

    @TempDir
    static Path tmp;
    EmbeddedOrigin origin;
    final List<Fixture> nodes = new ArrayList<>();
    Process haproxy;
    int front;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final Map<String, byte[]> objects = new LinkedHashMap<>();

    @BeforeAll
    void start() throws Exception {
        Path exe = Requires.tool("haproxy", "haproxy");
        origin = EmbeddedOrigin.start(tmp.resolve("origin"), "127.0.0.1", 0);
        origin.createBucket(Fixture.BUCKET);
        Random rnd = new Random(12);
        for (int i = 0; i < OBJECTS; i++) {
            byte[] b = new byte[1000 + rnd.nextInt(20_000)];
            rnd.nextBytes(b);
            String key = "set/object-" + i + ".bin";
            objects.put(key, b);
            origin.put(Fixture.BUCKET, key, b, "application/octet-stream", null);
        }
        for (int i = 1; i <= 3; i++) {
            Fixture n = new Fixture(tmp.resolve("node" + i));
            n.nodeId = "kura" + i;
            n.startProxy(origin.endpoint());
            n.listen = "127.0.0.1:" + n.proxy.port(); // a restart keeps the ports HAProxy knows
            n.opsListen = "127.0.0.1:" + n.proxy.opsPort();
            nodes.add(n);
        }
        // /ready answers 503 (CHECKING) until the node's first origin check: wait for READY, so
        // that HAProxy's first checks pass and no object of the first pass lands on a stand-in.
        for (Fixture n : nodes) {
            awaitReady(n);
        }
        front = freePort();
        Path cfg = Path.of("..", "deploy", "haproxy", "haproxy.cfg").toAbsolutePath().normalize();
        assertThat(cfg).exists();
        ProcessBuilder pb = new ProcessBuilder(exe.toString(), "-db", "-f", cfg.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("haproxy.log").toFile());
        pb.environment().put("KURA_FRONT", "127.0.0.1:" + front);
        for (int i = 1; i <= 3; i++) {
            pb.environment().put("KURA" + i, nodes.get(i - 1).listen);
            pb.environment().put("KURA" + i + "_OPS", Integer.toString(nodes.get(i - 1).proxy.opsPort()));
        }
        haproxy = pb.start();
        // HAProxy takes servers as up at start (then checks them): it serves once its port accepts.
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try (java.net.Socket ignored = new java.net.Socket("127.0.0.1", front)) {
                break;
            } catch (java.io.IOException notYet) {
                assertThat(haproxy.isAlive()).as("haproxy exited: %s", log()).isTrue();
                assertThat(System.nanoTime()).as("haproxy not listening in 20 s").isLessThan(deadline);
                Thread.sleep(50);
            }
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (haproxy != null) {
            haproxy.destroy();
            haproxy.waitFor();
        }
        for (Fixture n : nodes) {
            n.close();
        }
        if (origin != null) {
            origin.close();
        }
    }

    @Test
    void eachObjectIsCachedOnceAndALostNodeMovesOnlyItsKeys() throws Exception {
        long before = origin.getCount();
        Map<String, String> first = pass(null);
        assertThat(origin.getCount() - before).as("origin GETs for one pass of %d objects", OBJECTS)
                .isEqualTo(OBJECTS);
        Map<String, String> second = pass("HIT");
        assertThat(second).isEqualTo(first);
        assertThat(origin.getCount() - before).isEqualTo(OBJECTS);
        assertThat(new HashSet<>(first.values())).hasSize(3);

        // Node 2 leaves: its keys move, everyone else's stay; every request succeeds.
        Fixture two = nodes.get(1);
        two.stopProxy();
        Map<String, String> without = awaitMapping(m -> !m.containsValue("kura2"));
        for (Map.Entry<String, String> e : first.entrySet()) {
            if (!e.getValue().equals("kura2")) {
                assertThat(without.get(e.getKey())).as("node of %s", e.getKey()).isEqualTo(e.getValue());
            }
        }
        long moved = first.values().stream().filter("kura2"::equals).count();
        assertThat(moved).isPositive();
        System.out.printf("FLEET-FIGURE keys-per-node=%s moved-when-kura2-stopped=%d of %d%n",
                first.values().stream().collect(java.util.stream.Collectors.groupingBy(v -> v,
                        java.util.TreeMap::new, java.util.stream.Collectors.counting())), moved, OBJECTS);

        // Node 2 comes back on the same ports with its cache: the mapping is as before, its keys HITs.
        two.startProxy(origin.endpoint());
        Map<String, String> back = awaitMapping(m -> m.equals(first));
        assertThat(back).isEqualTo(first);
        Map<String, String> hits = pass("HIT");
        assertThat(hits).isEqualTo(first);
    }

    /**
     * The same Zipf workload (s = 1, 150 objects, 600 GETs, one seed) against one node directly and
     * against the fleet through HAProxy, each on its own key prefix so that both start cold. Each
     * object requested is fetched from the origin exactly once in both layouts; the figures (hit
     * ratio, origin GETs per object requested) go to the test's output, indicative only.
     */
    @Test
    void zipfWorkloadOneNodeVersusThreeBehindHaproxy() throws Exception {
        int n = 150;
        int requests = 600;
        for (String layout : List.of("one", "fleet")) {
            for (int i = 0; i < n; i++) {
                origin.put(Fixture.BUCKET, "zipf-" + layout + "/" + i, ("object " + i + " of " + layout).getBytes(
                        java.nio.charset.StandardCharsets.UTF_8), "application/octet-stream", null);
            }
        }
        for (String layout : List.of("one", "fleet")) {
            Zipf zipf = new Zipf(n, 42);
            String base = layout.equals("one") ? "http://127.0.0.1:" + nodes.get(0).proxy.port()
                    : "http://127.0.0.1:" + front;
            long before = origin.getCount();
            int hits = 0;
            java.util.Set<Integer> asked = new HashSet<>();
            for (int r = 0; r < requests; r++) {
                int i = zipf.next();
                asked.add(i);
                HttpResponse<byte[]> resp = http.send(HttpRequest.newBuilder(URI.create(base + "/" + Fixture.BUCKET
                        + "/zipf-" + layout + "/" + i)).timeout(Duration.ofSeconds(30)).GET().build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                assertThat(resp.statusCode()).isEqualTo(200);
                if (resp.headers().firstValue("X-Cache").orElse("").equals("HIT")) {
                    hits++;
                }
            }
            long originGets = origin.getCount() - before;
            System.out.printf("FLEET-FIGURE layout=%s requests=%d objects-requested=%d hits=%d hit-ratio=%.3f "
                    + "origin-gets=%d origin-gets-per-object=%.2f%n", layout, requests, asked.size(), hits,
                    hits / (double) requests, originGets, originGets / (double) asked.size());
            assertThat(originGets).as(layout).isEqualTo(asked.size());
            assertThat(hits).as(layout).isEqualTo(requests - asked.size());
        }
    }

    /** GETs every object once through HAProxy; checks bytes (and the cache outcome unless null); key to node. */
    private Map<String, String> pass(String cache) throws Exception {
        Map<String, String> nodeOf = new HashMap<>();
        for (Map.Entry<String, byte[]> e : objects.entrySet()) {
            HttpResponse<byte[]> r = get(e.getKey());
            assertThat(r.statusCode()).as("%s: %s %s\n%s", e.getKey(), r.headers().map(),
                    new String(r.body(), java.nio.charset.StandardCharsets.UTF_8), log()).isEqualTo(200);
            assertThat(r.body()).as(e.getKey()).isEqualTo(e.getValue());
            if (cache != null) {
                assertThat(r.headers().firstValue("X-Cache")).as(e.getKey()).contains(cache);
            }
            nodeOf.put(e.getKey(), r.headers().firstValue(ServeConfig.NODE_HEADER).orElseThrow());
        }
        return nodeOf;
    }

    /** Passes (every request must succeed) until the key-to-node map satisfies {@code done}; at most 30 s. */
    private Map<String, String> awaitMapping(Predicate<Map<String, String>> done) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            Map<String, String> m = pass(null);
            if (done.test(m)) {
                return m;
            }
            assertThat(System.nanoTime()).as("mapping not reached in 30 s: %s\n%s", m, log()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static void awaitReady(Fixture n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (n.ops("GET", "/ready").statusCode() != 200) {
            assertThat(System.nanoTime()).as("node %s not ready in 20 s", n.nodeId).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private String log() throws java.io.IOException {
        Path p = tmp.resolve("haproxy.log");
        return Files.exists(p) ? Files.readString(p) : "";
    }

    private HttpResponse<byte[]> get(String key) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + front + "/" + Fixture.BUCKET + "/" + key))
                .timeout(Duration.ofSeconds(30)).GET().build();
        return http.send(req, HttpResponse.BodyHandlers.ofByteArray());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
