package dev.kura.tftp;

import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 1350 / 2347 / 2348 / 2349 / 7440 behaviour, seen by a test client that speaks raw packets. */
class ProtocolTest extends ServerFixture {

    @Test
    void octetDownloadWithoutOptionsHasNoOack() throws Exception {
        start(defaults());
        byte[] content = randomFile("a.bin", 5000, 1);
        try (TestClient c = new TestClient(address())) {
            TestClient.Result r = c.get("a.bin", "octet", Map.of());
            assertThat(r.ok()).as(r.errorMessage()).isTrue();
            assertThat(r.oack()).isEmpty();
            assertThat(r.data()).isEqualTo(content);
        }
    }

    @Test
    void dualStackListenerServesIpv4AndIpv6() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/proc/net/if_inet6")),
                "the kernel has IPv6 disabled: an IPv6 socket cannot be opened on this machine");
        io = dev.kura.io.FileIo.create();
        registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        server = TftpServer.start(defaults().withListen(java.util.List.of("[::]:0")), io, registry);
        byte[] content = randomFile("v.bin", 3000, 13);
        for (String host : new String[]{"127.0.0.1", "::1"}) {
            InetSocketAddress a = new InetSocketAddress(java.net.InetAddress.getByName(host), server.port());
            try (TestClient c = new TestClient(a)) {
                TestClient.Result r = c.get("v.bin", "octet", Map.of("blksize", "1000"));
                assertThat(r.ok()).as(host + ": " + r.errorMessage()).isTrue();
                assertThat(r.data()).isEqualTo(content);
            }
        }
    }

    @Test
    void aRepeatedRequestDoesNotStartASecondTransfer() throws Exception {
        start(defaults());
        randomFile("r.bin", 5000, 14);
        try (TestClient c = new TestClient(address())) {
            byte[] rrq = TestClient.request(1, "r.bin", "octet", Map.of());
            c.sendTo(rrq, address());
            c.sendTo(rrq, address());
            java.util.Set<java.net.SocketAddress> tids = new java.util.HashSet<>();
            DatagramPacket p;
            while ((p = c.receive()) != null) {
                tids.add(p.getSocketAddress());
            }
            assertThat(tids).as("DATA came from one transfer only").hasSize(1);
        }
        assertThat(registry.find("kura.tftp.requests.refused").tag("reason", "duplicate").counter().count()).isEqualTo(1);
    }

    @Test
    void modeNameIsCaseInsensitive() throws Exception {
        start(defaults());
        byte[] content = randomFile("a.bin", 700, 2);
        try (TestClient c = new TestClient(address())) {
            assertThat(c.get("a.bin", "OcTeT", Map.of()).data()).isEqualTo(content);
        }
    }

    @Test
    void optionsAreCappedAndAcknowledgedOnlyWhenAsked() throws Exception {
        start(defaults().withMaxima(1468, 16));
        byte[] content = randomFile("b.bin", 100_000, 3);
        try (TestClient c = new TestClient(address())) {
            Map<String, String> opts = new LinkedHashMap<>();
            opts.put("blksize", "65464");
            opts.put("tsize", "0");
            opts.put("windowsize", "200");
            opts.put("timeout", "3");
            opts.put("frobnicate", "1");
            TestClient.Result r = c.get("b.bin", "octet", opts);
            assertThat(r.ok()).as(r.errorMessage()).isTrue();
            assertThat(r.oack()).containsExactly(Map.entry("blksize", "1468"), Map.entry("tsize", "100000"),
                    Map.entry("windowsize", "16"), Map.entry("timeout", "3"));
            assertThat(r.data()).isEqualTo(content);
        }
        try (TestClient c = new TestClient(address())) {
            TestClient.Result r = c.get("b.bin", "octet", Map.of("blksize", "1024"));
            assertThat(r.oack()).containsExactly(Map.entry("blksize", "1024"));
            assertThat(r.data()).isEqualTo(content);
        }
    }

    @Test
    void netasciiIsConvertedOnTheWireAndTsizeIsNotOffered() throws Exception {
        start(defaults());
        Files.writeString(root.resolve("t.txt"), "one\ntwo\rthree\r\n");
        try (TestClient c = new TestClient(address())) {
            TestClient.Result r = c.get("t.txt", "netascii", Map.of("tsize", "0", "blksize", "8"));
            assertThat(r.ok()).isTrue();
            assertThat(r.oack()).containsExactly(Map.entry("blksize", "8"));
            assertThat(new String(r.data(), StandardCharsets.US_ASCII)).isEqualTo("one\r\ntwo\r\0three\r\0\r\n");
        }
    }

    @Test
    void blockNumbersRollOverPast65535Blocks() throws Exception {
        start(defaults());
        int size = 70_000 * 8 + 3;
        byte[] content = randomFile("big.bin", size, 4);
        try (TestClient c = new TestClient(address())) {
            TestClient.Result r = c.get("big.bin", "octet", Map.of("blksize", "8", "windowsize", "16"));
            assertThat(r.ok()).as(r.errorMessage()).isTrue();
            assertThat(sha256(r.data())).isEqualTo(sha256(content));
        }
    }

    @Test
    void fileOfExactlyWholeBlocksEndsWithAnEmptyBlock() throws Exception {
        start(defaults());
        byte[] content = randomFile("whole.bin", 1024, 5);
        try (TestClient c = new TestClient(address())) {
            TestClient.Result r = c.get("whole.bin", "octet", Map.of());
            assertThat(r.data()).isEqualTo(content);
            assertThat(c.dataPacketsReceived).isEqualTo(3);
        }
        Files.write(root.resolve("empty.bin"), new byte[0]);
        try (TestClient c = new TestClient(address())) {
            assertThat(c.get("empty.bin", "octet", Map.of()).data()).isEmpty();
        }
    }

    @Test
    void lossyAndDuplicatingClientStillGetsExactBytes() throws Exception {
        start(defaults().withTimeouts(Duration.ofMillis(60), Duration.ofMillis(240), 20));
        byte[] content = randomFile("lossy.bin", 300_000, 6);
        for (String w : new String[]{"1", "8"}) {
            try (TestClient c = new TestClient(address(), 0.10, 0.10, 42)) {
                TestClient.Result r = c.get("lossy.bin", "octet", Map.of("windowsize", w, "blksize", "1024"));
                assertThat(r.ok()).as(r.errorMessage()).isTrue();
                assertThat(sha256(r.data())).isEqualTo(sha256(content));
            }
        }
        assertThat(counter("kura.tftp.retransmissions")).isPositive();
    }

    @Test
    void duplicateAckNeverTriggersAResend() throws Exception {
        start(defaults().withTimeouts(Duration.ofSeconds(3), Duration.ofSeconds(3), 3));
        randomFile("d.bin", 4000, 7);
        try (TestClient c = new TestClient(address())) {
            c.sendTo(TestClient.request(1, "d.bin", "octet", Map.of()), address());
            DatagramPacket p1 = c.receive();
            assertThat(TestClient.block(p1)).isEqualTo(1);
            InetSocketAddress tid = (InetSocketAddress) p1.getSocketAddress();
            c.sendTo(TestClient.ack(1), tid);
            DatagramPacket p2 = c.receive();
            assertThat(TestClient.block(p2)).isEqualTo(2);
            // The Sorcerer's Apprentice: a delayed duplicate of ACK 1 must not bring DATA 2 again.
            c.sendTo(TestClient.ack(1), tid);
            c.sendTo(TestClient.ack(1), tid);
            assertThat(c.receive()).as("no DATA after a duplicate ACK (socket timeout 1 s, server timeout 3 s)").isNull();
            c.sendTo(TestClient.ack(2), tid);
            DatagramPacket p3 = c.receive();
            assertThat(TestClient.opcode(p3)).isEqualTo(3);
            assertThat(TestClient.block(p3)).isEqualTo(3);
        }
    }

    @Test
    void unknownTidGetsError5AndTheTransferGoesOn() throws Exception {
        start(defaults());
        byte[] content = randomFile("u.bin", 2000, 8);
        try (TestClient c = new TestClient(address()); TestClient intruder = new TestClient(address())) {
            c.sendTo(TestClient.request(1, "u.bin", "octet", Map.of()), address());
            DatagramPacket p1 = c.receive();
            InetSocketAddress tid = (InetSocketAddress) p1.getSocketAddress();
            intruder.sendTo(TestClient.ack(1), tid);
            DatagramPacket e = intruder.receive();
            assertThat(TestClient.opcode(e)).isEqualTo(5);
            assertThat(TestClient.block(e)).isEqualTo(5);
            byte[] got = new byte[2000];
            System.arraycopy(p1.getData(), 4, got, 0, 512);
            int at = 512;
            for (int b = 1; at < 2000 || b == 1; b++) {
                c.sendTo(TestClient.ack(b), tid);
                DatagramPacket p = c.receive();
                assertThat(TestClient.opcode(p)).isEqualTo(3);
                assertThat(TestClient.block(p)).isEqualTo(b + 1);
                System.arraycopy(p.getData(), 4, got, at, p.getLength() - 4);
                at += p.getLength() - 4;
                if (p.getLength() - 4 < 512) {
                    c.sendTo(TestClient.ack(b + 1), tid);
                    break;
                }
            }
            assertThat(got).isEqualTo(content);
        }
    }

    @Test
    void silentClientIsAbandonedAfterRetries() throws Exception {
        start(defaults().withTimeouts(Duration.ofMillis(20), Duration.ofMillis(40), 3));
        randomFile("s.bin", 4000, 9);
        try (TestClient c = new TestClient(address())) {
            c.sendTo(TestClient.request(1, "s.bin", "octet", Map.of()), address());
            int data = 0;
            DatagramPacket p;
            while ((p = c.receive()) != null) {
                if (TestClient.opcode(p) == 3) {
                    data++;
                }
            }
            // The first DATA 1 and three retransmissions, then (optionally) an ERROR.
            assertThat(data).isEqualTo(4);
        }
        assertThat(server.activeTransfers()).isZero();
        assertThat(counter("kura.tftp.transfers.failed")).isEqualTo(1);
        assertThat(server.bufferBytes()).isZero();
    }

    @Test
    void perClientLimitAnswersErrorZeroAndKeepsServing() throws Exception {
        start(defaults().withLimits(100, 2));
        byte[] content = randomFile("l.bin", 600, 10);
        try (TestClient a = new TestClient(address()); TestClient b = new TestClient(address());
             TestClient third = new TestClient(address())) {
            a.sendTo(TestClient.request(1, "l.bin", "octet", Map.of()), address());
            b.sendTo(TestClient.request(1, "l.bin", "octet", Map.of()), address());
            DatagramPacket pa = a.receive();
            DatagramPacket pb = b.receive();
            assertThat(TestClient.opcode(pa)).isEqualTo(3);
            assertThat(TestClient.opcode(pb)).isEqualTo(3);
            TestClient.Result r = third.get("l.bin", "octet", Map.of());
            assertThat(r.errorCode()).isEqualTo(0);
            assertThat(r.errorMessage()).contains("too many transfers");
            a.sendTo(TestClient.ack(1), (InetSocketAddress) pa.getSocketAddress());
            a.receive();
            a.sendTo(TestClient.ack(2), (InetSocketAddress) pa.getSocketAddress());
        }
        while (server.activeTransfers() > 1) {
            Thread.sleep(10);
        }
        try (TestClient c = new TestClient(address())) {
            assertThat(c.get("l.bin", "octet", Map.of()).data()).isEqualTo(content);
        }
    }

    @Test
    void badRequestsGetTheRightError() throws Exception {
        start(defaults());
        randomFile("x.bin", 10, 11);
        try (TestClient c = new TestClient(address())) {
            assertError(c, new byte[]{0, 9, 1, 2}, 4);
            assertError(c, TestClient.ack(1), 5);
            assertError(c, new byte[]{0, 3, 0, 1, 42}, 5);
            assertError(c, new byte[]{0, 6, 'a', 0, 'b', 0}, 4);
            assertError(c, TestClient.request(1, "x.bin", "mail", Map.of()), 4);
            assertError(c, TestClient.request(1, "x.bin", "binary", Map.of()), 4);
            assertError(c, new byte[]{0, 1, 'x', '.', 'b', 'i', 'n', 0, 'o', 'c', 't', 'e', 't'}, 4);
            assertError(c, new byte[]{0, 1, 0, 'o', 'c', 't', 'e', 't', 0}, 4);
            assertError(c, TestClient.request(1, "x.bin", "octet", Map.of("blksize", "abc")), 8);
            assertError(c, TestClient.request(1, "x.bin", "octet", Map.of("blksize", "4")), 8);
            assertError(c, TestClient.request(1, "x.bin", "octet", Map.of("timeout", "0")), 8);
            assertError(c, TestClient.request(1, "x.bin", "octet", Map.of("windowsize", "99999999999999")), 8);
            assertError(c, TestClient.request(1, "a".repeat(600), "octet", Map.of()), 4);
            assertError(c, TestClient.request(2, "x.bin", "octet", Map.of()), 2);
            c.sendTo(new byte[]{0}, address());
            c.sendTo(new byte[]{0, 5, 0, 0, 0}, address());
            assertThat(c.receive()).as("runts and ERRORs get no answer").isNull();
            assertThat(c.get("x.bin", "octet", Map.of()).ok()).isTrue();
        }
    }

    private void assertError(TestClient c, byte[] packet, int code) throws Exception {
        c.sendTo(packet, address());
        DatagramPacket p = c.receive();
        assertThat(p).as("reply to " + new String(packet, StandardCharsets.ISO_8859_1)).isNotNull();
        assertThat(TestClient.opcode(p)).isEqualTo(5);
        assertThat(TestClient.block(p)).as(TestClient.errorText(p)).isEqualTo(code);
    }

    @Test
    void traversalAndEscapingSymlinksAreRefusedWithError2() throws Exception {
        Path outside = Files.createTempFile("kura-tftp-secret", ".txt");
        try {
            Files.writeString(outside, "secret");
            Files.createDirectories(root.resolve("sub"));
            Files.writeString(root.resolve("sub/in.txt"), "inside");
            Files.createSymbolicLink(root.resolve("escape"), outside);
            Files.createSymbolicLink(root.resolve("sub/escape-dir"), outside.getParent());
            Files.createSymbolicLink(root.resolve("ok-link"), root.resolve("sub/in.txt"));
            start(defaults());
            try (TestClient c = new TestClient(address())) {
                for (String name : new String[]{"../" + outside.getFileName(), "sub/../../etc/passwd", "/etc/passwd",
                        "escape", "sub/escape-dir/" + outside.getFileName(), "..", "sub", "/"}) {
                    TestClient.Result r = c.get(name, "octet", Map.of());
                    assertThat(r.errorCode()).as(name + ": " + r.errorMessage()).isEqualTo(2);
                }
                assertThat(c.get("nothing-here", "octet", Map.of()).errorCode()).isEqualTo(1);
                assertThat(new String(c.get("ok-link", "octet", Map.of()).data())).isEqualTo("inside");
                assertThat(new String(c.get(root + "/sub/in.txt", "octet", Map.of()).data())).isEqualTo("inside");
                assertThat(new String(c.get("./sub//in.txt", "octet", Map.of()).data())).isEqualTo("inside");
            }
        } finally {
            Files.deleteIfExists(outside);
        }
    }
}
