package dev.kura.bench.tftp;

import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link NetCounters} reads the kernel's real counters: a datagram to a closed port is a NoPorts. */
class NetCountersTest {

    @Test
    void aDatagramToAClosedPortCountsAsNoPorts() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/net/snmp")), "requires Linux's /proc/net/snmp");
        int closed;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        NetCounters before = NetCounters.read();
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            byte[] b = {0, 1, 'x', 0};
            for (int i = 0; i < 3; i++) {
                s.send(new DatagramPacket(b, b.length, InetAddress.getLoopbackAddress(), closed));
            }
        }
        NetCounters delta = NetCounters.read().minus(before);
        // Machine-wide counters: other traffic can only add to them.
        assertThat(delta.noPorts()).isGreaterThanOrEqualTo(3);
        assertThat(delta.rcvbufErrors()).isNotNegative();
        assertThat(delta.backlogDrops()).isNotNegative();
    }
}
