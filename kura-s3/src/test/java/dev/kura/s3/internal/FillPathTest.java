package dev.kura.s3.internal;

import dev.kura.io.Backend;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fill path against a {@link FakeOrigin}: single flight, revalidation, stale-if-error, 404, on
 * both io backends, through real sockets and a real disk cache.
 */
class FillPathTest {
    @TempDir
    Path dir;

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void concurrentMissesMakeOneOriginGet(Backend backend) throws Exception {
        try (FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10))) {
            byte[] obj = random(4 << 20, 1);
            p.origin.put("big.bin", obj, null);
            p.origin.bytesPerSecond = 16L << 20; // a quarter of a second of origin time
            List<Future<HttpResponse<byte[]>>> rs = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 50; i++) {
                    rs.add(ex.submit(() -> p.get("/b/big.bin")));
                }
                for (Future<HttpResponse<byte[]>> f : rs) {
                    HttpResponse<byte[]> r = f.get();
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(sha256(r.body())).isEqualTo(sha256(obj));
                }
            }
            assertThat(p.origin.gets("big.bin")).isEqualTo(1);
            HttpResponse<byte[]> hit = p.get("/b/big.bin", "Range", "bytes=100-199");
            assertThat(hit.statusCode()).isEqualTo(206);
            assertThat(hit.headers().firstValue("X-Cache")).hasValue("HIT");
            assertThat(hit.body()).containsExactly(java.util.Arrays.copyOfRange(obj, 100, 200));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void staleEntryIsRevalidatedThenServedStaleWhenTheOriginIsDown(Backend backend) throws Exception {
        try (FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10))) {
            byte[] obj = random(300_000, 2);
            p.origin.put("s.bin", obj, "max-age=0");
            assertThat(p.get("/b/s.bin").headers().firstValue("X-Cache")).hasValue("MISS");
            p.awaitFillsDone(); // the next GET must find the committed (stale) entry, not join the fill
            HttpResponse<byte[]> r = p.get("/b/s.bin");
            assertThat(r.headers().firstValue("X-Cache")).hasValue("REVALIDATED");
            assertThat(r.body()).isEqualTo(obj);
            assertThat(p.origin.gets("s.bin")).isEqualTo(2);

            p.origin.failure = new OriginFailure(OriginFailure.Kind.SERVER_ERROR, 503, "SlowDown", "origin answered 503");
            r = p.get("/b/s.bin");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("X-Cache")).hasValue("STALE");
            assertThat(r.body()).isEqualTo(obj);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void notFoundAtTheOriginIsNotFoundAndDropsTheEntry(Backend backend) throws Exception {
        try (FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10))) {
            assertThat(p.get("/b/none").statusCode()).isEqualTo(404);
            p.origin.put("gone", random(1000, 3), "max-age=0");
            assertThat(p.get("/b/gone").statusCode()).isEqualTo(200);
            // The commit may land just after the client has its last byte.
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (p.cache.lookup("b/gone").isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(p.cache.lookup("b/gone")).isPresent();
            p.awaitFillsDone(); // the next GET must revalidate the committed entry, not join the fill
            p.origin.failure = new OriginFailure(OriginFailure.Kind.NOT_FOUND, 404, "NoSuchKey", "origin answered 404");
            assertThat(p.get("/b/gone").statusCode()).isEqualTo(404);
            assertThat(p.cache.lookup("b/gone")).isEmpty();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aFollowerStreamsTheFillBeforeItCommits(Backend backend) throws Exception {
        try (FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10))) {
            byte[] obj = random(3 << 20, 20);
            p.origin.put("slow.bin", obj, null);
            p.origin.bytesPerSecond = 1L << 20; // three seconds of origin time
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                Future<HttpResponse<byte[]>> leader = ex.submit(() -> p.get("/b/slow.bin"));
                while (p.origin.bytesSent.get() < 256 * 1024) {
                    Thread.sleep(10);
                }
                HttpResponse<java.io.InputStream> follower = p.http.send(java.net.http.HttpRequest.newBuilder(p.url("/b/slow.bin"))
                        .build(), HttpResponse.BodyHandlers.ofInputStream());
                try (java.io.InputStream in = follower.body()) {
                    byte[] first = in.readNBytes(100_000);
                    // The follower has bytes while the origin is still sending: it streams the fill.
                    assertThat(p.origin.bytesSent.get()).isLessThan(obj.length);
                    assertThat(first).isEqualTo(java.util.Arrays.copyOf(obj, 100_000));
                    byte[] rest = in.readAllBytes();
                    assertThat(sha256(concat(first, rest))).isEqualTo(sha256(obj));
                }
                assertThat(sha256(leader.get().body())).isEqualTo(sha256(obj));
            }
            assertThat(p.origin.gets("slow.bin")).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aStalledClientDoesNotHoldTheFillOrAnotherClient(Backend backend) throws Exception {
        try (FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10))) {
            byte[] obj = random(3 << 20, 21); // whole-object entry (below the slice size)
            p.origin.put("stall.bin", obj, null);
            try (java.net.Socket stalled = new java.net.Socket()) {
                stalled.setReceiveBufferSize(4096);
                stalled.connect(new java.net.InetSocketAddress("127.0.0.1", p.server.port()));
                stalled.getOutputStream().write("GET /b/stall.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                // The stalled client reads nothing; the fill still completes and a second client
                // is served in full (before the fix it waited for the stalled client's pace).
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (p.origin.bytesSent.get() < obj.length && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(p.origin.bytesSent.get()).as("the fill went on at the origin's pace").isEqualTo(obj.length);
                HttpResponse<byte[]> other = p.get("/b/stall.bin");
                assertThat(other.statusCode()).isEqualTo(200);
                assertThat(sha256(other.body())).isEqualTo(sha256(obj));
                assertThat(p.origin.gets("stall.bin")).isEqualTo(1);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void followersOfAFailedFillShareTheLeadersAnswer(Backend backend) throws Exception {
        try (FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10))) {
            p.origin.headDelayMillis = 1_500;
            p.origin.failure = new OriginFailure(OriginFailure.Kind.TIMEOUT, 0, null, "origin timed out");
            List<Future<HttpResponse<byte[]>>> rs = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 8; i++) {
                    rs.add(ex.submit(() -> p.get("/b/down.bin")));
                }
                for (Future<HttpResponse<byte[]>> f : rs) {
                    HttpResponse<byte[]> r = f.get();
                    assertThat(r.statusCode()).isEqualTo(503);
                    assertThat(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8))
                            .contains("<Code>ServiceUnavailable</Code>");
                }
            }
            // One origin request for all eight, not one each in series.
            assertThat(p.origin.gets("down.bin")).isEqualTo(1);
        }
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
