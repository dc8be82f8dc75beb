package dev.kura.cli;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.io.FileIo;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.CachedBucket;
import dev.kura.s3.CachedObject;
import dev.kura.s3.embedded.EmbeddedOrigin;
import dev.kura.tftp.TftpConfig;
import dev.kura.testing.TcpRelay;
import dev.kura.tftp.TftpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code tftp.source}: boot files from an S3 bucket (S3Proxy on loopback) through kura's cache,
 * downloaded by tftp-hpa and atftp; one origin GET for many simultaneous clients; the origin going
 * down while the cached images stay served; ERROR 1 for a missing object; the jail's name rules.
 */
class TftpBucketSourceTest {
    private static final String BUCKET = "boot";

    @TempDir
    Path dir;
    EmbeddedOrigin origin;
    FileIo io;
    Cache cache;
    CachedBucket objects;
    TftpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (objects != null) {
            objects.close();
        }
        if (cache != null) {
            cache.close();
        }
        if (io != null) {
            io.close();
        }
        if (origin != null) {
            origin.close();
        }
    }

    private void start(Duration ttl) throws Exception {
        start(ttl, c -> c);
    }

    private void start(Duration ttl, UnaryOperator<TftpConfig> more) throws Exception {
        origin = EmbeddedOrigin.start(dir.resolve("origin"), "127.0.0.1", 0);
        origin.createBucket(BUCKET);
        io = FileIo.create();
        cache = Cache.open(new CacheConfig(dir.resolve("cache"), 1L << 30, 0, 256L << 20, 16L << 20, 1L << 20,
                CacheConfig.Durability.NONE), io);
        TftpConfig.Source source = new TftpConfig.Source(BUCKET, null, origin.endpoint(), null, true,
                new TftpConfig.Credentials("static", EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY, null),
                ttl, Duration.ofDays(1), Duration.ofSeconds(1), Duration.ofSeconds(5), 0);
        BucketConfig b = BucketTftpSource.bucketConfig(source);
        objects = new CachedBucket(b, cache);
        TftpConfig cfg = more.apply(TftpConfig.defaults(null).withListen(List.of("127.0.0.1:0")).withSource(source));
        server = TftpServer.start(cfg, io, new SimpleMeterRegistry(), new BucketTftpSource(objects, "bucket " + BUCKET));
    }

    private byte[] put(String key, int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        origin.put(BUCKET, key, b, "application/octet-stream", null);
        return b;
    }

    record Run(int exit, String output) {
    }

    private Run run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).directory(dir.toFile()).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("client finished: " + String.join(" ", cmd)).isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private Run tftpGet(String remote, String local) throws IOException, InterruptedException {
        return run("/usr/bin/tftp", "-m", "octet", "127.0.0.1", Integer.toString(server.port()), "-c", "get", remote, local);
    }

    private static void assumeTool(String path, String pkg) {
        assumeTrue(Files.isExecutable(Path.of(path)), path + " missing (apt-get install " + pkg + "; .ci/run installs it)");
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void manyClientsOneOriginRequestThenOriginDownStillServed() throws Exception {
        assumeTool("/usr/bin/tftp", "tftp-hpa");
        assumeTool("/usr/bin/atftp", "atftp");
        start(Duration.ofHours(1));
        byte[] image = put("images/vmlinuz", 3_000_000, 7);
        String want = sha256(image);

        int clients = 12;
        List<Future<Run>> runs = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < clients; i++) {
                String local = "k" + i;
                runs.add(pool.submit(() -> tftpGet("/images/vmlinuz", local)));
            }
        }
        for (int i = 0; i < clients; i++) {
            Run r = runs.get(i).get();
            assertThat(sha256(Files.readAllBytes(dir.resolve("k" + i)))).as(r.output()).isEqualTo(want);
        }
        assertThat(origin.getCount()).as("origin GETs for %d simultaneous clients", clients).isEqualTo(1);
        assertThat(objects.originRequests()).isEqualTo(1);

        origin.close();
        origin = null;
        Run r = run("/usr/bin/atftp", "-g", "-r", "images/vmlinuz", "-l", "a.img", "127.0.0.1", Integer.toString(server.port()));
        assertThat(sha256(Files.readAllBytes(dir.resolve("a.img")))).as(r.output()).isEqualTo(want);
        r = tftpGet("images/vmlinuz", "after-down");
        assertThat(sha256(Files.readAllBytes(dir.resolve("after-down")))).as(r.output()).isEqualTo(want);
        // Never cached, origin gone: an error, not a hang, and the server keeps serving.
        r = tftpGet("images/initrd", "none");
        assertThat(r.output()).contains("Error code 0");
    }

    @Test
    void expiredImagesAreRevalidatedAndServedStaleWhileTheOriginIsDown() throws Exception {
        assumeTool("/usr/bin/tftp", "tftp-hpa");
        start(Duration.ZERO);
        byte[] image = put("pxelinux.0", 40_000, 3);
        Run r = tftpGet("pxelinux.0", "p1");
        assertThat(Files.readAllBytes(dir.resolve("p1"))).as(r.output()).isEqualTo(image);
        r = tftpGet("pxelinux.0", "p2");
        assertThat(Files.readAllBytes(dir.resolve("p2"))).as(r.output()).isEqualTo(image);
        // Fill, then a conditional GET answered 304 (default-ttl 0: every open revalidates).
        assertThat(origin.getCount()).isEqualTo(2);
        origin.close();
        origin = null;
        r = tftpGet("pxelinux.0", "p3");
        assertThat(Files.readAllBytes(dir.resolve("p3"))).as(r.output()).isEqualTo(image);
    }

    @Test
    void writesEnabledWithABucketSourceAreRefusedAtStart() {
        // a bucket source is read-only: the server never runs with WRQ on and no root to write into
        assertThatThrownBy(() -> start(Duration.ofHours(1),
                c -> c.withWrite(new TftpConfig.Write(true, List.of("*"), true, null))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tftp.write.enabled cannot be combined with tftp.source");
    }

    @Test
    void missingObjectIsError1AndTraversalIsError2() throws Exception {
        assumeTool("/usr/bin/tftp", "tftp-hpa");
        start(Duration.ofHours(1));
        put("ok.cfg", 100, 1);
        Run r = tftpGet("no/such/object", "x");
        assertThat(r.output()).contains("Error code 1");
        r = tftpGet("../ok.cfg", "y");
        assertThat(r.output()).contains("Error code 2");
        r = tftpGet("ok.cfg", "z");
        assertThat(Files.size(dir.resolve("z"))).as(r.output()).isEqualTo(100);
    }

    @Test
    void sourceBindsFromYamlWithTheBucketKeys() throws Exception {
        Path yaml = dir.resolve("kura.yaml");
        Files.writeString(yaml, """
                tftp:
                  listen: ["127.0.0.1:6969"]
                  source:
                    bucket: boot-images
                    endpoint: http://127.0.0.1:9000
                    path-style: true
                    region: eu-west-1
                    default-ttl: 10m
                    credentials:
                      type: static
                      access-key-id: AK
                      secret-access-key: SK
                """);
        TftpConfig t = dev.kura.cli.config.KuraConfig.load(yaml).tftp();
        assertThat(t.root()).isNull();
        BucketConfig b = BucketTftpSource.bucketConfig(t.source());
        assertThat(b.bucket()).isEqualTo("boot-images");
        assertThat(b.endpoint()).hasToString("http://127.0.0.1:9000");
        assertThat(b.region()).isEqualTo("eu-west-1");
        assertThat(b.pathStyle()).isTrue();
        assertThat(b.defaultTtl()).isEqualTo(Duration.ofMinutes(10));
        assertThat(b.credentials().accessKeyId()).isEqualTo("AK");

        Files.writeString(yaml, """
                tftp:
                  source:
                    bucket: Not_A_Bucket!
                """);
        TftpConfig bad = dev.kura.cli.config.KuraConfig.load(yaml).tftp();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> BucketTftpSource.bucketConfig(bad.source()))
                .hasMessageContaining("tftp.source").hasMessageContaining("bucket");
    }

    /**
     * The path a user takes: {@code kura tftp --config kura.yaml} with {@code tftp.source} in a
     * child JVM (the CLI's own binding, cache and bucket wiring, not the test's), a download by
     * tftp-hpa checked by SHA-256, a second one served from the cache after the origin is gone, and
     * SIGTERM ending it with exit status 0.
     */
    @Test
    void kuraTftpCommandServesABucketFromItsConfigFile() throws Exception {
        assumeTool("/usr/bin/tftp", "tftp-hpa");
        origin = EmbeddedOrigin.start(dir.resolve("origin"), "127.0.0.1", 0);
        origin.createBucket(BUCKET);
        byte[] image = put("pxe/undionly.kpxe", 1_234_567, 11);
        Path yaml = dir.resolve("kura.yaml");
        Files.writeString(yaml, """
                cache:
                  dir: %s
                  max-size: 256MiB
                tftp:
                  listen: ["127.0.0.1:0"]
                  source:
                    bucket: %s
                    endpoint: %s
                    path-style: true
                    credentials:
                      type: static
                      access-key-id: %s
                      secret-access-key: %s
                """.formatted(dir.resolve("cli-cache"), BUCKET, origin.endpoint(), EmbeddedOrigin.ACCESS_KEY,
                EmbeddedOrigin.SECRET_KEY));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.kura.cli.Kura", "tftp", "--config", yaml.toString())
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Pattern serving = Pattern.compile("serving bucket " + BUCKET + " .* on \\[[^\\]]*:(\\d+)\\]");
            List<String> lines = new ArrayList<>();
            int port = -1;
            for (String line; port < 0 && (line = out.readLine()) != null; ) {
                lines.add(line);
                Matcher m = serving.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
            }
            assertThat(port).as("kura tftp printed where it serves; output: " + lines).isPositive();
            Thread drain = Thread.ofVirtual().start(() -> out.lines().forEach(lines::add));
            String portText = Integer.toString(port);
            Run r = run("/usr/bin/tftp", "-m", "octet", "127.0.0.1", portText, "-c", "get", "pxe/undionly.kpxe", "first");
            assertThat(sha256(Files.readAllBytes(dir.resolve("first")))).as(r.output()).isEqualTo(sha256(image));
            origin.close();
            origin = null;
            r = run("/usr/bin/tftp", "-m", "octet", "127.0.0.1", portText, "-c", "get", "pxe/undionly.kpxe", "second");
            assertThat(sha256(Files.readAllBytes(dir.resolve("second")))).as("from the cache, origin down: " + r.output())
                    .isEqualTo(sha256(image));
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("stopped on SIGTERM").isTrue();
            drain.join(5_000);
            assertThat(p.exitValue()).as("exit status after SIGTERM; output: " + lines).isZero();
        } finally {
            p.destroyForcibly();
        }
    }


    /**
     * The first reader of an uncached object does not wait for the whole fill: with the origin's
     * answer held after its first 256 KiB, {@link CachedBucket#open} returns, the leader and a
     * follower both read the first bytes, and once the rest arrives both read the whole object;
     * one origin GET in all.
     */
    @Test
    void firstReadersOfAnUncachedObjectReadTheFillAsItGrows() throws Exception {
        origin = EmbeddedOrigin.start(dir.resolve("origin"), "127.0.0.1", 0);
        origin.createBucket(BUCKET);
        byte[] image = put("images/rootfs", 4 << 20, 21);
        io = FileIo.create();
        cache = Cache.open(new CacheConfig(dir.resolve("cache"), 1L << 30, 0, 256L << 20, 16L << 20, 1L << 20,
                CacheConfig.Durability.NONE), io);
        try (TcpRelay relay = TcpRelay.to(origin.port()).name("gated-relay").holdAnswersAfter(256 << 10).start()) {
            TftpConfig.Source source = new TftpConfig.Source(BUCKET, null, relay.endpoint(), null, true,
                    new TftpConfig.Credentials("static", EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY, null),
                    Duration.ofHours(1), Duration.ofDays(1), Duration.ofSeconds(1), Duration.ofSeconds(30), 0);
            objects = new CachedBucket(BucketTftpSource.bucketConfig(source), cache);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                Future<CachedObject> leaderOpen = pool.submit(() -> objects.open("images/rootfs"));
                try (CachedObject leader = leaderOpen.get(20, TimeUnit.SECONDS);
                     CachedObject follower = pool.submit(() -> objects.open("images/rootfs")).get(20, TimeUnit.SECONDS)) {
                    assertThat(leader.metadata().size()).isEqualTo(image.length);
                    ByteBuffer first = ByteBuffer.allocate(64 << 10);
                    assertThat(leader.readAsync(0, first).get(20, TimeUnit.SECONDS)).isPositive();
                    ByteBuffer followerFirst = ByteBuffer.allocate(64 << 10);
                    assertThat(follower.readAsync(0, followerFirst).get(20, TimeUnit.SECONDS)).isPositive();
                    assertThat(first.flip()).isEqualTo(ByteBuffer.wrap(image, 0, first.remaining()));
                    assertThat(followerFirst.flip()).isEqualTo(ByteBuffer.wrap(image, 0, followerFirst.remaining()));
                    relay.release();
                    assertThat(sha256(readAll(leader))).isEqualTo(sha256(image));
                    assertThat(sha256(readAll(follower))).isEqualTo(sha256(image));
                }
            }
        }
        assertThat(objects.originRequests()).as("origin GETs for the leader and its follower").isEqualTo(1);
    }

    private static byte[] readAll(CachedObject o) throws Exception {
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(o.metadata().size()));
        while (all.hasRemaining()) {
            int n = o.readAsync(all.position(), all).get(20, TimeUnit.SECONDS);
            if (n < 0) {
                break;
            }
        }
        return all.array();
    }

}
