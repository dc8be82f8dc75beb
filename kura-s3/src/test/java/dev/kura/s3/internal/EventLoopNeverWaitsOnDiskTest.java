package dev.kura.s3.internal;

import dev.kura.cache.BlockingCheck;
import dev.kura.io.Backend;
import io.netty.util.concurrent.FastThreadLocalThread;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import static dev.kura.s3.internal.FillPathTest.random;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 8 §3: no blocking file operation of the cache runs on a Netty event-loop thread, for hits
 * and misses of whole and sliced objects, on both io backends. {@link BlockingCheck} records (and
 * fails) any blocking form called on a thread the test names: here Netty's event-loop threads,
 * which are {@link FastThreadLocalThread}s.
 */
class EventLoopNeverWaitsOnDiskTest {
    static final int SLICE = 256 * 1024;

    @TempDir
    Path dir;

    @AfterEach
    void allow() {
        BlockingCheck.allowAll();
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void hitsAndMissesNeverBlockTheEventLoop(Backend backend) throws Exception {
        try (FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10), SLICE, 0)) {
            byte[] small = random(100_000, 30);
            byte[] mid = random(3 * 64 * 1024 + 17, 31);
            byte[] big = random(5 * SLICE + 99, 32);
            p.origin.put("small", small, null);
            p.origin.put("mid", mid, null);
            p.origin.put("big", big, null);
            BlockingCheck.forbidOn(t -> t instanceof FastThreadLocalThread);
            for (int round = 0; round < 3; round++) { // a miss, then disk hits (the memory tier is off)
                assertThat(p.get("/b/small").body()).isEqualTo(small);
                assertThat(p.get("/b/mid").body()).isEqualTo(mid);
                assertThat(p.get("/b/big").body()).isEqualTo(big);
                HttpResponse<byte[]> r = p.get("/b/big", "Range", "bytes=" + (SLICE + 5) + "-" + (SLICE + 500));
                assertThat(r.body()).isEqualTo(Arrays.copyOfRange(big, SLICE + 5, SLICE + 501));
                r = p.get("/b/mid", "Range", "bytes=10-19");
                assertThat(r.body()).isEqualTo(Arrays.copyOfRange(mid, 10, 20));
            }
            assertThat(BlockingCheck.violations()).isEmpty();
        }
    }
}
