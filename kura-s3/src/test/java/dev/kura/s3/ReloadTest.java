package dev.kura.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.config.ConfigLoader;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hot reload ({@code POST /admin/reload}) against a real config file read by the strict binder, a
 * real S3Proxy origin and real HTTP: under load, with a broken file, with buckets added and removed,
 * with keys that need a restart.
 */
class ReloadTest {
    @TempDir
    Path tmp;

    private static final ObjectMapper JSON = new ObjectMapper();

    record Root(ServeConfig serve) {
    }

    /** The config file's text: bucket {@code test}, plus {@code extra} (same origin bucket) when asked. */
    private static String yaml(Fixture f, String readTimeout, boolean extra, String more) {
        String creds = """
                      path-style: true
                      endpoint: %s
                      access: public
                      credentials: {type: static, access-key-id: %s, secret-access-key: %s}
                """.formatted(f.origin.endpoint(), EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY);
        return """
                serve:
                  listen: 127.0.0.1:0
                  ops-listen: 127.0.0.1:0
                  event-loop-threads: 2
                  shutdown-timeout: 5s
                  admin-token: %s
                %s  buckets:
                    - bucket: test
                      read-timeout: %s
                %s""".formatted(ProxyTest.TOKEN, more, readTimeout, creds)
                + (extra ? "    - bucket: test\n      name: extra\n" + creds : "");
    }

    /** Starts kura from {@code file}, reloading from it. */
    private static void start(Fixture f, Path file) throws Exception {
        f.io = FileIo.create(IoConfig.defaults());
        f.cache = Cache.open(new CacheConfig(f.dir.resolve("cache"), 2L << 30, 0, 1L << 30, 64L << 20, 1L << 20,
                CacheConfig.Durability.NONE), f.io);
        f.proxy = ProxyServer.start(ConfigLoader.load(file, Root.class).serve(), f.cache);
        f.proxy.reloadFrom(() -> new ConfigSource.Read(ConfigLoader.load(file, Root.class).serve(), List.of()));
    }

    private static HttpResponse<byte[]> reload(Fixture f) throws Exception {
        return f.ops("POST", "/admin/reload", "Authorization", "Bearer " + ProxyTest.TOKEN);
    }

    @Test
    void reloadsUnderLoadFailNoRequest() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            List<byte[]> objects = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                byte[] b = ProxyTest.random(50_000 + i * 10_000, 100 + i);
                objects.add(b);
                f.origin.put(Fixture.BUCKET, "o" + i, b, "application/octet-stream", null);
            }
            Path file = tmp.resolve("kura.yaml");
            Files.writeString(file, yaml(f, "10s", true, ""));
            start(f, file);
            int threads = 4;
            int perThread = 80;
            AtomicInteger ok = new AtomicInteger();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            CountDownLatch done = new CountDownLatch(threads);
            for (int t = 0; t < threads; t++) {
                int seed = t;
                Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < perThread; i++) {
                            int n = (seed + i) % objects.size();
                            // Both buckets: 'test' keeps its origin client on some reloads and gets a new
                            // one on others (its read-timeout changes); 'extra' never changes.
                            String path = (i % 2 == 0 ? "/test/o" : "/extra/o") + n;
                            try {
                                HttpResponse<byte[]> r = f.get(path);
                                if (r.statusCode() == 200 && java.util.Arrays.equals(r.body(), objects.get(n))) {
                                    ok.incrementAndGet();
                                } else {
                                    failures.add(path + " -> " + r.statusCode());
                                }
                            } catch (Exception e) {
                                failures.add(path + " -> " + e);
                            }
                        }
                    } finally {
                        done.countDown();
                    }
                });
            }
            List<JsonNode> answers = new ArrayList<>();
            for (int i = 0; i < 6 && done.getCount() > 0; i++) {
                Files.writeString(file, yaml(f, i % 2 == 0 ? "11s" : "10s", true, ""));
                HttpResponse<byte[]> r = reload(f);
                assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
                answers.add(JSON.readTree(r.body()));
                Thread.sleep(100);
            }
            done.await();
            assertThat(failures).isEmpty();
            assertThat(ok.get()).isEqualTo(threads * perThread);
            assertThat(answers).isNotEmpty();
            assertThat(answers.getFirst().get("outcome").asText()).isEqualTo("APPLIED");
            assertThat(answers.getFirst().get("changed").toString()).isEqualTo("[\"test\"]");
            assertThat(answers.getFirst().get("added").size()).isZero();
        }
    }

    @Test
    void aBrokenFileIsRefusedWithItsLineAndTheRunningConfigStays() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "a.txt", "hello".getBytes(StandardCharsets.UTF_8), "text/plain", null);
            Path file = tmp.resolve("kura.yaml");
            Files.writeString(file, yaml(f, "10s", true, ""));
            start(f, file);
            // An unknown key (a typo) on line 7.
            Files.writeString(file, yaml(f, "10s", false, "  lisst-cache-ttl: 5s\n"));
            HttpResponse<byte[]> r = reload(f);
            String body = new String(r.body(), StandardCharsets.UTF_8);
            assertThat(r.statusCode()).as(body).isEqualTo(400);
            JsonNode n = JSON.readTree(body);
            assertThat(n.get("outcome").asText()).isEqualTo("REFUSED");
            assertThat(n.get("error").asText()).startsWith("kura.yaml:7:").contains("lisst-cache-ttl");
            // The old config, with its bucket 'extra', still serves.
            assertThat(f.get("/extra/a.txt").statusCode()).isEqualTo(200);
            // A value the record refuses: the same, with its key.
            Files.writeString(file, yaml(f, "-1s", false, ""));
            r = reload(f);
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(r.body()).get("error").asText()).contains("read-timeout");
            assertThat(f.get("/extra/a.txt").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aBucketAddedThenRemoved() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "a.txt", "hello".getBytes(StandardCharsets.UTF_8), "text/plain", null);
            Path file = tmp.resolve("kura.yaml");
            Files.writeString(file, yaml(f, "10s", false, ""));
            start(f, file);
            HttpResponse<byte[]> before = f.get("/extra/a.txt");
            assertThat(before.statusCode()).isEqualTo(404);
            assertThat(new String(before.body(), StandardCharsets.UTF_8)).contains("<Code>NoSuchBucket</Code>");

            Files.writeString(file, yaml(f, "10s", true, ""));
            JsonNode added = JSON.readTree(reload(f).body());
            assertThat(added.get("added").toString()).isEqualTo("[\"extra\"]");
            assertThat(f.get("/extra/a.txt").body()).isEqualTo("hello".getBytes(StandardCharsets.UTF_8));
            assertThat(f.metrics()).contains("bucket=\"extra\"");

            Files.writeString(file, yaml(f, "10s", false, ""));
            JsonNode removed = JSON.readTree(reload(f).body());
            assertThat(removed.get("removed").toString()).isEqualTo("[\"extra\"]");
            HttpResponse<byte[]> after = f.get("/extra/a.txt");
            assertThat(after.statusCode()).isEqualTo(404);
            assertThat(new String(after.body(), StandardCharsets.UTF_8)).contains("<Code>NoSuchBucket</Code>");
            assertThat(f.get("/test/a.txt").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void keysThatNeedARestartAreReportedAndKept() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "a.txt", "hello".getBytes(StandardCharsets.UTF_8), "text/plain", null);
            Path file = tmp.resolve("kura.yaml");
            Files.writeString(file, yaml(f, "10s", false, ""));
            start(f, file);
            int port = f.proxy.port();
            String changed = yaml(f, "10s", false, "").replace("  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:1\n")
                    .replace("event-loop-threads: 2", "event-loop-threads: 3");
            Files.writeString(file, changed);
            HttpResponse<byte[]> r = reload(f);
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode n = JSON.readTree(r.body());
            assertThat(n.get("restartNeeded").toString()).isEqualTo("[\"serve.event-loop-threads\",\"serve.listen\"]");
            assertThat(f.proxy.port()).isEqualTo(port);
            assertThat(f.get("/test/a.txt").statusCode()).isEqualTo(200);
            // The admin token is live: a rotated one is needed at once.
            Files.writeString(file, changed.replace(ProxyTest.TOKEN, "another-admin-token-000000"));
            assertThat(reload(f).statusCode()).isEqualTo(200);
            assertThat(reload(f).statusCode()).isEqualTo(401);
            assertThat(f.ops("POST", "/admin/reload", "Authorization", "Bearer another-admin-token-000000")
                    .statusCode()).isEqualTo(200);
        }
    }

    /**
     * {@code serve.zero-copy} changes on reload, for the next responses, without a restart: a
     * 3 MiB object (a disk hit: the memory tier takes items up to 1 MiB) goes out copied, then as
     * file regions, then copied again ({@code kura_served_zero_copy_bytes_total}). Needs the
     * io_uring file backend (with NIO nothing is sent this way: ZeroCopyHitTest).
     */
    @Test
    void zeroCopyChangesOnReload() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            byte[] big = ProxyTest.random(3 << 20, 71);
            f.origin.put(Fixture.BUCKET, "big.bin", big, "application/octet-stream", null);
            Path file = tmp.resolve("kura.yaml");
            Files.writeString(file, yaml(f, "10s", false, "  zero-copy: off\n"));
            start(f, file);
            org.junit.jupiter.api.Assumptions.assumeTrue(f.io.backend() == dev.kura.io.Backend.IO_URING,
                    "zero-copy needs the io_uring file backend");
            assertThat(f.get("/test/big.bin").body()).isEqualTo(big);
            f.awaitFillsDone();
            for (int i = 0; i < 3; i++) {
                assertThat(f.get("/test/big.bin").body()).isEqualTo(big);
            }
            assertThat(zeroCopyBytes(f)).as("off: copied").isZero();

            Files.writeString(file, yaml(f, "10s", false, "  zero-copy: all\n"));
            HttpResponse<byte[]> r = reload(f);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).get("restartNeeded").size()).isZero();
            for (int i = 0; i < 5; i++) { // the first hits open the version's send channel
                assertThat(f.get("/test/big.bin").body()).isEqualTo(big);
                Thread.sleep(20);
            }
            double on = zeroCopyBytes(f);
            assertThat(on).as("on after the reload").isPositive();

            Files.writeString(file, yaml(f, "10s", false, "  zero-copy: off\n"));
            assertThat(reload(f).statusCode()).isEqualTo(200);
            for (int i = 0; i < 3; i++) {
                assertThat(f.get("/test/big.bin").body()).isEqualTo(big);
            }
            assertThat(zeroCopyBytes(f)).as("off again").isEqualTo(on);
        }
    }

    private static double zeroCopyBytes(Fixture f) throws Exception {
        return dev.kura.testing.PrometheusText.sum(f.metrics(), "kura_served_zero_copy_bytes_total", "");
    }
}
