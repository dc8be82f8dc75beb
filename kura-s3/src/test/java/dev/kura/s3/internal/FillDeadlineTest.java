package dev.kura.s3.internal;

import dev.kura.config.DataSize;
import dev.kura.io.Backend;
import dev.kura.s3.FillConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.kura.s3.internal.FillPathTest.random;
import static dev.kura.s3.internal.FillPathTest.sha256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The overall fill deadline ({@code serve.fill.deadline} + size / {@code serve.fill.min-rate}):
 * an origin that drips a body is cut off at the configured deadline, and the clients that read
 * the fill (its leader's and a follower) still get the whole object, from the origin, with no
 * wrong byte.
 */
class FillDeadlineTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aDrippingOriginsFillIsAbortedAtTheConfiguredDeadlineAndItsReadersAreAnswered(Backend backend)
            throws Exception {
        // 1 s + 512 KiB at 1 MiB/s = 1.5 s; the origin below would need 25 s for the body.
        FillConfig fill = new FillConfig(Duration.ofSeconds(1), DataSize.ofBytes(1L << 20), null, null);
        try (FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10), 4L << 20, 64L << 20, fill)) {
            byte[] obj = random(512 * 1024, 40);
            p.origin.put("drip.bin", obj, null);
            p.origin.bytesPerSecond = 20 * 1024;
            long start = System.nanoTime();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                Future<HttpResponse<byte[]>> leader = ex.submit(() -> p.get("/b/drip.bin"));
                while (p.origin.bytesSent.get() == 0) {
                    Thread.sleep(5);
                }
                Future<HttpResponse<byte[]>> follower = ex.submit(() -> p.get("/b/drip.bin"));
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (p.origin.closedEarly.get() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertThat(p.origin.closedEarly.get()).as("the fill's origin body was closed").isEqualTo(1);
                long abortedAfter = p.origin.firstClosedEarlyAt - start;
                assertThat(abortedAfter).as("not before the configured deadline")
                        .isGreaterThanOrEqualTo(fill.deadlineNanos(obj.length));
                assertThat(p.origin.bytesSent.get()).as("aborted long before the origin finished").isLessThan(obj.length);
                p.origin.bytesPerSecond = 0; // the rest, resumed from the origin, comes at once
                for (Future<HttpResponse<byte[]>> f : java.util.List.of(leader, follower)) {
                    HttpResponse<byte[]> r = f.get();
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(sha256(r.body())).isEqualTo(sha256(obj));
                }
            }
            // Nothing of the aborted fill was published: the next request fills again, then hits.
            assertThat(p.get("/b/drip.bin").body()).isEqualTo(obj);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (p.cache.lookup("b/drip.bin").isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            HttpResponse<byte[]> hit = p.get("/b/drip.bin");
            assertThat(hit.headers().firstValue("X-Cache")).hasValue("HIT");
            assertThat(sha256(hit.body())).isEqualTo(sha256(obj));
        }
    }

    @Test
    void theDeadlineIsTheBasePlusTheSizeAtTheMinimumRateAndBadValuesAreRefused() {
        FillConfig d = FillConfig.defaults();
        assertThat(d.deadline()).isEqualTo(Duration.ofSeconds(60));
        assertThat(d.minRate().bytes()).isEqualTo(1L << 20);
        assertThat(d.deadlineNanos(0)).isEqualTo(60_000_000_000L);
        assertThat(d.deadlineNanos(10L << 20)).isEqualTo(70_000_000_000L);
        assertThat(d.deadlineNanos(Long.MAX_VALUE)).isPositive(); // saturates, never wraps
        FillConfig fast = new FillConfig(Duration.ofSeconds(5), DataSize.ofBytes(100L << 20), 0, 1);
        assertThat(fast.deadlineNanos(1L << 30)).isCloseTo(15_240_000_000L, org.assertj.core.data.Offset.offset(1_000L));
        assertThatThrownBy(() -> new FillConfig(Duration.ofMillis(10), null, null, null))
                .hasMessageContaining("fill.deadline");
        assertThatThrownBy(() -> new FillConfig(null, DataSize.ofBytes(10), null, null))
                .hasMessageContaining("fill.min-rate");
        assertThatThrownBy(() -> new FillConfig(null, null, 65, null)).hasMessageContaining("fill.read-ahead");
        assertThatThrownBy(() -> new FillConfig(null, null, null, 0)).hasMessageContaining("fill.read-ahead-total");
    }
}
