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
            p.origin.failure = new OriginFailure(OriginFailure.Kind.NOT_FOUND, 404, "NoSuchKey", "origin answered 404");
            assertThat(p.get("/b/gone").statusCode()).isEqualTo(404);
            assertThat(p.cache.lookup("b/gone")).isEmpty();
        }
    }
}
