package dev.kura.cli;

import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.testing.Requires;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 8, "kill -9 mid-slice then restart": {@code kura serve --config} in a child JVM, in front of
 * a paced origin ({@link PacedOrigin}) that logs every GET. Two slices are cached, a third is being
 * written when the child gets SIGKILL; a new child on the same cache directory then serves the
 * whole object and ranges across slice boundaries with the origin's SHA-256, and asks the origin
 * only for the interrupted slice and the ones never fetched: the two committed slices and the
 * object's index survived the kill. On both io backends.
 */
class KillMidSliceTest {
    static final int SLICE = 1 << 20;

    @TempDir
    Path tmp;

    private ServeChild start(Path config, String tag) throws Exception {
        return ServeChild.start(config, tmp.resolve("stderr-" + tag + ".txt"), "256m");
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static HttpResponse<byte[]> get(HttpClient http, ServeChild c, String range) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + "/b/big.bin"))
                .timeout(Duration.ofSeconds(60));
        if (range != null) {
            b.header("Range", "bytes=" + range);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aKillMidSliceLosesOnlyThatSlice(Backend backend) throws Exception {
        if (backend == Backend.IO_URING) {
            try (FileIo probe = FileIo.create(IoConfig.defaults())) {
                Requires.kernel(probe.info().backend() == Backend.IO_URING, "io_uring", probe.info().reason());
            }
        }
        byte[] obj = new byte[6 * SLICE - 12_345]; // six slices, the last one short
        new Random(81).nextBytes(obj);
        try (PacedOrigin origin = new PacedOrigin("bucket")) {
            origin.put("big.bin", obj, "\"v1\"");
            Path config = tmp.resolve("kura.yaml");
            Files.writeString(config, """
                    io:
                      backend: %s
                    cache:
                      dir: %s
                      slice-size: 1MiB
                      max-size: 1GiB
                    serve:
                      listen: 127.0.0.1:0
                      ops-listen: 127.0.0.1:0
                      access-log: false
                      buckets:
                        - prefix: /b
                          bucket: bucket
                          endpoint: %s
                          path-style: true
                          region: us-east-1
                          credentials:
                            type: anonymous
                          access: public
                          default-ttl: 1h
                          connect-timeout: 2s
                          read-timeout: 20s
                    """.formatted(backend.name().toLowerCase(java.util.Locale.ROOT), tmp.resolve("cache"),
                    origin.endpoint()));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

            ServeChild first = start(config, "first");
            try {
                // Slices 0 and 1, committed (a bounded Range reads nothing ahead).
                HttpResponse<byte[]> two = get(http, first, "0-" + (2 * SLICE - 1));
                assertThat(two.statusCode()).isEqualTo(206);
                assertThat(sha256(two.body())).isEqualTo(sha256(Arrays.copyOf(obj, 2 * SLICE)));
                awaitHit(http, first, "0-0");
                awaitHit(http, first, SLICE + "-" + SLICE);
                // Slice 2 at 512 KiB/s: killed when half of it has been written.
                origin.bytesPerSecond = 512 * 1024;
                CompletableFuture<HttpResponse<byte[]>> cut = http.sendAsync(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + first.port() + "/b/big.bin"))
                        .header("Range", "bytes=" + 2 * SLICE + "-" + (3 * SLICE - 1)).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                long deadline = System.nanoTime() + 30_000_000_000L;
                while ((origin.getAt(2L * SLICE) == null || origin.getAt(2L * SLICE).sent < SLICE / 2)
                        && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(origin.getAt(2L * SLICE)).isNotNull();
                long sentAtKill = origin.getAt(2L * SLICE).sent;
                assertThat(sentAtKill).as("slice 2 is half written").isBetween((long) SLICE / 2, (long) SLICE - 1);
                first.process().destroyForcibly(); // SIGKILL
                assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(first.process().exitValue()).isEqualTo(128 + 9);
                cut.handle((r, e) -> null).get(30, TimeUnit.SECONDS);
            } finally {
                first.process().destroyForcibly();
            }

            origin.bytesPerSecond = 0;
            int before = origin.gets.size();
            ServeChild second = start(config, "second");
            try {
                HttpResponse<byte[]> whole = get(http, second, null);
                assertThat(whole.statusCode()).isEqualTo(200);
                assertThat(sha256(whole.body())).isEqualTo(sha256(obj));
                long n = obj.length;
                for (long[] rg : new long[][]{{SLICE - 5, SLICE + 5}, {2L * SLICE - 1, 2L * SLICE}, {0, 0},
                        {n - 1, n - 1}, {SLICE - 1, 4L * SLICE}, {5L * SLICE - 3, n - 1}, {0, n - 1}}) {
                    HttpResponse<byte[]> r = get(http, second, rg[0] + "-" + rg[1]);
                    assertThat(r.statusCode()).isEqualTo(206);
                    assertThat(sha256(r.body())).as("bytes %d-%d", rg[0], rg[1])
                            .isEqualTo(sha256(Arrays.copyOfRange(obj, (int) rg[0], (int) rg[1] + 1)));
                }
                List<PacedOrigin.Get> after = origin.gets.subList(before, origin.gets.size());
                assertThat(after).as("only ranged GETs of single slices: the index survived").allSatisfy(g -> {
                    assertThat(g.ranged).isTrue();
                    assertThat(g.first % SLICE).isZero();
                });
                assertThat(after.stream().map(g -> g.first / SLICE).sorted().toList())
                        .as("the interrupted slice 2 and the never fetched 3..5, each once; not 0 or 1")
                        .containsExactly(2L, 3L, 4L, 5L);
                assertThat(after.stream().mapToLong(g -> g.sent).sum()).isEqualTo(n - 2L * SLICE);
            } finally {
                second.process().destroy();
                if (!second.process().waitFor(30, TimeUnit.SECONDS)) {
                    second.process().destroyForcibly();
                }
            }
        }
    }

    /** Waits until a request of {@code range} is a cache hit (the slice's commit may trail its last byte). */
    private static void awaitHit(HttpClient http, ServeChild c, String range) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        String xcache = "";
        while (System.nanoTime() < deadline) {
            xcache = get(http, c, range).headers().firstValue("X-Cache").orElse("");
            if (xcache.equals("HIT")) {
                return;
            }
            Thread.sleep(20);
        }
        assertThat(xcache).as("X-Cache of bytes=%s", range).isEqualTo("HIT");
    }
}
