package dev.kura.s3;

import dev.kura.io.Backend;
import dev.kura.testing.PrometheusText;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Disk hits whose blocks are in the kernel's page cache are read on the event loop
 * ({@code preadv2} with {@code RWF_NOWAIT}) instead of through the ring: whole objects of several
 * chunks, ranges, and ranges across the slices of a sliced object, with no memory tier, so every
 * hit is a disk hit. The bytes are compared with the origin's, and {@code /metrics} shows which way
 * the reads went: on io_uring through the page cache (the entry files were just written, so their
 * pages are cached), on NIO, which cannot read without waiting, through the backend.
 */
class PageCacheHitTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void diskHitsComeFromThePageCacheOnIoUring(Backend backend) throws Exception {
        byte[] whole = ProxyTest.random(3 * 1024 * 1024 + 777, 41);   // one entry, 13 chunks
        byte[] sliced = ProxyTest.random(5 * 1024 * 1024 + 99, 42);   // slices of 1 MiB
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.ioBackend = backend;
            f.memoryTierBytes = 0;
            f.sliceSize = 4L << 20;
            f.origin.put(Fixture.BUCKET, "whole.bin", whole, "application/octet-stream", null);
            f.startProxy();
            // sliced.bin is larger than the slice size: cached as slices of 4 MiB
            f.origin.put(Fixture.BUCKET, "sliced.bin", sliced, "application/octet-stream", null);
            for (String key : new String[] {"whole.bin", "sliced.bin"}) {
                assertThat(f.get("/test/" + key).headers().firstValue("X-Cache")).contains("MISS");
            }
            f.awaitFillsDone();
            double before = reads(f, "page_cache");
            double asyncBefore = reads(f, "async");

            HttpResponse<byte[]> hit = f.get("/test/whole.bin");
            assertThat(hit.headers().firstValue("X-Cache")).contains("HIT");
            assertThat(hit.body()).isEqualTo(whole);
            HttpResponse<byte[]> range = f.get("/test/whole.bin", "Range", "bytes=100000-400000");
            assertThat(range.statusCode()).isEqualTo(206);
            assertThat(range.body()).isEqualTo(Arrays.copyOfRange(whole, 100_000, 400_001));
            HttpResponse<byte[]> all = f.get("/test/sliced.bin");
            assertThat(all.body()).isEqualTo(sliced);
            // a range across the boundary of slices 0 and 1
            int from = (4 << 20) - 70_000;
            int to = (4 << 20) + 70_000;
            HttpResponse<byte[]> across = f.get("/test/sliced.bin", "Range", "bytes=" + from + "-" + to);
            assertThat(across.statusCode()).isEqualTo(206);
            assertThat(across.body()).isEqualTo(Arrays.copyOfRange(sliced, from, to + 1));

            double cached = reads(f, "page_cache") - before;
            double async = reads(f, "async") - asyncBefore;
            if (backend == Backend.IO_URING) {
                // 3 MiB + 300 KiB + 5 MiB + 140 KiB in scatter reads of up to 8 blocks of 64 KiB
                assertThat(cached).as("reads from the page cache").isGreaterThanOrEqualTo(17);
            } else {
                assertThat(cached).as("NIO cannot read without waiting").isZero();
                assertThat(async).isPositive();
            }
        }
    }

    private static double reads(Fixture f, String way) throws Exception {
        return PrometheusText.sum(f.metrics(), "kura_cache_disk_reads_total", "way=\"" + way + "\"");
    }
}
