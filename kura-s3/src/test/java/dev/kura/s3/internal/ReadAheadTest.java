package dev.kura.s3.internal;

import dev.kura.io.Backend;
import dev.kura.s3.FillConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static dev.kura.s3.internal.FillPathTest.random;
import static dev.kura.s3.internal.FillPathTest.sha256;
import static dev.kura.s3.internal.SliceTest.range;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Read-ahead of slices ({@code serve.fill.read-ahead}) against a {@link FakeOrigin} that counts
 * its requests and how many are in flight at once, on both io backends. The origin waits 150 ms
 * before each answer, so fills started together are seen together.
 */
class ReadAheadTest {
    static final int SLICE = 256 * 1024;
    static final int SLICES = 8;

    @TempDir
    Path dir;

    FakeOriginProxy proxy(Backend backend, int readAhead, int total) throws Exception {
        FakeOriginProxy p = new FakeOriginProxy(dir, backend, Duration.ofSeconds(10), SLICE, 64L << 20,
                new FillConfig(null, null, readAhead, total));
        p.origin.headDelayMillis = 150;
        return p;
    }

    /** An object of 8 slices and a bit, at the origin, with its index (not its slices) cached by a HEAD. */
    static byte[] indexed(FakeOriginProxy p, String key, long seed) throws Exception {
        byte[] obj = random(SLICES * SLICE - 1000, seed);
        p.origin.put(key, obj, null);
        HttpResponse<byte[]> head = p.http.send(java.net.http.HttpRequest.newBuilder(p.url("/b/" + key))
                .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(head.statusCode()).isEqualTo(200);
        long deadline = System.nanoTime() + 10_000_000_000L; // the index is stored after the answer
        while (p.cache.lookup("b/" + key).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(p.cache.lookup("b/" + key)).isPresent();
        return obj;
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aSequentialReaderHasTheNextSlicesFetchedAheadWithinTheBound(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend, 2, 32)) {
            byte[] obj = indexed(p, "seq.bin", 50);
            HttpResponse<byte[]> r = p.get("/b/seq.bin");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(sha256(r.body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("seq.bin")).as("every slice fetched once").isEqualTo(SLICES);
            assertThat(p.origin.maxInFlight.get()).as("the reader's slice and read-ahead ran together")
                    .isGreaterThanOrEqualTo(2).as("at most the reader's slice plus 2 ahead").isLessThanOrEqualTo(3);
            assertThat(p.server.core().metrics.readAheads.get()).isPositive();

            // an open-ended Range from the middle is sequential too: its slices, none before
            byte[] other = indexed(p, "tail.bin", 51);
            long from = 5L * SLICE + 7;
            HttpResponse<byte[]> tail = p.get("/b/tail.bin", "Range", "bytes=" + from + "-");
            assertThat(tail.statusCode()).isEqualTo(206);
            assertThat(sha256(tail.body())).isEqualTo(sha256(range(other, from, other.length - 1)));
            assertThat(p.origin.gets("tail.bin")).isEqualTo(3);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void anOpenEndedRangeMissReadsAheadAfterItsFirstSlice(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend, 3, 32)) {
            byte[] obj = random(SLICES * SLICE + 17, 52);
            p.origin.put("open.bin", obj, null);
            HttpResponse<byte[]> r = p.get("/b/open.bin", "Range", "bytes=0-");
            assertThat(r.statusCode()).isEqualTo(206);
            assertThat(sha256(r.body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("open.bin")).isEqualTo(SLICES + 1);
            assertThat(p.origin.maxInFlight.get()).isBetween(2, 4);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aRandomRangeReaderReadsNothingAhead(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend, 4, 32)) {
            byte[] obj = indexed(p, "rnd.bin", 53);
            HttpResponse<byte[]> r = p.get("/b/rnd.bin", "Range", "bytes=" + (SLICE - 10) + "-" + (3L * SLICE + 9));
            assertThat(r.body()).isEqualTo(range(obj, SLICE - 10, 3L * SLICE + 9));
            HttpResponse<byte[]> footer = p.get("/b/rnd.bin", "Range", "bytes=-1000");
            assertThat(footer.body()).isEqualTo(range(obj, obj.length - 1000, obj.length - 1));
            Thread.sleep(500); // a read-ahead, had one started, would have asked the origin by now
            assertThat(p.origin.gets("rnd.bin")).as("slices 0..3 and the last, nothing ahead").isEqualTo(5);
            assertThat(p.origin.maxInFlight.get()).isEqualTo(1);
            assertThat(p.server.core().metrics.readAheads.get()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void readAheadZeroIsOffAndTheGlobalBoundHolds(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend, 0, 32)) {
            byte[] obj = indexed(p, "off.bin", 54);
            assertThat(sha256(p.get("/b/off.bin").body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("off.bin")).isEqualTo(SLICES);
            assertThat(p.origin.maxInFlight.get()).as("one slice at a time").isEqualTo(1);
        }
        try (FakeOriginProxy p = new FakeOriginProxy(dir.resolve("total"), backend, Duration.ofSeconds(10), SLICE,
                64L << 20, new FillConfig(null, null, 4, 1))) {
            p.origin.headDelayMillis = 150;
            byte[] obj = indexed(p, "one.bin", 55);
            assertThat(sha256(p.get("/b/one.bin").body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("one.bin")).isEqualTo(SLICES);
            assertThat(p.origin.maxInFlight.get()).as("the reader's slice plus one read-ahead in all").isEqualTo(2);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aWholeGetMissIsOneOriginStreamWithNothingReadAhead(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend, 4, 32)) {
            byte[] obj = random(SLICES * SLICE + 5, 56);
            p.origin.put("whole.bin", obj, null);
            p.origin.bytesPerSecond = 8L << 20;
            assertThat(sha256(p.get("/b/whole.bin").body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("whole.bin")).as("the stream fills every slice; read-ahead skips them").isEqualTo(1);
            assertThat(p.server.core().metrics.readAheads.get()).isZero();
        }
    }
}
