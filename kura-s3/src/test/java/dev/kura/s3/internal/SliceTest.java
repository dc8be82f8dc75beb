package dev.kura.s3.internal;

import dev.kura.io.Backend;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.kura.s3.internal.FillPathTest.random;
import static dev.kura.s3.internal.FillPathTest.sha256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Slice caching (objects larger than the slice size) against a {@link FakeOrigin}, on both io
 * backends: what the origin is asked for, and the bytes every response carries (by SHA-256).
 */
class SliceTest {
    static final int SLICE = 256 * 1024;

    @TempDir
    Path dir;

    FakeOriginProxy proxy(Backend backend) throws Exception {
        return new FakeOriginProxy(dir, backend, Duration.ofSeconds(10), SLICE);
    }

    static byte[] range(byte[] b, long first, long last) {
        return Arrays.copyOfRange(b, (int) first, (int) last + 1);
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aFooterReadFetchesOneSlice(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] obj = random(12 * SLICE + 100_000, 10); // the last 64 KiB lie in the last slice
            p.origin.put("data.parquet", obj, null);
            long first = obj.length - 65_536;
            HttpResponse<byte[]> r = p.get("/b/data.parquet", "Range", "bytes=" + first + "-" + (obj.length - 1));
            assertThat(r.statusCode()).isEqualTo(206);
            assertThat(r.headers().firstValue("Content-Range")).hasValue("bytes " + first + "-" + (obj.length - 1) + "/" + obj.length);
            assertThat(sha256(r.body())).isEqualTo(sha256(range(obj, first, obj.length - 1)));
            assertThat(p.origin.gets("data.parquet")).isEqualTo(1);
            assertThat(p.origin.rangedGets.get()).isEqualTo(1);

            HttpResponse<byte[]> again = p.get("/b/data.parquet", "Range", "bytes=" + first + "-");
            assertThat(again.headers().firstValue("X-Cache")).hasValue("HIT");
            assertThat(again.body()).isEqualTo(range(obj, first, obj.length - 1));
            assertThat(p.origin.gets("data.parquet")).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aSuffixRangeNeedsAHeadAndTheLastSlice(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] obj = random(5 * SLICE + 7_000, 11);
            p.origin.put("s.bin", obj, null);
            HttpResponse<byte[]> r = p.get("/b/s.bin", "Range", "bytes=-1000");
            assertThat(r.statusCode()).isEqualTo(206);
            assertThat(r.body()).isEqualTo(range(obj, obj.length - 1000, obj.length - 1));
            assertThat(p.origin.gets("s.bin")).isEqualTo(1); // the last slice only (plus one HEAD)
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void rangesAcrossSliceBoundariesAndObjectEdges(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] exact = random(4 * SLICE, 12);
            byte[] ragged = random(4 * SLICE + 1, 13);
            p.origin.put("exact", exact, null);
            p.origin.put("ragged", ragged, null);
            for (String name : List.of("exact", "ragged")) {
                byte[] obj = name.equals("exact") ? exact : ragged;
                long n = obj.length;
                long[][] ranges = {{0, 0}, {n - 1, n - 1}, {SLICE - 1, SLICE}, {SLICE - 10, 3L * SLICE + 10},
                        {0, n - 1}, {2L * SLICE, 3L * SLICE - 1}, {n - SLICE - 3, n - 1}};
                for (long[] rg : ranges) {
                    HttpResponse<byte[]> r = p.get("/b/" + name, "Range", "bytes=" + rg[0] + "-" + rg[1]);
                    assertThat(r.statusCode()).as("%s %d-%d", name, rg[0], rg[1]).isEqualTo(206);
                    assertThat(sha256(r.body())).as("%s %d-%d", name, rg[0], rg[1])
                            .isEqualTo(sha256(range(obj, rg[0], rg[1])));
                }
                HttpResponse<byte[]> whole = p.get("/b/" + name);
                assertThat(whole.statusCode()).isEqualTo(200);
                assertThat(sha256(whole.body())).isEqualTo(sha256(obj));
            }
            // every slice was fetched at most once
            assertThat(p.origin.gets("exact")).isLessThanOrEqualTo(4);
            assertThat(p.origin.gets("ragged")).isLessThanOrEqualTo(5);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aWholeGetOfALargeObjectIsCachedAsSlices(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] obj = random(6 * SLICE + 99, 14);
            p.origin.put("big", obj, null);
            HttpResponse<byte[]> r = p.get("/b/big");
            assertThat(r.headers().firstValue("X-Cache")).hasValue("MISS");
            assertThat(sha256(r.body())).isEqualTo(sha256(obj));
            assertThat(p.origin.rangedGets.get()).isZero();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (p.cache.lookup("b/big\0" + "\"v1-" + obj.length + "\"\0" + 6).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            HttpResponse<byte[]> hit = p.get("/b/big", "Range", "bytes=" + (3 * SLICE - 5) + "-" + (5 * SLICE + 5));
            assertThat(hit.headers().firstValue("X-Cache")).hasValue("HIT");
            assertThat(hit.body()).isEqualTo(range(obj, 3L * SLICE - 5, 5L * SLICE + 5));
            assertThat(sha256(p.get("/b/big").body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("big")).isEqualTo(1);
        }
    }

    /**
     * A request across slices is served from the event loop slice after slice (CachedSlices) while
     * they are cached; a slice missing at the start or in the middle hands over to the filling path
     * at that byte: the body stays exact and only the missing slices are fetched.
     */
    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aMissingSliceInTheMiddleOrAtTheStartIsFetchedAndTheBodyStaysExact(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] obj = random(6 * SLICE + 99, 15);
            p.origin.put("gap", obj, null);
            assertThat(sha256(p.get("/b/gap").body())).isEqualTo(sha256(obj));
            String prefix = "b/gap\0" + "\"v1-" + obj.length + "\"\0";
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (p.cache.lookup(prefix + 6).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            int before = p.origin.gets("gap");
            HttpResponse<byte[]> hit = p.get("/b/gap");
            assertThat(hit.headers().firstValue("X-Cache")).hasValue("HIT");
            assertThat(sha256(hit.body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("gap")).isEqualTo(before);

            p.cache.delete(prefix + 3); // a hole in the middle
            assertThat(sha256(p.get("/b/gap").body())).as("whole, slice 3 missing").isEqualTo(sha256(obj));
            assertThat(p.origin.gets("gap")).isEqualTo(before + 1);
            p.cache.delete(prefix + 0); // and at the start
            HttpResponse<byte[]> r = p.get("/b/gap", "Range", "bytes=100-" + (2L * SLICE + 7));
            assertThat(r.statusCode()).isEqualTo(206);
            assertThat(r.body()).isEqualTo(range(obj, 100, 2L * SLICE + 7));
            assertThat(p.origin.gets("gap")).isEqualTo(before + 2);
            assertThat(sha256(p.get("/b/gap").body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("gap")).isEqualTo(before + 2);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void tinyObjectsStayWhole(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            p.origin.put("empty", new byte[0], null);
            p.origin.put("one", new byte[]{42}, null);
            assertThat(p.get("/b/empty").body()).isEmpty();
            assertThat(p.get("/b/one").body()).containsExactly(42);
            HttpResponse<byte[]> r = p.get("/b/one", "Range", "bytes=0-0");
            assertThat(r.statusCode()).isEqualTo(206);
            assertThat(r.body()).containsExactly(42);
            assertThat(p.get("/b/one", "Range", "bytes=1-").statusCode()).isEqualTo(416);
            assertThat(p.get("/b/empty").headers().firstValue("X-Cache")).hasValue("HIT");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void anObjectReplacedBetweenSliceFetchesIsCutNeverMixed(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] v1 = random(4 * SLICE, 15);
            byte[] v2 = random(4 * SLICE, 16);
            p.origin.put("obj", v1, null);
            assertThat(p.get("/b/obj", "Range", "bytes=0-99").body()).isEqualTo(range(v1, 0, 99));
            p.origin.put("obj", v2, null);
            // slice 0 is cached for v1; slice 1 is fetched with If-Match: v1 and fails with 412
            Throwable cut = catchThrowable(() -> {
                HttpResponse<byte[]> r = p.get("/b/obj", "Range", "bytes=0-" + (2 * SLICE - 1));
                assertThat(r.body().length).isLessThan(2 * SLICE);
                assertThat(r.body()).isEqualTo(range(v1, 0, r.body().length - 1));
            });
            // Either the client saw a short body (asserted above) or the cut connection (an IOException).
            if (cut != null) {
                assertThat(cut).isInstanceOf(IOException.class);
            }
            HttpResponse<byte[]> fresh = p.get("/b/obj", "Range", "bytes=0-" + (2 * SLICE - 1));
            assertThat(sha256(fresh.body())).isEqualTo(sha256(range(v2, 0, 2L * SLICE - 1)));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void parallelRangesOfAnUncachedObjectFetchEachSliceOnce(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] obj = random(8 * SLICE, 17);
            p.origin.put("par", obj, null);
            p.origin.bytesPerSecond = 8L << 20;
            List<Future<HttpResponse<byte[]>>> rs = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 8; i++) {
                    long first = (long) i * SLICE;
                    rs.add(ex.submit(() -> p.get("/b/par", "Range", "bytes=" + first + "-" + (first + SLICE - 1))));
                }
                for (int i = 0; i < 8; i++) {
                    assertThat(rs.get(i).get().body()).isEqualTo(range(obj, (long) i * SLICE, (long) (i + 1) * SLICE - 1));
                }
            }
            assertThat(p.origin.gets("par")).isLessThanOrEqualTo(8);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aStaleSlicedObjectIsRevalidatedWithoutRefetchingSlices(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] obj = random(3 * SLICE, 18);
            p.origin.put("r", obj, "max-age=0");
            assertThat(p.get("/b/r", "Range", "bytes=0-9").body()).isEqualTo(range(obj, 0, 9));
            HttpResponse<byte[]> r = p.get("/b/r", "Range", "bytes=0-9");
            assertThat(r.headers().firstValue("X-Cache")).hasValue("REVALIDATED");
            assertThat(r.body()).isEqualTo(range(obj, 0, 9));
            assertThat(p.origin.gets("r")).isEqualTo(2);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aHeadMissStoresTheIndexSoTheNextRangeNeedsOnlyItsSlice(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] obj = random(6 * SLICE + 5_000, 19);
            p.origin.put("h.bin", obj, null);
            HttpResponse<byte[]> head = p.http.send(java.net.http.HttpRequest.newBuilder(p.url("/b/h.bin"))
                    .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(head.statusCode()).isEqualTo(200);
            assertThat(head.headers().firstValue("Content-Length")).hasValue(Integer.toString(obj.length));
            assertThat(p.origin.heads.get()).isEqualTo(1);
            long deadline = System.nanoTime() + 10_000_000_000L; // the index is stored after the answer
            while (p.cache.lookup("b/h.bin").isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            HttpResponse<byte[]> r = p.get("/b/h.bin", "Range", "bytes=-1000");
            assertThat(r.body()).isEqualTo(range(obj, obj.length - 1000, obj.length - 1));
            assertThat(p.origin.heads.get()).as("no second HEAD: the size came from the cache").isEqualTo(1);
            assertThat(p.origin.gets("h.bin")).as("one ranged GET, of the last slice").isEqualTo(1);
            HttpResponse<byte[]> again = p.http.send(java.net.http.HttpRequest.newBuilder(p.url("/b/h.bin"))
                    .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(again.headers().firstValue("X-Cache")).hasValue("HIT");
            assertThat(p.origin.heads.get()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void followersJoiningAtEveryStageOfASlicedFillGetTheirBytesFromOneOriginRequest(Backend backend) throws Exception {
        try (FakeOriginProxy p = proxy(backend)) {
            byte[] obj = random(6 * SLICE + 100, 30);
            p.origin.put("stages.bin", obj, null);
            p.origin.headDelayMillis = 300;
            p.origin.bytesPerSecond = 2L << 20; // about 0.8 s of body
            List<Future<HttpResponse<byte[]>>> wholes = new ArrayList<>();
            long tailFrom = 3L * SLICE + 7;
            long[] bounded = {5L * SLICE - 9, 5L * SLICE + 9};
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                wholes.add(ex.submit(() -> p.get("/b/stages.bin"))); // the leader
                Thread.sleep(100);
                wholes.add(ex.submit(() -> p.get("/b/stages.bin"))); // before the origin's first byte
                awaitSent(p, 100 * 1024);
                wholes.add(ex.submit(() -> p.get("/b/stages.bin"))); // inside the first slice
                awaitSent(p, 5 * SLICE / 2);
                Future<HttpResponse<byte[]>> tail = ex.submit(() -> p.get("/b/stages.bin", "Range", "bytes=" + tailFrom + "-"));
                Future<HttpResponse<byte[]>> ahead = ex.submit(() -> p.get("/b/stages.bin", "Range",
                        "bytes=" + bounded[0] + "-" + bounded[1])); // slices the stream has not reached yet
                awaitSent(p, 11 * SLICE / 2);
                wholes.add(ex.submit(() -> p.get("/b/stages.bin"))); // inside the last slice
                awaitSent(p, obj.length);
                wholes.add(ex.submit(() -> p.get("/b/stages.bin"))); // after the last byte
                for (Future<HttpResponse<byte[]>> f : wholes) {
                    HttpResponse<byte[]> r = f.get();
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(sha256(r.body())).isEqualTo(sha256(obj));
                }
                assertThat(sha256(tail.get().body())).isEqualTo(sha256(range(obj, tailFrom, obj.length - 1)));
                assertThat(ahead.get().body()).isEqualTo(range(obj, bounded[0], bounded[1]));
            }
            HttpResponse<byte[]> after = p.get("/b/stages.bin"); // after the commit
            assertThat(sha256(after.body())).isEqualTo(sha256(obj));
            assertThat(p.origin.gets("stages.bin")).as("one origin request for every reader: %s", p.origin.log).isEqualTo(1);
        }
    }

    private static void awaitSent(FakeOriginProxy p, long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (p.origin.bytesSent.get() < bytes && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertThat(p.origin.bytesSent.get()).isGreaterThanOrEqualTo(bytes);
    }
}
