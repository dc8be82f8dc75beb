package dev.kura.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Writer;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code kura serve} (demo mode, default limits, default transport) in a child JVM against many
 * hostile connections: idle ones, slowloris ones, and more than the open-files limit allows.
 */
class HostileClientsTest {
    private static final Pattern PROXY = Pattern.compile("proxy\\s+:\\s+(http://127\\.0\\.0\\.1:\\d+)");
    private static final Pattern OPS = Pattern.compile("ops\\s+:\\s+(http://127\\.0\\.0\\.1:\\d+)");

    @TempDir
    Path tmp;

    /** The child and the URLs it printed. */
    record Child(Process process, String base, String ops, Path stderr) implements AutoCloseable {
        int port() {
            return URI.create(base).getPort();
        }

        /** User plus system CPU time of the child in clock ticks (/proc/PID/stat fields 14 and 15). */
        long cpuTicks() throws IOException {
            String stat = Files.readString(Path.of("/proc/" + process.pid() + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    private Child start(List<String> prefix) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp",
                System.getProperty("java.class.path"), "dev.kura.cli.Kura", "serve",
                "--data-dir", tmp.resolve("data").toString(), "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"));
        Path err = tmp.resolve("stderr-" + System.nanoTime() + ".txt");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String base = null;
        String ops = null;
        for (String line; (line = out.readLine()) != null; ) {
            Matcher m = PROXY.matcher(line);
            if (m.find()) {
                base = m.group(1);
            }
            Matcher o = OPS.matcher(line);
            if (o.find()) {
                ops = o.group(1);
            }
            if (line.contains("Ctrl-C")) {
                break;
            }
        }
        Thread.ofPlatform().daemon().start(() -> {
            try {
                out.transferTo(Writer.nullWriter());
            } catch (IOException ignored) {
                // the child ended
            }
        });
        assertThat(base).as("child printed its URL; stderr: " + Files.readString(err)).isNotNull();
        return new Child(p, base, ops, err);
    }

    private static int get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void moreConnectionsThanOpenFilesNeitherSpinsNorFloodsTheLogAndServiceResumes() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/prlimit")), "prlimit (util-linux) is not installed");
        try (Child c = start(List.of("/usr/bin/prlimit", "--nofile=600:600"))) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            assertThat(get(http, c.base() + "/sample/hello.txt")).isEqualTo(200);
            // The cap keeps connections under the limit; to make accept(2) itself fail with EMFILE,
            // lower the running child's limit to just above what it holds now.
            long open;
            try (var fds = Files.list(Path.of("/proc/" + c.process().pid() + "/fd"))) {
                open = fds.count();
            }
            long lowered = open + 8;
            Process lower = new ProcessBuilder("/usr/bin/prlimit", "--pid", Long.toString(c.process().pid()),
                    "--nofile=" + lowered + ":" + lowered).inheritIO().start();
            assertThat(lower.waitFor()).isZero();
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 1100; i++) {
                    try {
                        held.add(new Socket("127.0.0.1", c.port()));
                    } catch (IOException e) {
                        break; // the backlog is full: fine, kura is not accepting more
                    }
                }
                Thread.sleep(1000);
                long cpu0 = c.cpuTicks();
                long log0 = Files.size(c.stderr());
                Thread.sleep(5000);
                long cpuTicks = c.cpuTicks() - cpu0;
                long logBytes = Files.size(c.stderr()) - log0;
                System.out.printf("HostileClientsTest: %d connections held, open-files limit %d: %d CPU ticks, %d log bytes in 5 s%n",
                        held.size(), lowered, cpuTicks, logBytes);
                // 100 ticks per second: 5 s of a busy loop would be ~500 ticks.
                assertThat(cpuTicks).as("CPU ticks in 5 s while %d connections are held", held.size()).isLessThan(100);
                assertThat(logBytes).as("log bytes in 5 s").isLessThan(4096);
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            int status = 0;
            while (status != 200 && System.nanoTime() < deadline) {
                try {
                    status = get(http, c.base() + "/sample/hello.txt");
                } catch (IOException e) {
                    Thread.sleep(100);
                }
            }
            assertThat(status).as("served again after the connections closed").isEqualTo(200);
            String log = Files.readString(c.stderr());
            assertThat(log).contains("lowered to");
            assertThat(log).as("accept failed with EMFILE and kura paused").contains("pausing accepts")
                    .contains("Too many open files");
        }
    }

    @Test
    void tenThousandIdleAndAThousandSlowlorisConnectionsFailNoNormalRequest() throws Exception {
        long need = 11_000 + 1_000;
        long limit = openFilesLimit();
        assumeTrue(limit >= need, "the open-files limit is " + limit + ", this test needs " + need
                + " (ulimit -n 20000); the child JVM needs as many");
        try (Child c = start(List.of())) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            assertThat(get(http, c.base() + "/sample/hello.txt")).isEqualTo(200);
            List<Socket> idle = new ArrayList<>();
            List<Socket> slow = new ArrayList<>();
            AtomicBoolean stop = new AtomicBoolean();
            Thread dripper = null;
            int ok = 0;
            int failed = 0;
            try {
                for (int i = 0; i < 10_000; i++) {
                    idle.add(new Socket("127.0.0.1", c.port()));
                }
                for (int i = 0; i < 1_000; i++) {
                    Socket s = new Socket("127.0.0.1", c.port());
                    s.getOutputStream().write("GET /sample/hello.txt HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
                    slow.add(s);
                }
                dripper = Thread.ofPlatform().start(() -> {
                    while (!stop.get()) {
                        for (Socket s : slow) {
                            try {
                                OutputStream o = s.getOutputStream();
                                o.write('X');
                                o.flush();
                            } catch (IOException closedByKura) {
                                // expected after request-header-timeout
                            }
                        }
                        try {
                            Thread.sleep(1000);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (System.nanoTime() < end) {
                    try {
                        if (get(http, c.base() + "/sample/hello.txt") == 200) {
                            ok++;
                        } else {
                            failed++;
                        }
                    } catch (IOException e) {
                        failed++;
                    }
                    Thread.sleep(20);
                }
                String metrics = new String(http.send(HttpRequest.newBuilder(URI.create(c.ops() + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofByteArray()).body(), StandardCharsets.UTF_8);
                Matcher open = Pattern.compile("kura_connections_open (\\d+)").matcher(metrics);
                assertThat(open.find()).isTrue();
                assertThat(Double.parseDouble(open.group(1))).as("idle connections kept (idle-timeout 60 s)")
                        .isGreaterThanOrEqualTo(10_000);
                assertThat(metrics).containsPattern("kura_connections_closed_total\\{reason=\"request_header_timeout\"} (\\d{3,})");
            } finally {
                stop.set(true);
                if (dripper != null) {
                    dripper.join();
                }
                for (Socket s : idle) {
                    s.close();
                }
                for (Socket s : slow) {
                    s.close();
                }
            }
            System.out.printf("HostileClientsTest: 10,000 idle + 1,000 slowloris: %d normal requests ok, %d failed%n", ok, failed);
            assertThat(failed).as("failed normal requests").isZero();
            assertThat(ok).isGreaterThan(10);
        }
    }

    private static long openFilesLimit() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean u) {
            return u.getMaxFileDescriptorCount();
        }
        return -1;
    }
}
