package dev.kura.s3;

import dev.kura.io.Backend;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Issue 8's "tests with real parts" for slices: kura in front of a real S3Proxy origin over real
 * HTTP, read with curl and the AWS SDK for Java v2, bytes checked by SHA-256, on both io backends,
 * with a 256 KiB slice size so that a few MiB make many slices.
 */
class SlicesEndToEndTest {
    static final int SLICE = 256 * 1024;

    @TempDir
    Path tmp;

    Fixture start(Backend backend) throws Exception {
        Fixture f = new Fixture(tmp).startOrigin();
        f.ioBackend = backend;
        f.sliceSize = SLICE;
        return f;
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static byte[] range(byte[] b, long first, long last) {
        return Arrays.copyOfRange(b, (int) first, (int) last + 1);
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void rangesAcrossSliceBoundariesAndTheEdgesOfEveryObjectSize(Backend backend) throws Exception {
        String curl = ExternalTool.require("curl", "curl");
        Map<String, byte[]> objects = new HashMap<>();
        objects.put("exact.bin", ProxyTest.random(4 * SLICE, 61));      // a multiple of the slice size
        objects.put("ragged.bin", ProxyTest.random(4 * SLICE + 1, 62)); // one byte into a fifth slice
        objects.put("short.bin", ProxyTest.random(SLICE - 1, 63));      // below it: one entry
        objects.put("empty.bin", new byte[0]);
        objects.put("one.bin", new byte[]{7});
        try (Fixture f = start(backend)) {
            objects.forEach((k, v) -> f.origin.put(Fixture.BUCKET, k, v, "application/octet-stream", null));
            f.startProxy();
            try (S3Client sdk = f.kuraClient()) {
                for (String key : List.of("exact.bin", "ragged.bin", "short.bin")) {
                    byte[] obj = objects.get(key);
                    long n = obj.length;
                    long[][] ranges = {{0, 0}, {n - 1, n - 1}, {SLICE - 1, SLICE}, {SLICE - 10, 3L * SLICE + 10},
                            {n - SLICE - 3, n - 1}, {0, n - 1}};
                    for (long[] r0 : ranges) {
                        long[] rg = {Math.clamp(r0[0], 0, n - 1), Math.clamp(r0[1], 0, n - 1)};
                        String spec = "bytes=" + rg[0] + "-" + rg[1];
                        byte[] got = sdk.getObjectAsBytes(b -> b.bucket(Fixture.BUCKET).key(key).range(spec)).asByteArray();
                        assertThat(sha256(got)).as("SDK %s %s", key, spec).isEqualTo(sha256(range(obj, rg[0], rg[1])));
                    }
                    assertThat(sha256(sdk.getObjectAsBytes(b -> b.bucket(Fixture.BUCKET).key(key)).asByteArray()))
                            .as("SDK whole %s", key).isEqualTo(sha256(obj));
                    // curl: the first and the last byte, a range across two boundaries, the whole object
                    for (String r : List.of("0-0", (n - 1) + "-" + (n - 1), Math.min(SLICE - 2, n - 2) + "-" + Math.min(n - 1, 2L * SLICE + 1), "")) {
                        Path out = tmp.resolve("curl.out");
                        List<String> cmd = new java.util.ArrayList<>(List.of(curl, "-sS", "-f", "-o", out.toString()));
                        if (!r.isEmpty()) {
                            cmd.addAll(List.of("-r", r));
                        }
                        cmd.add(f.url("/test/" + key).toString());
                        ExternalTool.Result res = ExternalTool.run(cmd, Map.of(), tmp);
                        assertThat(res.exit()).as("curl %s %s: %s", key, r, res.err()).isZero();
                        byte[] want = r.isEmpty() ? obj : range(obj, Long.parseLong(r.split("-")[0]),
                                Long.parseLong(r.split("-")[1]));
                        assertThat(sha256(Files.readAllBytes(out))).as("curl %s %s", key, r).isEqualTo(sha256(want));
                    }
                }
                assertThat(sdk.getObjectAsBytes(b -> b.bucket(Fixture.BUCKET).key("empty.bin")).asByteArray()).isEmpty();
                assertThat(sdk.getObjectAsBytes(b -> b.bucket(Fixture.BUCKET).key("one.bin")).asByteArray())
                        .containsExactly(7);
                assertThat(sdk.getObjectAsBytes(b -> b.bucket(Fixture.BUCKET).key("one.bin").range("bytes=0-0"))
                        .asByteArray()).containsExactly(7);
                HttpResponse<byte[]> emptyHit = f.get("/test/empty.bin");
                assertThat(emptyHit.statusCode()).isEqualTo(200);
                assertThat(emptyHit.body()).isEmpty();
                assertThat(emptyHit.headers().firstValue("X-Cache")).hasValue("HIT");
                assertThat(f.get("/test/one.bin", "Range", "bytes=1-").statusCode()).isEqualTo(416);
            }
            // Every slice of the sliced objects was fetched once: 4 + 5 slices, 1 short object, 2 tiny.
            assertThat(f.origin.getCount()).isEqualTo(4 + 5 + 1 + 2);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void anObjectReplacedAtTheOriginBetweenTwoSliceFetchesIsNeverMixed(Backend backend) throws Exception {
        byte[] v1 = ProxyTest.random(4 * SLICE + 99, 64);
        byte[] v2 = ProxyTest.random(4 * SLICE + 99, 65);
        try (Fixture f = start(backend)) {
            f.origin.put(Fixture.BUCKET, "swap.bin", v1, "application/octet-stream", null);
            f.startProxy();
            assertThat(f.get("/test/swap.bin", "Range", "bytes=0-99").body()).isEqualTo(range(v1, 0, 99));
            f.origin.put(Fixture.BUCKET, "swap.bin", v2, "application/octet-stream", null);
            // Slice 0 is v1's, cached; slice 1 is fetched with If-Match: v1's ETag and fails (412).
            Throwable cut = catchThrowable(() -> {
                HttpResponse<byte[]> r = f.get("/test/swap.bin", "Range", "bytes=0-" + (2 * SLICE - 1));
                assertThat(r.body().length).as("a short body, never v2's bytes").isLessThan(2 * SLICE);
                assertThat(r.body()).isEqualTo(range(v1, 0, r.body().length - 1));
            });
            if (cut != null) { // or the cut connection itself
                assertThat(cut).isInstanceOf(IOException.class);
            }
            HttpResponse<byte[]> fresh = f.get("/test/swap.bin");
            assertThat(sha256(fresh.body())).isEqualTo(sha256(v2));
            HttpResponse<byte[]> across = f.get("/test/swap.bin", "Range", "bytes=" + (SLICE - 5) + "-" + (3 * SLICE + 5));
            assertThat(sha256(across.body())).isEqualTo(sha256(range(v2, SLICE - 5, 3L * SLICE + 5)));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aRevalidatedLargeObjectIsNotRewritten(Backend backend) throws Exception {
        byte[] sliced = ProxyTest.random(6 * SLICE + 5, 66);
        byte[] whole = ProxyTest.random(SLICE - 5, 67);
        try (Fixture f = start(backend)) {
            f.origin.put(Fixture.BUCKET, "sliced.bin", sliced, "application/octet-stream", "max-age=0");
            f.origin.put(Fixture.BUCKET, "whole.bin", whole, "application/octet-stream", "max-age=0");
            f.startProxy();
            assertThat(sha256(f.get("/test/sliced.bin").body())).isEqualTo(sha256(sliced));
            assertThat(sha256(f.get("/test/whole.bin").body())).isEqualTo(sha256(whole));
            Thread.sleep(1_500); // the last commits trail the last bytes; then max-age=0 has long passed
            Map<Path, List<Object>> before = files(f.dir.resolve("cache"));
            long entryBytes = before.values().stream().mapToLong(v -> (Long) v.get(0)).sum();
            assertThat(entryBytes).as("both objects are on disk").isGreaterThan(sliced.length + whole.length);
            for (String key : List.of("sliced.bin", "whole.bin")) {
                HttpResponse<byte[]> r = f.get("/test/" + key);
                assertThat(r.headers().firstValue("X-Cache")).as(key).hasValue("REVALIDATED");
                assertThat(sha256(r.body())).isEqualTo(sha256(key.equals("whole.bin") ? whole : sliced));
            }
            Thread.sleep(500);
            Map<Path, List<Object>> after = files(f.dir.resolve("cache"));
            long written = 0;
            for (Map.Entry<Path, List<Object>> e : after.entrySet()) {
                if (!e.getValue().equals(before.get(e.getKey()))) {
                    written += (Long) e.getValue().get(0);
                }
            }
            System.out.printf("SlicesEndToEndTest %s: %d bytes of entry files on disk, %d bytes written by two revalidations%n",
                    backend, entryBytes, written);
            assertThat(written).as("two metadata records, not a copy of %d bytes", sliced.length + whole.length)
                    .isLessThan(8 * 1024);
            assertThat(before.keySet()).as("no entry file replaced or dropped").isSubsetOf(after.keySet());
            assertThat(f.origin.getCount()).as("one whole GET each (one origin stream fills all 7 slices), then two 304s")
                    .isEqualTo(1 + 1 + 2);
        }
    }

    /**
     * Every file under the cache directory but the lock and the snapshot: path to [size, mtime,
     * inode]. A file rewritten in place or replaced by a rename shows a new mtime or inode.
     */
    static Map<Path, List<Object>> files(Path dir) throws IOException {
        Map<Path, List<Object>> m = new HashMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String name = p.getFileName().toString();
                if (name.equals("lock") || name.startsWith("index.snap")) {
                    continue;
                }
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                m.put(dir.relativize(p), List.of(a.size(), a.lastModifiedTime().toMillis(),
                        String.valueOf(Files.getAttribute(p, "unix:ino"))));
            }
        }
        return m;
    }
}
