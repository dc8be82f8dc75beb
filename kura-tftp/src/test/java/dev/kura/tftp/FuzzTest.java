package dev.kura.tftp;

import dev.kura.io.FileIo;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property: whatever datagram arrives, at the listener or at a transfer's port from a stranger,
 * the server answers or drops it, and a correct transfer running at the same time (and the next
 * one) still delivers the right bytes.
 */
class FuzzTest {

    private static Path root;
    private static FileIo io;
    private static TftpServer server;
    private static byte[] content;

    @BeforeContainer
    static void start() throws IOException {
        root = Files.createTempDirectory("kura-tftp-fuzz");
        content = new byte[1800];
        new Random(7).nextBytes(content);
        Files.write(root.resolve("f.bin"), content);
        Files.createDirectories(root.resolve("up"));
        io = FileIo.create();
        TftpConfig cfg = TftpConfig.defaults(root.toString()).withListen(List.of("127.0.0.1:0"))
                .withTimeouts(Duration.ofMillis(250), Duration.ofMillis(500), 3)
                .withWrite(new TftpConfig.Write(true, List.of("up/*"), true, null));
        server = TftpServer.start(cfg, io, new SimpleMeterRegistry());
    }

    @AfterContainer
    static void stop() throws IOException {
        server.close();
        io.close();
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
    }

    @Provide
    Arbitrary<byte[]> packets() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMinSize(0).ofMaxSize(700);
        List<byte[]> valid = List.of(
                TestClient.request(1, "f.bin", "octet", Map.of("blksize", "1024", "tsize", "0", "windowsize", "4", "timeout", "1")),
                TestClient.request(1, "f.bin", "netascii", Map.of()),
                TestClient.request(2, "up/x.bin", "octet", Map.of("tsize", "100")),
                TestClient.ack(1), TestClient.data(1, new byte[20], 0, 20),
                new byte[]{0, 5, 0, 1, 'n', 'o', 0}, new byte[]{0, 6, 'b', 'l', 'k', 's', 'i', 'z', 'e', 0, '9', 0});
        Arbitrary<byte[]> mutated = Combinators.combine(Arbitraries.of(valid), Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(0, 1000), Arbitraries.bytes()).as((base, op, pos, b) -> {
            byte[] p = base.clone();
            int i = pos % Math.max(1, p.length);
            return switch (op) {
                case 0 -> {
                    p[i] = b;
                    yield p;
                }
                case 1 -> Arrays.copyOf(p, i);
                case 2 -> {
                    byte[] q = Arrays.copyOf(p, p.length + 1 + pos % 40);
                    Arrays.fill(q, p.length, q.length, b);
                    yield q;
                }
                default -> {
                    // A valid opcode with the rest of the packet chopped at a random place.
                    byte[] q = Arrays.copyOf(p, Math.min(p.length, 2 + pos % 8));
                    yield q;
                }
            };
        });
        return Arbitraries.oneOf(random, mutated);
    }

    @Property(tries = 300)
    void garbageNeverStopsTheServer(@ForAll("packets") byte[] garbage) throws IOException {
        try (TestClient stranger = new TestClient(address()); TestClient client = new TestClient(address())) {
            // Generous waits: the machine running the tests may be busy; nothing here measures time.
            stranger.socket.setSoTimeout(2000);
            client.socket.setSoTimeout(2000);
            stranger.sendTo(garbage, address());
            client.sendTo(TestClient.request(1, "f.bin", "octet", Map.of()), address());
            DatagramPacket first = client.receive();
            assertThat(first).isNotNull();
            assertThat(TestClient.opcode(first)).isEqualTo(3);
            InetSocketAddress tid = (InetSocketAddress) first.getSocketAddress();
            // The same garbage at the transfer's port, from a stranger: ERROR 5, transfer unharmed.
            stranger.sendTo(garbage, tid);
            DatagramPacket e;
            do {
                // Skip what the listener answered (an ERROR, or DATA if the garbage was a valid RRQ).
                e = stranger.receive();
                assertThat(e).as("an answer from the transfer's port").isNotNull();
            } while (!e.getSocketAddress().equals(tid));
            assertThat(TestClient.opcode(e)).isEqualTo(5);
            assertThat(TestClient.block(e)).isEqualTo(5);
            byte[] got = Arrays.copyOf(Arrays.copyOfRange(first.getData(), 4, first.getLength()), content.length);
            int at = first.getLength() - 4;
            int block = 1;
            while (true) {
                client.sendTo(TestClient.ack(block), tid);
                if (at == content.length && block > 1 && (at % 512) != 0) {
                    break;
                }
                DatagramPacket p = client.receive();
                assertThat(p).isNotNull();
                if (TestClient.opcode(p) != 3 || TestClient.block(p) != block + 1) {
                    continue;
                }
                int len = p.getLength() - 4;
                System.arraycopy(p.getData(), 4, got, at, len);
                at += len;
                block++;
                if (len < 512) {
                    client.sendTo(TestClient.ack(block), tid);
                    break;
                }
            }
            assertThat(got).isEqualTo(content);
        }
    }
}
