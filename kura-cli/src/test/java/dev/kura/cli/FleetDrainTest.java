package dev.kura.cli;

import dev.kura.s3.embedded.EmbeddedOrigin;
import dev.kura.testing.Requires;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12 §1, drain through the balancer: three {@code kura serve --config} child JVMs behind a
 * real HAProxy ({@code /usr/sbin/haproxy}, Debian's {@code haproxy}) running
 * {@code deploy/haproxy/haproxy.cfg} as shipped (check every 0.5 s, {@code fall 2}), each node with
 * {@code serve.drain-delay: 3s}. Under a steady load of GETs through HAProxy (4 clients, keys
 * spread over all three nodes), node 2 gets a real SIGTERM. Checks: no request fails (every one
 * 200 with the origin's bytes); HAProxy logged node 2 DOWN before node 2's data port stopped
 * accepting connections; node 2 served no request through HAProxy after that; node 2 exited 0.
 *
 * <p>HAProxy's {@code retries}/{@code redispatch} would hide a node that closed without draining
 * (a refused connection is retried on another node), so "0 failures" alone proves little: the
 * order of "marked DOWN" and "listener closed" is what shows the drain worked.
 */
class FleetDrainTest {
    private static final int OBJECTS = 40;
    private static final String BUCKET = "fleet";

    @TempDir
    Path tmp;

    record Node(String id, Process process, int port, int opsPort) {
    }

    @Test
    void sigtermedNodeLeavesHaproxyBeforeItsListenerClosesAndNoRequestFails() throws Exception {
        Path haproxyExe = Requires.tool("haproxy", "haproxy");
        Path cfg = Path.of("..", "deploy", "haproxy", "haproxy.cfg").toAbsolutePath().normalize();
        assertThat(cfg).exists();
        List<Node> nodes = new ArrayList<>();
        Process haproxy = null;
        Path haproxyLog = tmp.resolve("haproxy.log");
        try (EmbeddedOrigin origin = EmbeddedOrigin.start(tmp.resolve("origin"), "127.0.0.1", 0)) {
            origin.createBucket(BUCKET);
            Map<String, byte[]> objects = new ConcurrentHashMap<>();
            Random rnd = new Random(121);
            for (int i = 0; i < OBJECTS; i++) {
                byte[] b = new byte[2000 + rnd.nextInt(30_000)];
                rnd.nextBytes(b);
                objects.put("k/" + i, b);
                origin.put(BUCKET, "k/" + i, b, "application/octet-stream", null);
            }
            for (int i = 1; i <= 3; i++) {
                nodes.add(startNode("kura" + i, origin.endpoint()));
            }
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            for (Node n : nodes) {
                awaitReady(http, n);
            }
            int front = freePort();
            ProcessBuilder pb = new ProcessBuilder(haproxyExe.toString(), "-db", "-f", cfg.toString())
                    .redirectErrorStream(true).redirectOutput(haproxyLog.toFile());
            pb.environment().put("KURA_FRONT", "127.0.0.1:" + front);
            for (int i = 1; i <= 3; i++) {
                pb.environment().put("KURA" + i, "127.0.0.1:" + nodes.get(i - 1).port());
                pb.environment().put("KURA" + i + "_OPS", Integer.toString(nodes.get(i - 1).opsPort()));
            }
            haproxy = pb.start();
            awaitListening(front, haproxy, haproxyLog);

            // Steady load: 4 clients, each GETting the keys round and round through HAProxy.
            String base = "http://127.0.0.1:" + front + "/" + BUCKET + "/";
            AtomicBoolean run = new AtomicBoolean(true);
            AtomicLong ok = new AtomicLong();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            AtomicLong lastServedByKura2 = new AtomicLong(); // when the last request it answered was sent
            Map<String, AtomicLong> perNode = new ConcurrentHashMap<>();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                int seed = c;
                clients.add(Thread.ofPlatform().start(() -> {
                    int i = seed;
                    while (run.get()) {
                        String key = "k/" + (i++ % OBJECTS);
                        long sent = System.nanoTime();
                        try {
                            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + key))
                                    .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
                            String node = r.headers().firstValue("X-Kura-Node").orElse("?");
                            if (r.statusCode() != 200 || !java.util.Arrays.equals(r.body(), objects.get(key))) {
                                failures.add(key + ": " + r.statusCode() + " from " + node);
                            } else {
                                ok.incrementAndGet();
                                perNode.computeIfAbsent(node, n -> new AtomicLong()).incrementAndGet();
                                if (node.equals("kura2")) {
                                    lastServedByKura2.accumulateAndGet(sent, Math::max);
                                }
                            }
                        } catch (IOException | RuntimeException e) {
                            failures.add(key + ": " + e);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }));
            }
            // Load established: every node has answered (the first GETs are misses on a loaded machine).
            long warm = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!(perNode.keySet().containsAll(List.of("kura1", "kura2", "kura3")) && ok.get() >= 2L * OBJECTS)) {
                assertThat(failures).as("failures before SIGTERM").isEmpty();
                assertThat(System.nanoTime()).as("load on all 3 nodes within 60 s: %s", perNode).isLessThan(warm);
                Thread.sleep(50);
            }

            Node two = nodes.get(1);
            long sigterm = System.nanoTime();
            two.process().destroy(); // SIGTERM
            long down = 0;
            long closed = 0;
            long deadline = sigterm + Duration.ofSeconds(20).toNanos();
            while ((down == 0 || closed == 0) && System.nanoTime() < deadline) {
                if (down == 0 && Files.readString(haproxyLog).contains("kura/kura2 is DOWN")) {
                    down = System.nanoTime();
                }
                if (closed == 0 && !accepts(two.port())) {
                    closed = System.nanoTime();
                }
                Thread.sleep(20);
            }
            Thread.sleep(1000); // load goes on after node 2 left
            run.set(false);
            for (Thread t : clients) {
                t.join(30_000);
            }
            assertThat(two.process().waitFor(30, TimeUnit.SECONDS)).as("node 2 exited after SIGTERM").isTrue();
            String log = Files.readString(haproxyLog);
            System.out.printf("DRAIN-FIGURE requests-ok=%d failures=%d per-node=%s marked-down-after-sigterm-ms=%d "
                            + "listener-closed-after-sigterm-ms=%d last-request-to-kura2-sent-after-sigterm-ms=%d%n",
                    ok.get(), failures.size(), perNode, ms(down - sigterm), ms(closed - sigterm),
                    ms(lastServedByKura2.get() - sigterm));
            assertThat(failures).as("failed requests; haproxy log:\n%s", log).isEmpty();
            assertThat(down).as("HAProxy marked kura2 DOWN within 20 s; log:\n%s", log).isPositive();
            assertThat(closed).as("kura2's data port closed within 20 s").isPositive();
            assertThat(down).as("HAProxy marked kura2 DOWN before its listener closed").isLessThan(closed);
            assertThat(lastServedByKura2.get()).as("no request sent after HAProxy marked kura2 DOWN was answered by kura2")
                    .isLessThan(down);
            assertThat(two.process().exitValue()).as("exit status after SIGTERM").isZero();
            assertThat(ok.get()).isPositive();
        } finally {
            if (haproxy != null) {
                haproxy.destroy();
                haproxy.waitFor(10, TimeUnit.SECONDS);
            }
            for (Node n : nodes) {
                n.process().destroy();
                if (!n.process().waitFor(30, TimeUnit.SECONDS)) {
                    n.process().destroyForcibly();
                }
            }
        }
    }

    private Node startNode(String id, URI originEndpoint) throws Exception {
        Path config = tmp.resolve(id + ".yaml");
        Files.writeString(config, """
                cache:
                  dir: %s
                  max-size: 256MiB
                serve:
                  listen: 127.0.0.1:0
                  ops-listen: 127.0.0.1:0
                  node-id: %s
                  drain-delay: 3s
                  shutdown-timeout: 10s
                  access-log: false
                  buckets:
                    - prefix: /%s
                      bucket: %s
                      endpoint: %s
                      path-style: true
                      region: us-east-1
                      credentials:
                        type: static
                        access-key-id: %s
                        secret-access-key: %s
                      access: public
                      default-ttl: 1h
                """.formatted(tmp.resolve(id + "-cache"), id, BUCKET, BUCKET, originEndpoint,
                        EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY));
        ServeChild c = ServeChild.start(config, tmp.resolve(id + "-stderr.txt"), "192m");
        return new Node(id, c.process(), c.port(), c.opsPort());
    }

    private static void awaitReady(HttpClient http, Node n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            int status;
            try {
                status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.opsPort() + "/ready"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (IOException notYet) {
                status = -1;
            }
            if (status == 200) {
                return;
            }
            assertThat(System.nanoTime()).as("node %s not ready in 30 s", n.id()).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static void awaitListening(int port, Process haproxy, Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!accepts(port)) {
            assertThat(haproxy.isAlive()).as("haproxy exited: %s", Files.readString(log)).isTrue();
            assertThat(System.nanoTime()).as("haproxy not listening in 20 s").isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static boolean accepts(int port) {
        try (Socket ignored = new Socket("127.0.0.1", port)) {
            return true;
        } catch (ConnectException refused) {
            return false;
        } catch (IOException other) {
            return false;
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
