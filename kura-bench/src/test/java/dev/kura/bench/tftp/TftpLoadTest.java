package dev.kura.bench.tftp;

import dev.kura.io.FileIo;
import dev.kura.testing.Requires;
import dev.kura.tftp.TftpConfig;
import dev.kura.tftp.TftpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The load client of {@code kura bench tftp} against real servers: tftpd-hpa ({@code in.tftpd},
 * Debian package tftpd-hpa, installed by {@code .ci/run}) and kura's own TFTP server in-process.
 * It must count every byte and transfer, follow the windowsize the server grants, report a missing
 * file as failures, and retransmit and then give up against a server that never answers.
 */
class TftpLoadTest {

    @Test
    void countsTransfersBytesAndFailuresAgainstTftpdHpa(@TempDir Path root) throws Exception {
        Path tftpd = Requires.tool("in.tftpd", "tftpd-hpa");
        Requires.root("run in.tftpd, which chroots into the served directory (-s) and sets its user (-u root)");
        byte[] content = random(100_000);
        Files.write(root.resolve("f.bin"), content);
        int port;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Process p = new ProcessBuilder(tftpd.toString(), "-L", "-a", "127.0.0.1:" + port, "-s", "-u", "root", root.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            InetSocketAddress server = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            // in.tftpd binds at start; the first requests may arrive before it does: retry a little.
            TftpLoad.Result ok = null;
            for (int i = 0; i < 20 && (ok == null || ok.failures() > 0); i++) {
                Thread.sleep(100);
                ok = new TftpLoad(server, "f.bin", content.length, 1024, 1).run(4, TimeUnit.MILLISECONDS.toNanos(300));
            }
            assertThat(ok.failures()).as(String.valueOf(ok.firstError())).isZero();
            assertThat(ok.transfers()).isGreaterThanOrEqualTo(4);
            assertThat(ok.bytes()).isEqualTo(ok.transfers() * content.length);
            assertThat(ok.transferNanos().getTotalCount()).isEqualTo(ok.transfers());
            assertThat(ok.grantedWindowsize()).isEqualTo(1);

            // tftpd-hpa 5.2 has no windowsize: asked for 16 it grants none, and the client runs lock-step.
            TftpLoad.Result w16 = new TftpLoad(server, "f.bin", content.length, 1024, 16).run(3, TimeUnit.MILLISECONDS.toNanos(200));
            assertThat(w16.failures()).as(String.valueOf(w16.firstError())).isZero();
            assertThat(w16.grantedWindowsize()).isEqualTo(1);

            TftpLoad.Result missing = new TftpLoad(server, "nope.bin", 1, 1024, 1).run(2, TimeUnit.MILLISECONDS.toNanos(100));
            assertThat(missing.failures()).isEqualTo(missing.transfers()).isPositive();
            assertThat(missing.firstError()).startsWith("ERROR 1");
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void downloadsFromKuraWithTheGrantedWindowsizeOverSeveralLoops(@TempDir Path root) throws Exception {
        byte[] content = random(300_000);
        Files.write(root.resolve("f.bin"), content);
        // A multiple of blksize: the transfer ends with an empty DATA, which must be waited for.
        Files.write(root.resolve("even.bin"), random(1024 * 40));
        try (FileIo io = FileIo.create();
             TftpServer server = TftpServer.start(TftpConfig.defaults(root.toString())
                     .withListen(List.of("127.0.0.1:0")).withMaxima(65464, 16), io, new SimpleMeterRegistry())) {
            InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
            for (int w : new int[]{1, 16}) {
                TftpLoad.Result r = new TftpLoad(addr, "f.bin", content.length, 1468, w, 2, RetryPolicy.BACKOFF)
                        .run(7, TimeUnit.MILLISECONDS.toNanos(300));
                assertThat(r.failures()).as(String.valueOf(r.firstError())).isZero();
                assertThat(r.transfers()).isGreaterThanOrEqualTo(7);
                assertThat(r.bytes()).isEqualTo(r.transfers() * content.length);
                assertThat(r.transferNanos().getTotalCount()).isEqualTo(r.transfers());
                assertThat(r.grantedWindowsize()).isEqualTo(w);
                // The loops scanned for timeouts every 20 ms through the 300 ms run, and say how late.
                assertThat(r.scanLateNanos().getTotalCount()).isGreaterThanOrEqualTo(5);
            }
            TftpLoad.Result even = new TftpLoad(addr, "even.bin", 1024 * 40, 1024, 4, 1, RetryPolicy.BACKOFF)
                    .run(2, TimeUnit.MILLISECONDS.toNanos(100));
            assertThat(even.failures()).as(String.valueOf(even.firstError())).isZero();
            assertThat(even.bytes()).isEqualTo(even.transfers() * 1024 * 40).isPositive();

            // The wrong expected size is a failure, with the bytes that did arrive named.
            TftpLoad.Result wrong = new TftpLoad(addr, "f.bin", content.length + 1, 1468, 16, 1, RetryPolicy.BACKOFF)
                    .run(1, 0);
            assertThat(wrong.transfers()).isEqualTo(1);
            assertThat(wrong.failures()).isEqualTo(1);
            assertThat(wrong.firstError()).isEqualTo("got " + content.length + " bytes, expected " + (content.length + 1));
        }
    }

    /**
     * A windowed run (the 64 MiB x 1,000 cells): the window opens once every client has had its
     * first answer, counts the bytes received inside it, and aborts the downloads still running with
     * an ERROR packet, which ends them at the server at once (kura's active transfers drop to 0,
     * long before its retransmission timeouts would end them).
     */
    @Test
    void aWindowCountsTheBytesInsideItAndAbortsTheRest(@TempDir Path root) throws Exception {
        int size = 24 << 20;
        Files.write(root.resolve("big.bin"), random(size));
        try (FileIo io = FileIo.create();
             TftpServer server = TftpServer.start(TftpConfig.defaults(root.toString())
                     .withListen(List.of("127.0.0.1:0")).withMaxima(65464, 16), io, new SimpleMeterRegistry())) {
            InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
            long window = TimeUnit.MILLISECONDS.toNanos(300);
            // lock-step at 512-byte blocks: 24 MiB take far longer than the window
            TftpLoad.Result r = new TftpLoad(addr, "big.bin", size, 512, 1, 2, RetryPolicy.BACKOFF).run(4, 0, window);
            assertThat(r.failures()).as(String.valueOf(r.firstError())).isZero();
            assertThat(r.windowNanos()).isBetween(window, window + TimeUnit.MILLISECONDS.toNanos(200));
            assertThat(r.bytes()).as("bytes in the window").isPositive().isLessThanOrEqualTo(r.allBytes());
            assertThat(r.allBytes()).isLessThan(4L * size);
            assertThat(r.mbPerSecond()).isEqualTo(r.bytes() / 1e6 / (r.windowNanos() / 1e9));
            // the aborted downloads still report what they saw: the windowsize granted, the first answer
            assertThat(r.grantedWindowsize()).isEqualTo(1);
            assertThat(r.firstAnswerNanos().getTotalCount()).isGreaterThanOrEqualTo(4);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (server.activeTransfers() > 0 && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertThat(server.activeTransfers()).as("transfers ended by the clients' ERROR packets").isZero();
        }
    }

    @Test
    void resendsTheRequestWithBackOffAndGivesUpAfterFiveRetransmissions() throws Exception {
        // 100 ms doubling up to 400 ms: waits 100, 200, 400, 400, 400, 400 ms, 1.9 s in all.
        RetryPolicy policy = new RetryPolicy(TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.MILLISECONDS.toNanos(400), 5);
        assertThat(policy.giveUpNanos()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(1900));
        try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            List<Long> arrivals = new java.util.concurrent.CopyOnWriteArrayList<>();
            silent.setSoTimeout(100);
            Thread listener = Thread.ofPlatform().daemon().start(() -> {
                DatagramPacket p = new DatagramPacket(new byte[600], 600);
                while (!silent.isClosed()) {
                    try {
                        silent.receive(p);
                        if (p.getData()[1] == 1) {
                            arrivals.add(System.nanoTime());
                        }
                    } catch (SocketTimeoutException e) {
                        // keep listening
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), silent.getLocalPort());
            TftpLoad.Result r = new TftpLoad(addr, "f.bin", 1, 512, 1, 1, policy).run(1, 0);
            assertThat(r.transfers()).isEqualTo(1);
            assertThat(r.failures()).isEqualTo(1);
            assertThat(r.firstError()).isEqualTo("timed out after 0 bytes (no answer to the RRQ)");
            assertThat(r.failuresByKind()).containsExactly(java.util.Map.entry(Download.Failure.NO_ANSWER, 1L));
            assertThat(r.retransmits()).isEqualTo(5);
            assertThat(r.firstAnswerNanos().getTotalCount()).isZero();
            // The RRQ, then one more after each of the five timeouts; the sixth gives up.
            assertThat(r.transferNanos().getMaxValue()).isGreaterThanOrEqualTo(policy.giveUpNanos() - TimeUnit.MILLISECONDS.toNanos(50));
            Thread.sleep(200);
            assertThat(arrivals).hasSize(6);
            // The gaps double, then stay at the cap (the loop's 20 ms scan makes each up to that late).
            long[] expected = {100, 200, 400, 400, 400};
            for (int i = 0; i < expected.length; i++) {
                long gapMs = TimeUnit.NANOSECONDS.toMillis(arrivals.get(i + 1) - arrivals.get(i));
                assertThat(gapMs).as("gap %d", i).isBetween(expected[i] - 5, expected[i] + 60);
            }
            silent.close();
            listener.join(1000);
        }
    }

    @Test
    void theDefaultPolicyBacksOffLikeAPxeClient() {
        RetryPolicy p = RetryPolicy.BACKOFF;
        assertThat(List.of(p.wait(0), p.wait(1), p.wait(2), p.wait(3), p.wait(4), p.wait(5)))
                .containsExactly(1_000_000_000L, 2_000_000_000L, 4_000_000_000L, 8_000_000_000L, 8_000_000_000L, 8_000_000_000L);
        assertThat(p.giveUpNanos()).isEqualTo(TimeUnit.SECONDS.toNanos(31));
        assertThat(RetryPolicy.FIXED.giveUpNanos()).isEqualTo(TimeUnit.SECONDS.toNanos(6));
    }

    @Test
    void countsTheServersRepeatedDataAndTheTimeToItsFirstAnswer() throws Exception {
        // A server that answers the RRQ with DATA 1, sends DATA 1 again after the ACK (as a server
        // does after its own timeout), then the short DATA 2 that ends the transfer.
        try (DatagramSocket server = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             DatagramSocket tid = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(5000);
            tid.setSoTimeout(5000);
            Thread t = Thread.ofPlatform().daemon().start(() -> {
                try {
                    DatagramPacket rrq = new DatagramPacket(new byte[600], 600);
                    server.receive(rrq);
                    byte[] d1 = new byte[4 + 512];
                    d1[1] = 3;
                    d1[3] = 1;
                    tid.send(new DatagramPacket(d1, d1.length, rrq.getSocketAddress()));
                    DatagramPacket ack = new DatagramPacket(new byte[4], 4);
                    tid.receive(ack);
                    tid.send(new DatagramPacket(d1, d1.length, rrq.getSocketAddress()));
                    tid.receive(ack);
                    byte[] d2 = new byte[4 + 10];
                    d2[1] = 3;
                    d2[3] = 2;
                    tid.send(new DatagramPacket(d2, d2.length, rrq.getSocketAddress()));
                } catch (java.io.IOException e) {
                    // the client's assertions below report what went missing
                }
            });
            InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
            TftpLoad.Result r = new TftpLoad(addr, "f.bin", 522, 512, 1, 1, RetryPolicy.BACKOFF).run(1, 0);
            t.join(5000);
            assertThat(r.failures()).as(String.valueOf(r.firstError())).isZero();
            assertThat(r.bytes()).isEqualTo(522);
            assertThat(r.outOfOrder()).isEqualTo(1);
            assertThat(r.retransmits()).isZero();
            assertThat(r.firstAnswerNanos().getTotalCount()).isEqualTo(1);
            assertThat(r.firstAnswerNanos().getMaxValue()).isLessThanOrEqualTo(r.transferNanos().getMaxValue());
        }
    }

    private static byte[] random(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }
}
