package dev.kura.cli;

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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kura tftp} with {@code tftp.metrics-listen}: the same operations listener as
 * {@code kura serve}'s (kura-net's OpsServer), serving the process's one registry, {@code /live}
 * and {@code /ready}; a child JVM, stopped with SIGTERM.
 */
class TftpOpsListenerTest {

    @TempDir
    Path tmp;

    @Test
    void servesMetricsLiveAndReadyAndStopsOnSigterm() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.writeString(root.resolve("hello.txt"), "hello over tftp\n");
        Path config = tmp.resolve("kura.yaml");
        Files.writeString(config, "tftp:\n  metrics-listen: 127.0.0.1:0\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.kura.cli.Kura", "tftp", "--config", config.toString(),
                "--root", root.toString(), "--listen", "127.0.0.1:0").start();
        try {
            BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
            Pattern at = Pattern.compile("operations listener at (http://127\\.0\\.0\\.1:\\d+)");
            String ops = null;
            List<String> lines = new ArrayList<>();
            for (String line; (line = err.readLine()) != null; ) {
                lines.add(line);
                Matcher m = at.matcher(line);
                if (m.find()) {
                    ops = m.group(1);
                }
                if (line.contains("kura tftp: serving")) {
                    break;
                }
            }
            assertThat(ops).as("printed ops URL; stderr: " + lines).isNotNull();
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> metrics = get(http, ops + "/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("Content-Type")).contains("text/plain; version=0.0.4; charset=utf-8");
            // The warm-up's transfer of hello.txt counts in the registry the CLI handed the server.
            assertThat(metrics.body()).contains("kura_tftp_transfers_active").contains("kura_tftp_transfers_completed_total");
            assertThat(get(http, ops + "/live").statusCode()).isEqualTo(200);
            assertThat(get(http, ops + "/health").body()).isEqualTo("ok\n");
            HttpResponse<String> ready = get(http, ops + "/ready");
            assertThat(ready.statusCode()).isEqualTo(200);
            assertThat(ready.body()).isEqualTo("READY\n");
            assertThat(get(http, ops + "/admin/stats").statusCode()).as("no admin API").isEqualTo(404);
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("stops after SIGTERM").isTrue();
            assertThat(p.exitValue()).as("exit status after a graceful stop").isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
