package dev.kura.cli;

import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** SIGHUP on a child {@code kura serve --config} process: a bucket added by the file serves; a broken file is refused and logged. */
class ServeReloadTest {
    @TempDir
    Path tmp;

    private String yaml(EmbeddedOrigin origin, boolean extra, String more) {
        String bucket = """
                      path-style: true
                      endpoint: %s
                      access: public
                      credentials: {type: static, access-key-id: %s, secret-access-key: %s}
                """.formatted(origin.endpoint(), EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY);
        return """
                cache:
                  dir: %s
                  max-size: 256MiB
                serve:
                  listen: 127.0.0.1:0
                  ops-listen: 127.0.0.1:0
                  shutdown-timeout: 5s
                %s  buckets:
                    - bucket: test
                %s""".formatted(tmp.resolve("cache"), more, bucket)
                + (extra ? "    - bucket: test\n      name: extra\n" + bucket : "");
    }

    @Test
    void sighupReloadsTheConfigFile() throws Exception {
        try (EmbeddedOrigin origin = EmbeddedOrigin.start(tmp.resolve("origin"), "127.0.0.1", 0)) {
            origin.createBucket("test");
            origin.put("test", "a.txt", "hello".getBytes(StandardCharsets.UTF_8), "text/plain", null);
            Path file = tmp.resolve("kura.yaml");
            Files.writeString(file, yaml(origin, false, ""));
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Path stderr = tmp.resolve("stderr.txt");
            Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), "dev.kura.cli.Kura", "serve", "--config", file.toString())
                    .redirectError(stderr.toFile()).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                Pattern listening = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
                String port = null;
                for (String line; port == null && (line = out.readLine()) != null; ) {
                    Matcher m = listening.matcher(line);
                    if (m.find()) {
                        port = m.group(1);
                    }
                }
                assertThat(port).as("stderr: " + Files.readString(stderr)).isNotNull();
                Thread.ofVirtual().start(() -> out.lines().forEach(l -> { })); // access lines: keep the pipe drained
                HttpClient http = HttpClient.newHttpClient();
                URI extra = URI.create("http://127.0.0.1:" + port + "/extra/a.txt");
                assertThat(http.send(HttpRequest.newBuilder(extra).build(), HttpResponse.BodyHandlers.ofString())
                        .statusCode()).isEqualTo(404);

                Files.writeString(file, yaml(origin, true, ""));
                hup(p);
                int status = 0;
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (status != 200 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                    status = http.send(HttpRequest.newBuilder(extra).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode();
                }
                assertThat(status).as("stderr: " + Files.readString(stderr)).isEqualTo(200);
                assertThat(Files.readString(stderr)).contains("reload (SIGHUP) applied: buckets added [extra]");

                Files.writeString(file, yaml(origin, true, "  no-such-key: 1\n"));
                hup(p);
                deadline = System.nanoTime() + 20_000_000_000L;
                while (!Files.readString(stderr).contains("reload (SIGHUP) refused") && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertThat(Files.readString(stderr)).contains("reload (SIGHUP) refused, the running config stays: "
                        + "kura.yaml:8:").contains("no-such-key");
                assertThat(http.send(HttpRequest.newBuilder(extra).build(), HttpResponse.BodyHandlers.ofString())
                        .statusCode()).isEqualTo(200);
                p.destroy();
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).isZero();
            } finally {
                p.destroyForcibly();
            }
        }
    }

    private static void hup(Process p) throws Exception {
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
    }
}
