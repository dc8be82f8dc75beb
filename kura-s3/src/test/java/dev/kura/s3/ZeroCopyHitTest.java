package dev.kura.s3;

import dev.kura.io.Backend;
import dev.kura.net.Transport;
import dev.kura.testing.PrometheusText;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.RandomAccessFile;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.kura.s3.ChainTest.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve.zero-copy}: disk hits go out as file regions (sendfile / splice) after their blocks
 * were checked, with no memory tier so that every hit is a disk hit. Whole objects, ranges across
 * blocks and across slices, the first and the last byte are compared with the origin's by SHA-256,
 * and {@code kura_served_zero_copy_bytes_total} shows which bytes went out without a copy: on
 * io_uring every body of more than one chunk (a body of one chunk goes out with its head in one
 * copied write), on NIO none (its reads cannot come from the page cache without waiting, so there
 * is nothing checked to send). A block corrupted on disk under a running server is caught before it
 * is sent: the response finishes from the origin with the right bytes.
 *
 * <p>Run on every Netty transport, since each sends a file region its own way: epoll with
 * {@code sendfile(2)} (and {@code TCP_CORK} around the regions), io_uring with {@code splice(2)}
 * through a pipe (and the cork), NIO with {@code FileChannel.transferTo}. A native transport
 * that does not load here is skipped.
 */
class ZeroCopyHitTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> setups() {
        return Stream.of(Arguments.of(Backend.IO_URING, Transport.IO_URING), Arguments.of(Backend.IO_URING, Transport.EPOLL),
                Arguments.of(Backend.IO_URING, Transport.NIO), Arguments.of(Backend.NIO, Transport.AUTO));
    }

    @ParameterizedTest(name = "io {0}, transport {1}")
    @MethodSource("setups")
    void diskHitsGoOutAsCheckedFileRegions(Backend backend, Transport transport) throws Exception {
        assumeTransport(transport);
        byte[] whole = ProxyTest.random(3 * 1024 * 1024 + 777, 51);   // one entry, 13 chunks
        byte[] sliced = ProxyTest.random(5 * 1024 * 1024 + 99, 52);   // slices of 4 MiB
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.ioBackend = backend;
            f.memoryTierBytes = 0;
            f.sliceSize = 4L << 20;
            f.zeroCopy = ZeroCopy.ALL;
            f.transport = transport;
            f.origin.put(Fixture.BUCKET, "whole.bin", whole, "application/octet-stream", null);
            f.origin.put(Fixture.BUCKET, "sliced.bin", sliced, "application/octet-stream", null);
            f.startProxy();
            if (transport != Transport.AUTO) {
                assertThat(f.proxy.transport()).isEqualTo(transport.configName());
            }
            for (String key : new String[] {"whole.bin", "sliced.bin"}) {
                assertThat(f.get("/test/" + key).headers().firstValue("X-Cache")).contains("MISS");
            }
            f.awaitFillsDone();
            // The first hits open each version's send channel (off the event loop); until it is
            // open their chunks are copied.
            for (int i = 0; i < 3; i++) {
                assertThat(sha256(f.get("/test/whole.bin").body())).isEqualTo(sha256(whole));
                assertThat(sha256(f.get("/test/sliced.bin").body())).isEqualTo(sha256(sliced));
                Thread.sleep(50);
            }
            double before = zeroCopyBytes(f);

            long expected = 0;
            HttpResponse<byte[]> hit = f.get("/test/whole.bin");
            assertThat(hit.headers().firstValue("X-Cache")).contains("HIT");
            assertThat(sha256(hit.body())).isEqualTo(sha256(whole));
            expected += whole.length;
            expected += range(f, "whole.bin", whole, 100_000, 400_000);
            expected += range(f, "whole.bin", whole, 65_530, 65_530 + 300_000); // from a block's last bytes on
            assertThat(sha256(f.get("/test/sliced.bin").body())).isEqualTo(sha256(sliced));
            expected += sliced.length;
            expected += range(f, "sliced.bin", sliced, (4 << 20) - 170_000, (4 << 20) + 170_000); // across slices
            // one-chunk bodies: copied, with their heads
            range(f, "whole.bin", whole, 0, 0);
            range(f, "whole.bin", whole, whole.length - 1, whole.length - 1);
            range(f, "sliced.bin", sliced, sliced.length - 1, sliced.length - 1);

            double sent = zeroCopyBytes(f) - before;
            if (backend == Backend.IO_URING) {
                assertThat(sent).as("bytes sent as file regions").isEqualTo((double) expected);
            } else {
                assertThat(sent).as("NIO has no checked page-cache bytes to send").isZero();
            }

            // A block in the middle of whole.bin goes bad on disk while kura runs: the check before
            // the send catches it, the rest of the response comes from the origin, the entry is dropped.
            flipInEntryFile(tmp.resolve("cache"), whole.length, 1_500_000);
            long gets = f.origin.getCount();
            HttpResponse<byte[]> healed = f.get("/test/whole.bin");
            assertThat(healed.statusCode()).isEqualTo(200);
            assertThat(sha256(healed.body())).isEqualTo(sha256(whole));
            assertThat(f.origin.getCount()).as("the rest came from the origin").isGreaterThan(gets);
            f.awaitFillsDone();
        }
    }

    /**
     * Memory-tier hits of 64 KiB or more are held in memory files and go out as regions of them:
     * a body of several chunks, a body of one chunk (head, then the region), and a range of them,
     * each compared by SHA-256 and counted by the metric to the byte; a range shorter than 64 KiB
     * and an entry smaller than 64 KiB (plain memory) are copied, and so are disk hits
     * ({@code serve.zero-copy: memory}).
     */
    @ParameterizedTest(name = "io {0}, transport {1}")
    @MethodSource("setups")
    void memoryHitsGoOutAsRegionsOfMemoryFiles(Backend backend, Transport transport) throws Exception {
        assumeMemoryFiles(transport);
        byte[] chunks = ProxyTest.random(900_000, 61);  // four chunks, the last 113,568 bytes
        byte[] one = ProxyTest.random(200_000, 62);     // one chunk
        byte[] small = ProxyTest.random(60_000, 63);    // below the memory-file size
        byte[] onDisk = ProxyTest.random(2_000_000, 64); // above the memory tier's 1 MiB items
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.ioBackend = backend;
            f.zeroCopy = ZeroCopy.MEMORY;
            f.transport = transport;
            f.origin.put(Fixture.BUCKET, "disk.bin", onDisk, "application/octet-stream", null);
            f.origin.put(Fixture.BUCKET, "chunks.bin", chunks, "application/octet-stream", null);
            f.origin.put(Fixture.BUCKET, "one.bin", one, "application/octet-stream", null);
            f.origin.put(Fixture.BUCKET, "small.bin", small, "application/octet-stream", null);
            f.startProxy();
            for (String key : new String[] {"chunks.bin", "one.bin", "small.bin"}) {
                assertThat(f.get("/test/" + key).headers().firstValue("X-Cache")).contains("MISS");
            }
            HttpResponse<byte[]> diskMiss = f.get("/test/disk.bin");
            assertThat(diskMiss.statusCode()).isEqualTo(200);
            assertThat(diskMiss.body().length).isEqualTo(onDisk.length);
            assertThat(sha256(diskMiss.body())).isEqualTo(sha256(onDisk));
            f.awaitFillsDone();
            double before = zeroCopyBytes(f);

            long expected = 0;
            for (int i = 0; i < 2; i++) {
                HttpResponse<byte[]> hit = f.get("/test/chunks.bin");
                assertThat(hit.headers().firstValue("X-Cache")).contains("HIT");
                assertThat(sha256(hit.body())).isEqualTo(sha256(chunks));
                expected += chunks.length;
                HttpResponse<byte[]> oneHit = f.get("/test/one.bin");
                assertThat(oneHit.headers().firstValue("Content-Length")).contains("200000");
                assertThat(sha256(oneHit.body())).isEqualTo(sha256(one));
                expected += one.length;
            }
            expected += range(f, "chunks.bin", chunks, 100_000, 800_000);
            expected += range(f, "one.bin", one, 1, 199_999);
            // copied: a range under 64 KiB, an entry under 64 KiB
            range(f, "chunks.bin", chunks, 0, 1000);
            range(f, "chunks.bin", chunks, chunks.length - 1, chunks.length - 1);
            assertThat(sha256(f.get("/test/small.bin").body())).isEqualTo(sha256(small));
            for (int i = 0; i < 3; i++) { // disk hits (the first ones open the send channel, were it used)
                HttpResponse<byte[]> diskHit = f.get("/test/disk.bin");
                assertThat(diskHit.statusCode()).isEqualTo(200);
                assertThat(sha256(diskHit.body())).isEqualTo(sha256(onDisk));
            }

            assertThat(zeroCopyBytes(f) - before).as("memory-hit bytes sent as file regions").isEqualTo((double) expected);
        }
    }

    /**
     * A sliced object whose slices are in the memory tier goes out as regions of their memory files,
     * as a one-entry object does, each loan stopping at its slice's end: a whole GET (three slices),
     * a range across a slice boundary, one whose part in the next slice is under 64 KiB (that part
     * copied), and a body of one chunk that crosses a boundary (read and copied with its head).
     * Every body is compared by SHA-256 and the region bytes are counted to the byte.
     */
    @ParameterizedTest(name = "io {0}, transport {1}")
    @MethodSource("setups")
    void memoryTierSlicesGoOutAsRegionsOfMemoryFiles(Backend backend, Transport transport) throws Exception {
        assumeMemoryFiles(transport);
        int slice = 512 * 1024;
        byte[] sliced = ProxyTest.random(2 * slice + 251_424, 65); // slices of 512, 512 and 245.5 KiB
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.ioBackend = backend;
            f.zeroCopy = ZeroCopy.MEMORY;
            f.transport = transport;
            f.sliceSize = slice; // under the memory tier's 1 MiB items: slices are promoted
            f.origin.put(Fixture.BUCKET, "sliced.bin", sliced, "application/octet-stream", null);
            f.startProxy();
            assertThat(f.get("/test/sliced.bin").headers().firstValue("X-Cache")).contains("MISS");
            f.awaitFillsDone();
            // Disk hits are promoted after they are served: hit until a whole GET goes out as regions.
            boolean allRegions = false;
            for (int i = 0; i < 100 && !allRegions; i++) {
                double before = zeroCopyBytes(f);
                HttpResponse<byte[]> hit = f.get("/test/sliced.bin");
                assertThat(sha256(hit.body())).isEqualTo(sha256(sliced));
                allRegions = zeroCopyBytes(f) - before == sliced.length;
                if (!allRegions) {
                    Thread.sleep(20);
                }
            }
            assertThat(allRegions).as("a whole GET of the promoted slices went out as regions").isTrue();

            double before = zeroCopyBytes(f);
            assertThat(range(f, "sliced.bin", sliced, 400_000, 700_000)).isEqualTo(300_001);
            range(f, "sliced.bin", sliced, 250_000, slice + 5_712); // the last 5,713 bytes copied
            range(f, "sliced.bin", sliced, slice - 50_000, slice + 50_000); // one chunk across a boundary: copied
            range(f, "sliced.bin", sliced, 2 * slice, sliced.length - 1); // the last slice, one chunk
            // The metric is added when a response's last write completes, which may come after the
            // client has read the body: wait for the last range's bytes to be counted.
            double expected = 300_001.0 + (slice - 250_000) + 251_424;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (zeroCopyBytes(f) - before < expected && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(zeroCopyBytes(f) - before).as("memory-tier slice bytes sent as regions").isEqualTo(expected);
        }
    }

    /** Skips where {@code transport}'s native library does not load here, or off Linux (no memory files). */
    private static void assumeMemoryFiles(Transport transport) {
        assumeTransport(transport);
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT)
                .contains("linux"), "memory files need Linux");
    }

    /** Skips where {@code transport}'s native library does not load here. */
    private static void assumeTransport(Transport transport) {
        org.junit.jupiter.api.Assumptions.assumeTrue(transport != Transport.EPOLL || io.netty.channel.epoll.Epoll.isAvailable(),
                "epoll transport not available");
        org.junit.jupiter.api.Assumptions.assumeTrue(transport != Transport.IO_URING
                || io.netty.channel.uring.IoUring.isAvailable(), "io_uring transport not available");
    }

    /** GETs bytes {@code from..to} of {@code key}, checks them by SHA-256, returns their count. */
    private static long range(Fixture f, String key, byte[] obj, int from, int to) throws Exception {
        HttpResponse<byte[]> r = f.get("/test/" + key, "Range", "bytes=" + from + "-" + to);
        assertThat(r.statusCode()).isEqualTo(206);
        assertThat(sha256(r.body())).as(key + " bytes " + from + "-" + to)
                .isEqualTo(sha256(Arrays.copyOfRange(obj, from, to + 1)));
        return to - from + 1L;
    }

    /**
     * Flips a byte about {@code at} bytes into the one entry file of an object of {@code size}
     * bytes (the file holds the object, a CRC per 64 KiB block and a small header).
     */
    static void flipInEntryFile(Path cacheDir, int size, long at) throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.walk(cacheDir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                try {
                    long n = Files.size(p);
                    return n >= size && n < size + 16_384;
                } catch (java.io.IOException e) {
                    return false;
                }
            }).toList();
        }
        assertThat(files).hasSize(1);
        try (RandomAccessFile raf = new RandomAccessFile(files.getFirst().toFile(), "rw")) {
            raf.seek(at);
            int v = raf.read();
            raf.seek(at);
            raf.write(v ^ 0xff);
        }
    }

    private static double zeroCopyBytes(Fixture f) throws Exception {
        return PrometheusText.sum(f.metrics(), "kura_served_zero_copy_bytes_total", "");
    }
}
