package dev.kura.tftp;

import dev.kura.config.DataSize;
import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** WRQ (allow-list, no overwrite, size cap, temp file and rename, clean-up) and the memory bound. */
class WriteAndLimitsTest extends ServerFixture {

    private TftpConfig writable(boolean overwrite) {
        return defaults().withWrite(new TftpConfig.Write(true, List.of("up/*.bin", "up/*.txt"), overwrite, DataSize.ofBytes(100_000)))
                .withTimeouts(Duration.ofMillis(50), Duration.ofMillis(100), 3);
    }

    private List<Path> leftovers() throws Exception {
        // Not Files.walk: it stats every entry and fails when the server deletes one meanwhile.
        try (Stream<Path> s = Files.list(root.resolve("up"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
        }
    }

    @Test
    void wrqStoresAllowedFilesAndRefusesTheRest() throws Exception {
        Files.createDirectories(root.resolve("up"));
        start(writable(false));
        byte[] content = new byte[70_000];
        new Random(1).nextBytes(content);
        try (TestClient c = new TestClient(address())) {
            TestClient.Result r = c.put("up/a.bin", "octet", Map.of("blksize", "1024", "tsize", "70000"), content);
            assertThat(r.ok()).as(r.errorMessage()).isTrue();
            assertThat(r.oack()).containsEntry("tsize", "70000").containsEntry("blksize", "1024");
        }
        assertThat(Files.readAllBytes(root.resolve("up/a.bin"))).isEqualTo(content);
        try (TestClient c = new TestClient(address())) {
            assertThat(c.put("up/a.bin", "octet", Map.of(), content).errorCode()).as("no overwrite").isEqualTo(6);
            assertThat(c.put("elsewhere.bin", "octet", Map.of(), content).errorCode()).as("not allowed").isEqualTo(2);
            assertThat(c.put("up/../x.bin", "octet", Map.of(), content).errorCode()).isEqualTo(2);
            assertThat(c.put("up/b.bin", "octet", Map.of("tsize", "100001"), content).errorCode()).as("tsize over cap").isEqualTo(3);
            assertThat(c.put("up/c.bin", "octet", Map.of(), new byte[100_500]).errorCode()).as("bytes over cap").isEqualTo(3);
        }
        assertThat(root.resolve("up/b.bin")).doesNotExist();
        assertThat(root.resolve("up/c.bin")).doesNotExist();
        // The temporary file of the refused upload is deleted off the event loop, just after the ERROR.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!leftovers().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(leftovers()).isEmpty();
    }

    @Test
    void wrqNetasciiIsDecodedAndOverwriteWorksWhenConfigured() throws Exception {
        Files.createDirectories(root.resolve("up"));
        Files.writeString(root.resolve("up/t.txt"), "old");
        start(writable(true));
        try (TestClient c = new TestClient(address())) {
            TestClient.Result r = c.put("up/t.txt", "netascii", Map.of("blksize", "8"), "a\r\nb\r\0c\r\n".getBytes());
            assertThat(r.ok()).as(r.errorMessage()).isTrue();
        }
        assertThat(Files.readString(root.resolve("up/t.txt"))).isEqualTo("a\nb\rc\n");
    }

    @Test
    void abandonedWrqLeavesNothingBehind() throws Exception {
        Files.createDirectories(root.resolve("up"));
        start(writable(false));
        try (TestClient c = new TestClient(address())) {
            c.sendTo(TestClient.request(2, "up/gone.bin", "octet", Map.of()), address());
            DatagramPacket ack0 = c.receive();
            assertThat(TestClient.opcode(ack0)).isEqualTo(4);
            InetSocketAddress tid = (InetSocketAddress) ack0.getSocketAddress();
            c.sendTo(TestClient.data(1, new byte[512], 0, 512), tid);
            assertThat(TestClient.block(c.receive())).isEqualTo(1);
            assertThat(leftovers()).hasSize(1);
            // The client vanishes: the server times out and removes the temporary file.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while ((!leftovers().isEmpty() || server.activeTransfers() > 0) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }
        assertThat(leftovers()).isEmpty();
        assertThat(root.resolve("up/gone.bin")).doesNotExist();
        assertThat(server.activeTransfers()).isZero();
    }

    @Test
    void stoppingTheServerMidUploadLeavesNothingBehind() throws Exception {
        Files.createDirectories(root.resolve("up"));
        start(defaults().withWrite(new TftpConfig.Write(true, List.of("up/*"), false, null)));
        try (TestClient c = new TestClient(address())) {
            c.sendTo(TestClient.request(2, "up/half.bin", "octet", Map.of()), address());
            InetSocketAddress tid = (InetSocketAddress) c.receive().getSocketAddress();
            c.sendTo(TestClient.data(1, new byte[512], 0, 512), tid);
            assertThat(TestClient.block(c.receive())).isEqualTo(1);
            assertThat(leftovers()).hasSize(1);
            server.close();
        }
        assertThat(leftovers()).isEmpty();
        assertThat(root.resolve("up/half.bin")).doesNotExist();
    }

    @Test
    void overallLimitAnswersErrorZero() throws Exception {
        start(defaults().withLimits(1, 1000));
        randomFile("o.bin", 600, 15);
        try (TestClient a = new TestClient(address()); TestClient b = new TestClient(address())) {
            a.sendTo(TestClient.request(1, "o.bin", "octet", Map.of()), address());
            assertThat(TestClient.opcode(a.receive())).isEqualTo(3);
            TestClient.Result r = b.get("o.bin", "octet", Map.of());
            assertThat(r.errorCode()).isZero();
            assertThat(r.errorMessage()).contains("server busy").contains("tftp.max-transfers");
        }
    }

    @Test
    void finalDataRepeatedDuringDallyGetsTheFinalAckAgain() throws Exception {
        Files.createDirectories(root.resolve("up"));
        start(defaults().withWrite(new TftpConfig.Write(true, List.of("up/*"), false, null))
                .withTimeouts(Duration.ofMillis(500), Duration.ofSeconds(1), 3));
        try (TestClient c = new TestClient(address())) {
            c.sendTo(TestClient.request(2, "up/d.bin", "octet", Map.of()), address());
            InetSocketAddress tid = (InetSocketAddress) c.receive().getSocketAddress();
            byte[] last = TestClient.data(1, new byte[10], 0, 10);
            c.sendTo(last, tid);
            assertThat(TestClient.block(c.receive())).isEqualTo(1);
            c.sendTo(last, tid);
            DatagramPacket again = c.receive();
            assertThat(again).as("final ACK re-sent while dallying").isNotNull();
            assertThat(TestClient.opcode(again)).isEqualTo(4);
            assertThat(TestClient.block(again)).isEqualTo(1);
        }
        assertThat(Files.size(root.resolve("up/d.bin"))).isEqualTo(10);
    }

    /**
     * Memory per transfer, measured: 40 transfers at once with windowsize 16 and blksize 1468;
     * every transfer's buffers (window blocks plus read-ahead chunks) must stay within
     * 2 x 16 KiB (the default read-chunk) + 16 * (1468 + 4) bytes, and all are given back at the end.
     */
    @Test
    void memoryPerTransferIsBounded() throws Exception {
        start(defaults().withMaxima(1468, 16));
        byte[] content = randomFile("m.bin", 1_000_000, 12);
        String expected = sha256(content);
        int n = 40;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    try (TestClient c = new TestClient(address())) {
                        TestClient.Result r = c.get("m.bin", "octet", Map.of("blksize", "1468", "windowsize", "16"));
                        return r.ok() ? sha256(r.data()) : r.errorMessage();
                    }
                }));
            }
            for (Future<String> f : results) {
                assertThat(f.get()).isEqualTo(expected);
            }
        }
        long peak = server.peakTransferBufferBytes();
        System.out.printf("tftp memory: peak buffer bytes per transfer = %d (windowsize 16, blksize 1468, %d concurrent)%n", peak, n);
        assertThat(peak).isPositive().isLessThanOrEqualTo(2 * 16 * 1024 + 16 * (1468 + 4));
        // The clients are done once they sent the final ACK; the server may still be reading it.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.activeTransfers() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(server.activeTransfers()).isZero();
        assertThat(server.bufferBytes()).isZero();
    }
}
