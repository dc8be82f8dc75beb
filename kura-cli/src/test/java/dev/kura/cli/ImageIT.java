package dev.kura.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.s3.embedded.EmbeddedOrigin;
import dev.kura.testing.Requires;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The container image (issue 12 §4) runs, with no container engine: the tarball Jib wrote
 * ({@code target/jib-image.tar}, profile {@code image}) is unpacked layer by layer into a root
 * directory and started the way a runtime starts it. In a new mount and PID namespace
 * ({@code unshare --mount --pid --fork}) the root is bind-mounted <em>read-only</em>, with
 * {@code /proc}, {@code /dev}, a tmpfs on {@code /tmp}, a writable host directory on the image's
 * cache volume {@code /var/cache/kura} and the config directory on {@code /etc/kura}; then
 * {@code chroot --userspec} switches to the image config's user and runs its entrypoint and
 * command with its environment, all read from the image's config JSON (Jackson). The network
 * namespace is the host's, so the test reaches the ports on loopback.
 *
 * <p>Checks: {@code kura serve --config /etc/kura/kura.yaml} (the image's default command) answers
 * {@code /ready}, serves an object from an S3Proxy origin (MISS, then HIT) as uid 65532, writes its
 * cache on the volume, and exits 0 on SIGTERM; the demo ({@code serve} without a config) serves
 * its sample bucket. A write outside the volume and /tmp would fail on the read-only root.
 *
 * <p>Run by failsafe in the {@code image} profile, after {@code package} built the tarball:
 * {@code ./mvnw -Pimage -pl kura-cli -am verify}. Needs root (namespaces, mounts, chroot).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageIT {
    private static final Pattern LISTENING = Pattern.compile(
            "listening on 127\\.0\\.0\\.1:(\\d+) .*operations on 127\\.0\\.0\\.1:(\\d+)");
    static final Path TARBALL = Path.of("target", "jib-image.tar").toAbsolutePath();

    @TempDir
    static Path tmp; // static: @BeforeAll unpacks into it once for the class
    Path rootfs;
    JsonNode config;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void unpack() throws Exception {
        assumeTrue(Files.isRegularFile(TARBALL), "requires the image tarball " + TARBALL
                + " (./mvnw -Pimage -pl kura-cli -am package)");
        Requires.root("unshare a mount namespace, mount the image's root read-only and chroot into it");
        Path outer = tmp.resolve("tarball");
        Files.createDirectories(outer);
        run("tar", "-xf", TARBALL.toString(), "-C", outer.toString());
        ObjectMapper json = new ObjectMapper();
        JsonNode manifest = json.readTree(outer.resolve("manifest.json").toFile()).get(0);
        config = json.readTree(outer.resolve(manifest.path("Config").asText()).toFile()).path("config");
        rootfs = tmp.resolve("rootfs");
        Files.createDirectories(rootfs);
        for (JsonNode layer : manifest.path("Layers")) {
            run("tar", "-xzf", outer.resolve(layer.asText()).toString(), "-C", rootfs.toString());
        }
        long bytes;
        try (Stream<Path> layers = Files.list(outer)) {
            bytes = layers.filter(p -> p.toString().endsWith(".tar.gz")).mapToLong(p -> p.toFile().length()).sum();
        }
        System.out.printf("IMAGE-FIGURE tarball=%d bytes, compressed layers=%d bytes, layers=%d, user=%s, entrypoint=%s, cmd=%s%n",
                TARBALL.toFile().length(), bytes, manifest.path("Layers").size(), config.path("User").asText(),
                config.path("Entrypoint"), config.path("Cmd"));
    }

    @Test
    void imageConfigIsForANonRootServerWithTheCacheOnAVolume() {
        assertThat(config.path("User").asText()).isEqualTo("65532:65532");
        assertThat(config.path("Entrypoint")).extracting(JsonNode::asText).containsExactly("/usr/local/bin/kura");
        assertThat(config.path("Cmd")).extracting(JsonNode::asText).containsExactly("serve", "--config", "/etc/kura/kura.yaml");
        assertThat(config.path("Volumes").has("/var/cache/kura")).isTrue();
        assertThat(config.path("ExposedPorts").has("8080/tcp")).isTrue();
        assertThat(config.path("ExposedPorts").has("8081/tcp")).isTrue();
        assertThat(config.path("WorkingDir").asText()).isEqualTo("/var/cache/kura");
    }

    @Test
    void defaultCommandServesFromAnS3OriginOnAReadOnlyRoot() throws Exception {
        byte[] body = new byte[300_000];
        new Random(4).nextBytes(body);
        try (EmbeddedOrigin origin = EmbeddedOrigin.start(tmp.resolve("origin"), "127.0.0.1", 0)) {
            origin.createBucket("data");
            origin.put("data", "blob.bin", body, "application/octet-stream", null);
            Path conf = tmp.resolve("etc-kura");
            Files.createDirectories(conf);
            Files.writeString(conf.resolve("kura.yaml"), """
                    cache:
                      dir: /var/cache/kura
                      max-size: 256MiB
                    serve:
                      listen: 127.0.0.1:0
                      ops-listen: 127.0.0.1:0
                      node-id: image-test
                      buckets:
                        - prefix: /data
                          bucket: data
                          endpoint: %s
                          path-style: true
                          region: us-east-1
                          credentials:
                            type: static
                            access-key-id: %s
                            secret-access-key: %s
                          access: public
                          default-ttl: 1h
                    """.formatted(origin.endpoint(), EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY));
            Path cache = volume("cache-serve");
            Container c = start(cache, conf, List.of());
            try {
                Matcher m = c.awaitLine(LISTENING);
                int port = Integer.parseInt(m.group(1));
                int ops = Integer.parseInt(m.group(2));
                assertThat(get("http://127.0.0.1:" + ops + "/ready", 30).statusCode()).isEqualTo(200);
                HttpResponse<byte[]> miss = http.send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + port + "/data/blob.bin")).build(), HttpResponse.BodyHandlers.ofByteArray());
                assertThat(miss.statusCode()).isEqualTo(200);
                assertThat(miss.body()).isEqualTo(body);
                HttpResponse<byte[]> hit = http.send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + port + "/data/blob.bin")).build(), HttpResponse.BodyHandlers.ofByteArray());
                assertThat(hit.headers().firstValue("X-Cache")).contains("HIT");
                assertThat(hit.body()).isEqualTo(body);
                assertThat(origin.getCount()).isEqualTo(1);

                ProcessHandle java = c.java();
                String status = Files.readString(Path.of("/proc", Long.toString(java.pid()), "status"));
                assertThat(status).containsPattern("(?m)^Uid:\\s+65532\\s+65532\\s+65532\\s+65532$");
                String cmdline = Files.readString(Path.of("/proc", Long.toString(java.pid()), "cmdline")).replace('\0', ' ');
                System.out.println("IMAGE-FIGURE java command line: " + cmdline);
                assertThat(cmdline).contains("-XX:-UsePerfData", "-Xmx", "dev.kura.cli.Kura serve --config /etc/kura/kura.yaml");
                try (Stream<Path> files = Files.walk(cache)) {
                    List<Path> written = files.filter(Files::isRegularFile).toList();
                    assertThat(written).as("the cache is on the volume").isNotEmpty();
                    for (Path f : written) {
                        assertThat(Files.getAttribute(f, "unix:uid")).as("owner of %s", f).isEqualTo(65532);
                    }
                }

                java.destroy(); // SIGTERM to the container's process 1, as a runtime's stop
                assertThat(c.process().waitFor(60, TimeUnit.SECONDS)).as("stopped after SIGTERM").isTrue();
                assertThat(c.process().exitValue()).as("exit status; output:\n%s", c.output()).isZero();
            } finally {
                c.kill();
            }
        }
    }

    @Test
    void demoRunsInTheImage() throws Exception {
        int port = freePort();
        int ops = freePort();
        Path conf = tmp.resolve("etc-kura-empty");
        Files.createDirectories(conf);
        Container c = start(volume("cache-demo"), conf, List.of("serve", "--listen", "127.0.0.1:" + port,
                "--ops-listen", "127.0.0.1:" + ops));
        try {
            HttpResponse<byte[]> r = get("http://127.0.0.1:" + port + "/sample/hello.txt", 90);
            assertThat(r.statusCode()).as(c.output()).isEqualTo(200);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).isNotEmpty();
            c.java().destroy();
            assertThat(c.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(c.process().exitValue()).as(c.output()).isZero();
        } finally {
            c.kill();
        }
    }

    /** A started container: the unshare process and everything it printed (stdout and stderr). */
    record Container(Process process, Path log) {
        Matcher awaitLine(Pattern p) throws Exception {
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (System.nanoTime() < deadline) {
                Matcher m = p.matcher(output());
                if (m.find()) {
                    return m;
                }
                assertThat(process.isAlive()).as("container exited: %s", output()).isTrue();
                Thread.sleep(100);
            }
            throw new AssertionError("no line " + p + " in 90 s: " + output());
        }

        /** The JVM of the container (the process 1 of its PID namespace, seen from here). */
        ProcessHandle java() {
            Optional<ProcessHandle> j = process.descendants()
                    .filter(h -> h.info().command().orElse("").endsWith("/opt/java/bin/java")).findFirst();
            return j.orElseThrow(() -> new AssertionError("no java process under " + process.pid()));
        }

        String output() throws IOException {
            return Files.readString(log);
        }

        void kill() throws InterruptedException {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /**
     * Starts the image as a runtime would: the mounts, then chroot to the image's user, the
     * working directory, the entrypoint and {@code args} (or the image's Cmd when empty) with the
     * image's Env and nothing else.
     */
    private Container start(Path cache, Path conf, List<String> args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("/usr/bin/unshare", "--mount", "--pid", "--fork",
                "--kill-child=SIGTERM", "/bin/bash", "-c", RUNTIME, "runtime", rootfs.toString(), cache.toString(),
                conf.toString(), config.path("User").asText(), config.path("WorkingDir").asText("/")));
        List<String> env = new ArrayList<>();
        config.path("Env").forEach(e -> env.add(e.asText()));
        argv.add(Integer.toString(env.size()));
        argv.addAll(env);
        config.path("Entrypoint").forEach(e -> argv.add(e.asText()));
        if (args.isEmpty()) {
            config.path("Cmd").forEach(e -> argv.add(e.asText()));
        } else {
            argv.addAll(args);
        }
        Path log = Files.createTempFile(tmp, "container", ".log");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new Container(p, log);
    }

    /**
     * The runtime's steps, in bash in the new mount namespace. Arguments: rootfs, cache dir, config
     * dir, user (uid:gid), working dir, n, n environment entries, then the command.
     */
    private static final String RUNTIME = """
            set -euo pipefail
            r=$1 cache=$2 conf=$3 user=$4 wd=$5 n=$6; shift 6
            envs=("${@:1:$n}"); shift "$n"
            mount --make-rprivate /
            mount --bind "$r" "$r"
            mount -t proc proc "$r/proc"
            mount --rbind /dev "$r/dev"
            mount -t tmpfs -o size=128m,mode=1777 tmpfs "$r/tmp"
            mount --bind "$cache" "$r/var/cache/kura"
            mount --bind "$conf" "$r/etc/kura"
            mount -o remount,bind,ro "$r/etc/kura"
            mount -o remount,bind,ro "$r"
            # chroot has no working-directory option: the image's own /bin/sh changes to it
            exec /usr/bin/env -i "${envs[@]}" /usr/sbin/chroot --userspec="$user" "$r" \\
                /bin/sh -c 'cd "$0" && exec "$@"' "$wd" "$@"
            """;

    private Path volume(String name) throws IOException {
        Path d = tmp.resolve(name);
        Files.createDirectories(d);
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-x---"));
        Files.setAttribute(d, "unix:uid", 65532);
        Files.setAttribute(d, "unix:gid", 65532);
        return d;
    }

    private HttpResponse<byte[]> get(String url, int seconds) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (true) {
            try {
                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.ofByteArray());
                if (r.statusCode() == 200 || System.nanoTime() > deadline) {
                    return r;
                }
            } catch (IOException notYet) {
                assertThat(System.nanoTime()).as("%s not answering in %d s", url, seconds).isLessThan(deadline);
            }
            Thread.sleep(200);
        }
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("%s: %s", String.join(" ", cmd), out).isZero();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
