package dev.kura.s3;

import dev.kura.testing.Requires;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Restarts, a stopped or silent origin, corrupt cache files, a full disk, and a > 100 MiB object. */
class OriginFailureTest {

    @TempDir
    Path tmp;

    @Test
    void afterARestartWithTheOriginStoppedCachedObjectsComeFromDisk() throws Exception {
        byte[] a = ProxyTest.random(3 << 20, 1);
        byte[] b = ProxyTest.random(1000, 2);
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "a.bin", a, "application/octet-stream", null);
            f.origin.put(Fixture.BUCKET, "b.txt", b, "text/plain", null);
            f.startProxy();
            assertThat(f.get("/test/a.bin").body()).isEqualTo(a);
            assertThat(f.get("/test/b.txt").body()).isEqualTo(b);
            URI originUrl = f.origin.endpoint();
            f.stopProxy();
            f.origin.close();
            long getsBefore = f.origin.getCount();

            f.startProxy(originUrl); // new process state: empty memory tier, disk tier recovered
            HttpResponse<byte[]> ra = f.get("/test/a.bin");
            assertThat(ra.statusCode()).isEqualTo(200);
            assertThat(ra.headers().firstValue("X-Cache")).contains("HIT");
            assertThat(ra.body()).isEqualTo(a);
            HttpResponse<byte[]> rr = f.get("/test/a.bin", "Range", "bytes=2000000-2000099");
            assertThat(rr.statusCode()).isEqualTo(206);
            assertThat(rr.body()).isEqualTo(java.util.Arrays.copyOfRange(a, 2000000, 2000100));
            assertThat(f.get("/test/b.txt").body()).isEqualTo(b);
            // Not cached: the origin is down, so 503 ServiceUnavailable (S3 clients retry it).
            HttpResponse<byte[]> missing = f.get("/test/never-fetched.bin");
            assertThat(missing.statusCode()).isEqualTo(503);
            assertThat(new String(missing.body())).contains("<Code>ServiceUnavailable</Code>");
            assertThat(f.origin.getCount()).isEqualTo(getsBefore);
            String ready = "";
            for (int i = 0; i < 150 && !ready.contains("UNREACHABLE"); i++) { // the background check runs every 5 s
                var r = f.ops("GET", "/ready");
                assertThat(r.statusCode()).isEqualTo(503);
                ready = new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
                Thread.sleep(100);
            }
            assertThat(ready).startsWith("ORIGIN_UNREACHABLE").contains("test UNREACHABLE");
        }
    }

    @Test
    void staleEntriesAreServedWhenTheOriginIsDown() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            byte[] body = "stale but useful\n".getBytes();
            f.origin.put(Fixture.BUCKET, "s.txt", body, "text/plain", "max-age=0");
            f.extraBuckets.add(f.originBucket("/strict", "strict", f.origin.endpoint(), Duration.ofSeconds(5)));
            f.startProxy();
            assertThat(f.get("/test/s.txt").headers().firstValue("X-Cache")).contains("MISS");
            assertThat(f.get("/strict/s.txt").statusCode()).isEqualTo(200);
            f.origin.close();
            HttpResponse<byte[]> stale = f.get("/test/s.txt");
            assertThat(stale.statusCode()).isEqualTo(200);
            assertThat(stale.headers().firstValue("X-Cache")).contains("STALE");
            assertThat(stale.body()).isEqualTo(body);
            // stale-if-error: 0 on this bucket: the origin error is passed on.
            assertThat(f.get("/strict/s.txt").statusCode()).isEqualTo(503);
        }
    }

    @Test
    void aSilentOriginAndAClosedPortGiveServiceUnavailable() throws Exception {
        // A socket bound but never listening: connections to its port are refused, and no other
        // process can take the port meanwhile (a closed ServerSocket's port can be reused at once).
        try (ServerSocket silent = new ServerSocket(0); Socket closed = new Socket()) {
            closed.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
            int closedPort = closed.getLocalPort();
            List<Socket> held = new ArrayList<>();
            Thread acceptor = Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        held.add(silent.accept()); // accept and never answer
                    }
                } catch (Exception e) {
                    // socket closed at the end of the test
                }
            });
            try (Fixture f = new Fixture(tmp)) {
                f.extraBuckets.add(f.bucket("/silent", "silent", URI.create("http://127.0.0.1:" + silent.getLocalPort()),
                        OriginCredentials.anonymous(), Duration.ofSeconds(1), Duration.ZERO));
                f.startProxy(URI.create("http://127.0.0.1:" + closedPort));
                HttpResponse<byte[]> timeout = f.get("/silent/x.bin");
                assertThat(timeout.statusCode()).isEqualTo(503);
                assertThat(new String(timeout.body())).contains("<Code>ServiceUnavailable</Code>", "timed out");
                HttpResponse<byte[]> refused = f.get("/test/x.bin");
                assertThat(refused.statusCode()).isEqualTo(503);
                assertThat(new String(refused.body())).contains("<Code>ServiceUnavailable</Code>", "unreachable",
                        "<RequestId>" + refused.headers().firstValue("x-amz-request-id").orElseThrow() + "</RequestId>");
            } finally {
                silent.close();
                acceptor.join(5000);
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @Test
    void aCorruptCacheFileIsDroppedAndTheObjectComesFromTheOrigin() throws Exception {
        byte[] a = ProxyTest.random(3 << 20, 3);
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "c.bin", a, "application/octet-stream", null);
            f.startProxy();
            assertThat(f.get("/test/c.bin").body()).isEqualTo(a);
            f.stopProxy();
            List<Path> files;
            try (Stream<Path> s = Files.walk(tmp.resolve("cache"))) {
                files = s.filter(Files::isRegularFile).filter(p -> {
                    try {
                        return Files.size(p) >= a.length;
                    } catch (java.io.IOException e) {
                        return false;
                    }
                }).toList();
            }
            assertThat(files).hasSize(1);
            try (RandomAccessFile raf = new RandomAccessFile(files.getFirst().toFile(), "rw")) {
                for (long pos = 10_000; pos < 200_000; pos += 4096) { // inside the first blocks of data
                    raf.seek(pos);
                    int v = raf.read();
                    raf.seek(pos);
                    raf.write(v ^ 0xff);
                }
            }
            long gets = f.origin.getCount();
            f.startProxy();
            HttpResponse<byte[]> r = f.get("/test/c.bin");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(a);
            assertThat(f.origin.getCount()).isGreaterThan(gets);
        }
    }

    @Test
    void aFullDiskDoesNotFailRequests() throws Exception {
        Requires.root("mount a 1 MiB tmpfs");
        Requires.tool("mount", "util-linux");
        Path cacheDir = tmp.resolve("cache");
        Files.createDirectories(cacheDir);
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", cacheDir.toString())
                .redirectErrorStream(true).start();
        String out = new String(mount.getInputStream().readAllBytes());
        assertThat(mount.waitFor()).as("mount a 1 MiB tmpfs (needs root): " + out).isZero();
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            byte[] big = ProxyTest.random(3 << 20, 4);
            f.origin.put(Fixture.BUCKET, "big.bin", big, "application/octet-stream", null);
            f.startProxy();
            for (int i = 0; i < 3; i++) {
                HttpResponse<byte[]> r = f.get("/test/big.bin");
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo(big);
            }
        } finally {
            new ProcessBuilder("umount", "-l", cacheDir.toString()).start().waitFor();
        }
    }

    @Test
    void anObjectLargerThan100MiBStreamsThroughAndIsCached() throws Exception {
        long size = (101L << 20) + 12345;
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "large.bin", new Generated(size, 99), size, "application/octet-stream", null);
            String want = ProxyTest.sha256(new Generated(size, 99));
            f.startProxy();
            try (S3Client kura = f.kuraClient()) {
                for (String expect : List.of("MISS", "HIT")) {
                    try (ResponseInputStream<GetObjectResponse> in = kura.getObject(b -> b.bucket(Fixture.BUCKET).key("large.bin"))) {
                        assertThat(in.response().contentLength()).isEqualTo(size);
                        assertThat(in.response().sdkHttpResponse().firstMatchingHeader("X-Cache")).contains(expect);
                        assertThat(ProxyTest.sha256(in)).isEqualTo(want);
                    }
                }
            }
            assertThat(f.origin.getCount()).isEqualTo(1);
        }
    }

    /** Deterministic pseudo-random bytes, generated as read: no buffer of the object's size. */
    static final class Generated extends InputStream {
        private final long size;
        private final SplittableRandom r;
        private long pos;

        Generated(long size, long seed) {
            this.size = size;
            this.r = new SplittableRandom(seed);
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos >= size) {
                return -1;
            }
            int n = (int) Math.min(len, size - pos);
            for (int i = 0; i < n; i++) {
                b[off + i] = (byte) r.nextInt(256);
            }
            pos += n;
            return n;
        }
    }
}
