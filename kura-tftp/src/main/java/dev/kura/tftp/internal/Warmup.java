package dev.kura.tftp.internal;

import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Exercises the request path once at start, over loopback, before the server reports itself up
 * ({@link dev.kura.tftp.TftpServer#warmUp()}; {@code kura tftp} calls it).
 *
 * <h2>Why</h2>
 * The first RRQ after a cold start used to wait 238-619 ms (issue 14): class loading, the first
 * socket bind of a transfer, the first file read, the interpreter. A PXE ROM or busybox
 * retransmits its RRQ after a second or less, so that first answer is what a client sees of a
 * restart. So the server asks itself, like a client would: an RRQ for a name that does not exist
 * (the refusal path), then the first block of the smallest file in the root's top directory (the
 * transfer path: jail, open, read-ahead, OACK, DATA), ended with ERROR 0 from the client side.
 * The two requests show in the metrics (one refused "not-found", one failed transfer) and in the
 * transfer log, with the reason "warm-up".
 *
 * <p>Bounded: at most about two seconds (each answer is awaited 500 ms); any failure is only
 * logged at debug level, since the server works without it.
 */
final class Warmup {

    static final String REASON = "warm-up";
    private static final int TIMEOUT_MS = 500;

    private Warmup() {
    }

    /**
     * @param root the served directory, or null when RRQs come from a source (only the refusal is probed)
     * @return true when both requests were answered (the refusal, and the first file's first packet if there is a file) */
    static boolean run(InetSocketAddress listener, @Nullable Path root) {
        InetAddress to = listener.getAddress().isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : listener.getAddress();
        InetSocketAddress server = new InetSocketAddress(to, listener.getPort());
        long t0 = System.nanoTime();
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(to, 0))) {
            s.setSoTimeout(TIMEOUT_MS);
            send(s, server, rrq("kura-warm-up-no-such-file", false));
            boolean answered = receive(s) != null;
            Optional<Path> file = root != null ? smallestFile(root) : Optional.empty();
            if (file.isPresent()) {
                send(s, server, rrq(Objects.requireNonNull(root, "a file, so a root").relativize(file.get()).toString(), true));
                DatagramPacket p = receive(s);
                if (p != null && opcode(p) == Packets.OACK) {
                    send(s, p.getSocketAddress(), new byte[]{0, (byte) Packets.ACK, 0, 0});
                    p = receive(s);
                }
                answered &= p != null;
                if (p != null) {
                    byte[] err = ("\0\5\0\0" + REASON + "\0").getBytes(StandardCharsets.US_ASCII);
                    send(s, p.getSocketAddress(), err);
                }
            }
            ServerContext.LOG.debug("warm-up took {} ms, answered: {}", (System.nanoTime() - t0) / 1_000_000, answered);
            return answered;
        } catch (IOException | RuntimeException e) {
            ServerContext.LOG.debug("warm-up skipped: {}", e.toString());
            return false;
        }
    }

    private static Optional<Path> smallestFile(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            return s.limit(200).filter(Files::isRegularFile).filter(Files::isReadable)
                    .min(Comparator.comparingLong(Warmup::size));
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }

    private static byte[] rrq(String name, boolean options) {
        String opts = options ? "blksize\0" + 1468 + "\0tsize\0" + 0 + "\0" : "";
        return ("\0\1" + name + "\0octet\0" + opts).getBytes(StandardCharsets.UTF_8);
    }

    private static void send(DatagramSocket s, java.net.SocketAddress to, byte[] b) throws IOException {
        s.send(new DatagramPacket(b, b.length, to));
    }

    private static @Nullable DatagramPacket receive(DatagramSocket s) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        try {
            s.receive(p);
            return p;
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    private static int opcode(DatagramPacket p) {
        return p.getLength() < 2 ? -1 : ByteBuffer.wrap(p.getData(), 0, 2).getShort() & 0xFFFF;
    }
}
