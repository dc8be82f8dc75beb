package dev.kura.cli;

import dev.kura.cache.Cache;
import dev.kura.cli.config.KuraConfig;
import dev.kura.io.FileIo;
import dev.kura.s3.ProxyServer;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kura prewarm} in a child JVM (stdout a pipe: plain progress lines), against S3Proxy: on its
 * own cache directory, then through a running server's admin API ({@code --ops}).
 */
class PrewarmCommandTest {
    private static final String TOKEN = "prewarm-cli-test-token-0123";

    @TempDir
    Path tmp;

    private Path config(EmbeddedOrigin origin) throws Exception {
        Path file = tmp.resolve("kura.yaml");
        Files.writeString(file, """
                cache:
                  dir: %s
                  max-size: 256MiB
                  slice-size: 256KiB
                serve:
                  listen: 127.0.0.1:0
                  ops-listen: 127.0.0.1:0
                  admin-token: %s
                  buckets:
                    - bucket: test
                      path-style: true
                      endpoint: %s
                      access: public
                      credentials: {type: static, access-key-id: %s, secret-access-key: %s}
                """.formatted(tmp.resolve("cache"), TOKEN, origin.endpoint(), EmbeddedOrigin.ACCESS_KEY,
                EmbeddedOrigin.SECRET_KEY));
        return file;
    }

    private record Run(int exit, String out, String err) {
    }

    private Run prewarm(String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.kura.cli.Kura", "prewarm"));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile(tmp, "stderr", ".txt");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, Files.readString(err));
    }

    @Test
    void prewarmOnItsOwnCacheThenAgainSkipsAndANoStoreObjectFailsTheExitStatus() throws Exception {
        try (EmbeddedOrigin origin = EmbeddedOrigin.start(tmp.resolve("origin"), "127.0.0.1", 0)) {
            origin.createBucket("test");
            for (int i = 0; i < 5; i++) {
                origin.put("test", "data/f" + i, new byte[i == 4 ? 600_000 : 3_000 + i], "application/octet-stream", null);
            }
            Path file = config(origin);
            Run dry = prewarm("--config", file.toString(), "--dry-run", "s3://test/data/");
            assertThat(dry.exit()).as(dry.out() + dry.err()).isZero();
            assertThat(dry.out()).contains("5/5 objects (5 to fill, 0 skipped, 0 failed)")
                    .contains("(dry run: nothing fetched)");
            Run first = prewarm("--config", file.toString(), "--concurrency", "2", "--interval", "100ms",
                    "s3://test/data/");
            assertThat(first.exit()).as(first.out() + first.err()).isZero();
            assertThat(first.out()).doesNotContain("\r")
                    .contains("prewarm s3://test/data/: 5/5 objects (5 filled, 0 skipped, 0 failed)")
                    .contains(": DONE");

            Run second = prewarm("--config", file.toString(), "s3://test/data/");
            assertThat(second.exit()).as(second.out() + second.err()).isZero();
            assertThat(second.out()).contains("5/5 objects (0 filled, 5 skipped, 0 failed), 0 B");

            origin.put("test", "data/secret", "x".getBytes(StandardCharsets.UTF_8), "text/plain", "no-store");
            Run third = prewarm("--config", file.toString(), "s3://test/data/");
            assertThat(third.exit()).as("an object that could not be cached fails the run").isEqualTo(1);
            assertThat(third.out()).contains("6/6 objects (0 filled, 5 skipped, 1 failed)")
                    .contains("failed: data/secret: ");

            Run bad = prewarm("--config", file.toString(), "s3://nope/");
            assertThat(bad.exit()).as(bad.err()).isEqualTo(2);
            assertThat(bad.err()).contains("no bucket mapping named 'nope'");
        }
    }

    @Test
    void prewarmThroughARunningServersAdminApi() throws Exception {
        try (EmbeddedOrigin origin = EmbeddedOrigin.start(tmp.resolve("origin"), "127.0.0.1", 0)) {
            origin.createBucket("test");
            for (int i = 0; i < 4; i++) {
                origin.put("test", "d/" + i, new byte[10_000 + i], "application/octet-stream", null);
            }
            Path file = config(origin);
            KuraConfig kc = KuraConfig.load(file);
            try (FileIo io = FileIo.create(kc.io().toIoConfig());
                 Cache cache = Cache.open(kc.cache().toCacheConfig(), io);
                 ProxyServer server = ProxyServer.start(kc.serve(), cache, kc.cache().sliceSizeBytes())) {
                Run local = prewarm("--config", file.toString(), "s3://test/d/");
                assertThat(local.exit()).as("the server holds the cache").isEqualTo(1);
                assertThat(local.err()).contains("--ops http://");

                Run run = prewarm("--config", file.toString(), "--ops", "http://127.0.0.1:" + server.opsPort(),
                        "s3://test/d/");
                assertThat(run.exit()).as(run.out() + run.err()).isZero();
                assertThat(run.out()).contains("4/4 objects (4 filled, 0 skipped, 0 failed)").contains(": DONE");
                HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + "/test/d/2")).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                assertThat(r.headers().firstValue("X-Cache")).contains("HIT");
                assertThat(r.body()).hasSize(10_002);
            }
        }
    }
}
