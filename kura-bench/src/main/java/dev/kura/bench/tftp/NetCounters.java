package dev.kura.bench.tftp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The kernel's machine-wide counters of datagrams lost or refused, read before and after a cell so
 * that a failed transfer can be told apart from a dropped packet (issue 14).
 *
 * <ul>
 *   <li>{@code rcvbufErrors}: {@code /proc/net/snmp} {@code Udp: RcvbufErrors}, datagrams dropped
 *       because a socket's receive buffer was full (a listener or a client that does not read fast
 *       enough);</li>
 *   <li>{@code sndbufErrors}: {@code Udp: SndbufErrors}, sends refused for a full send buffer;</li>
 *   <li>{@code noPorts}: {@code Udp: NoPorts}, datagrams for a port nobody has open, or from a
 *       source a connected socket does not accept: a server answering an RRQ the client has already
 *       had answered (tftpd-hpa forks a child for every copy), or retransmitting to a client that has
 *       finished;</li>
 *   <li>{@code backlogDrops}: the second column of {@code /proc/net/softnet_stat} summed over CPUs,
 *       packets dropped because a CPU's input backlog ({@code net.core.netdev_max_backlog}) was full;
 *       on loopback every datagram passes through it.</li>
 * </ul>
 * The counters are the whole machine's; on a shared machine other traffic can add to them.
 * Where {@code /proc} cannot be read they are all 0.
 *
 * <p>Thread-safety: immutable.
 */
record NetCounters(long rcvbufErrors, long sndbufErrors, long noPorts, long backlogDrops) {

    /** The counters now. */
    static NetCounters read() {
        long rcvbuf = 0;
        long sndbuf = 0;
        long noPorts = 0;
        try {
            List<String> udp = Files.readAllLines(Path.of("/proc/net/snmp")).stream()
                    .filter(l -> l.startsWith("Udp: ")).toList();
            if (udp.size() == 2) {
                List<String> names = List.of(udp.get(0).substring(5).trim().split("\\s+"));
                String[] values = udp.get(1).substring(5).trim().split("\\s+");
                rcvbuf = value(names, values, "RcvbufErrors");
                sndbuf = value(names, values, "SndbufErrors");
                noPorts = value(names, values, "NoPorts");
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc hidden: the counters stay 0
        }
        long backlog = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/net/softnet_stat"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 1) {
                    backlog += Long.parseLong(f[1], 16);
                }
            }
        } catch (IOException | RuntimeException e) {
            // as above
        }
        return new NetCounters(rcvbuf, sndbuf, noPorts, backlog);
    }

    /** What happened between {@code before} and this reading. */
    NetCounters minus(NetCounters before) {
        return new NetCounters(rcvbufErrors - before.rcvbufErrors, sndbufErrors - before.sndbufErrors,
                noPorts - before.noPorts, backlogDrops - before.backlogDrops);
    }

    private static long value(List<String> names, String[] values, String name) {
        int i = names.indexOf(name);
        return i >= 0 && i < values.length ? Long.parseLong(values[i]) : 0;
    }
}
