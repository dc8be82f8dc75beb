package dev.kura.cli;

import dev.kura.s3.embedded.SampleData;
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

/** {@code kura serve}: the no-config demo in a child JVM (as the README runs it), SIGTERM, bad configs. */
class ServeCommandTest {

    @TempDir
    Path tmp;

    @Test
    void demoModeServesTheSampleBucketThroughTheCacheAndStopsOnSigterm() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.kura.cli.Kura", "serve",
                "--data-dir", tmp.resolve("data").toString(), "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0")
                .redirectError(tmp.resolve("stderr.txt").toFile()).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Pattern proxy = Pattern.compile("proxy\\s+:\\s+(http://127\\.0\\.0\\.1:\\d+)");
            Pattern opsLine = Pattern.compile("ops\\s+:\\s+(http://127\\.0\\.0\\.1:\\d+)");
            String base = null;
            String ops = null;
            List<String> lines = new ArrayList<>();
            for (String line; (line = out.readLine()) != null; ) {
                lines.add(line);
                Matcher m = proxy.matcher(line);
                if (m.find()) {
                    base = m.group(1);
                }
                Matcher o = opsLine.matcher(line);
                if (o.find()) {
                    ops = o.group(1);
                }
                if (line.contains("Ctrl-C")) {
                    break;
                }
            }
            assertThat(base).as("printed proxy URL; output: " + lines + "; stderr: "
                    + Files.readString(tmp.resolve("stderr.txt"))).isNotNull();
            assertThat(String.join("\n", lines)).contains("curl -i " + base + "/sample/hello.txt");
            HttpClient http = HttpClient.newHttpClient();
            byte[] want = SampleData.objects().getFirst().bytes();
            HttpResponse<byte[]> first = http.send(HttpRequest.newBuilder(URI.create(base + "/sample/hello.txt")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            HttpResponse<byte[]> second = http.send(HttpRequest.newBuilder(URI.create(base + "/sample/hello.txt")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.body()).isEqualTo(want);
            assertThat(first.headers().firstValue("X-Cache")).contains("MISS");
            assertThat(second.headers().firstValue("X-Cache")).contains("HIT");
            assertThat(second.body()).isEqualTo(want);
            assertThat(String.join("\n", lines)).contains("curl -s " + ops + "/metrics | grep kura_requests");
            String metrics = http.send(HttpRequest.newBuilder(URI.create(ops + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("kura_requests_seconds_count{bucket=\"sample\"");
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("stops after SIGTERM").isTrue();
            assertThat(p.exitValue()).as("exit status after a graceful stop").isZero();
            assertThat(Files.readString(tmp.resolve("stderr.txt"))).doesNotContain("Exception");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void aConfigWithoutServeOrWithAMistakeIsRefusedWithItsLine() throws Exception {
        Path none = tmp.resolve("none.yaml");
        Files.writeString(none, "io:\n  backend: nio\n");
        assertThat(Kura.commandLine().execute("serve", "--config", none.toString())).isEqualTo(2);
        Path typo = tmp.resolve("typo.yaml");
        Files.writeString(typo, "serve:\n  buckets:\n    - prefix: /a\n      bucket: b1\n      path_style: true\n");
        var err = new java.io.ByteArrayOutputStream();
        var old = System.err;
        System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertThat(Kura.commandLine().execute("serve", "--config", typo.toString())).isEqualTo(2);
        } finally {
            System.setErr(old);
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("typo.yaml:5").contains("path_style");
    }
}
