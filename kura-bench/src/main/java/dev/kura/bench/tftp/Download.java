package dev.kura.bench.tftp;

import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;

/**
 * One download of the load client: the client side of RFC 1350 with the options of RFC 2347, 2348
 * and 7440, on its own non-blocking {@link DatagramChannel} that a {@link LoadLoop} drives.
 *
 * <h2>What it does</h2>
 * It sends the RRQ to the server's port; the first answer names the transfer's TID (the server's
 * port for this transfer, RFC 1350 section 4) and the channel is connected to it, so the kernel
 * drops datagrams from any other address and the rest of the transfer is plain {@code read} /
 * {@code write} without addresses. An OACK (RFC 2347) sets blksize and windowsize and is answered
 * with ACK 0. DATA is acknowledged every {@code windowsize} blocks in order (RFC 7440 section 4);
 * on a gap or a repeat it ACKs the last block it has in order, once until progress resumes (the
 * receiver's rule in RFC 7440, which also keeps it out of the Sorcerer's Apprentice). A DATA shorter
 * than blksize ends the transfer after its ACK, and the bytes received must equal the file's size.
 *
 * <h2>Timeouts</h2>
 * A wait without any datagram counts a timeout: the RRQ (before the TID is known) or the last ACK
 * is sent again, and the next wait doubles, as {@link RetryPolicy} says (by default 1 s up to 8 s,
 * five retransmissions, as a PXE client backs off); any OACK or DATA starts the policy over. The
 * loop calls {@link #timer} every few tens of milliseconds, so a timeout fires up to that much
 * late. Each retransmission is counted ({@link #retransmits}), and so is the time from the RRQ to
 * the server's first answer ({@link #firstAnswerNanos}): a server slow to start transfers shows
 * there before it shows as failures.
 *
 * <h2>Why not a blocking socket per virtual thread</h2>
 * That was the first client: every datagram went through the virtual-thread poller and a carrier
 * wake-up, and the client spent more CPU per MiB than the servers it measured (36 ms/MiB against
 * kura's 22 at 10 lock-step transfers, 2026-12-01), so it was part of every round trip it timed.
 *
 * <p>Thread-safety: confined to its loop's thread.
 */
final class Download {

    /** The RRQ, what a correct transfer delivers and when to resend; shared by every download of a run. */
    record Spec(InetSocketAddress server, byte[] rrq, long expectedSize, RetryPolicy retry) {

        static Spec of(InetSocketAddress server, String file, long expectedSize, int blksize, int windowsize,
                       RetryPolicy retry) {
            StringBuilder sb = new StringBuilder();
            sb.append("\0\1").append(file).append('\0').append("octet").append('\0');
            sb.append("blksize").append('\0').append(blksize).append('\0');
            if (windowsize > 1) {
                sb.append("windowsize").append('\0').append(windowsize).append('\0');
            }
                return new Spec(server, sb.toString().getBytes(StandardCharsets.ISO_8859_1), expectedSize, retry);
        }
    }

    /** Where a download stands. */
    enum State { REQUESTED, TRANSFERRING, SUCCEEDED, FAILED }

    /** Why a download failed: the bench counts each kind apart, since they point at different culprits. */
    enum Failure {
        /** No answer at all to the RRQ and its retransmissions: the server never started the transfer. */
        NO_ANSWER,
        /** The transfer started, then the server went silent for the whole retry policy. */
        STALLED,
        /** The server sent an ERROR packet. */
        ERROR_PACKET,
        /** The last DATA arrived but the bytes received differ from the file's size. */
        WRONG_SIZE,
        /** The client's own socket failed (no port, a send error). */
        IO
    }

    private static final int OP_DATA = 3;
    private static final int OP_ACK = 4;
    private static final int OP_ERROR = 5;
    private static final int OP_OACK = 6;
    /** Datagrams read per readiness event at most, so one busy transfer cannot starve the others. */
    private static final int READS_PER_EVENT = 64;

    private final Spec spec;
    private final DatagramChannel channel;
    final int slot;
    final long startNanos;
    private State state = State.REQUESTED;
    private long timeoutAt;
    private int timeouts;
    private int blksize = 512;
    private int windowsize = 1;
    private int granted = -1;
    private int expected = 1;
    private int lastInOrder;
    private int inWindow;
    private boolean gapAcked;
    private long received;
    private @Nullable String error;
    private @Nullable Failure failure;
    private int retransmits;
    private int outOfOrder;
    private long firstAnswerNanos = -1;

    private Download(Spec spec, DatagramChannel channel, int slot, long startNanos) {
        this.spec = spec;
        this.channel = channel;
        this.slot = slot;
        this.startNanos = startNanos;
        this.timeoutAt = startNanos + spec.retry().wait(0);
    }

    /**
     * Opens a channel on an ephemeral port of the server's address, registers it for reading and
     * sends the RRQ.
     *
     * @throws IOException when the channel cannot be opened, bound or the RRQ not sent
     */
    static Download start(Spec spec, Selector selector, int slot, long now) throws IOException {
        InetSocketAddress server = spec.server();
        DatagramChannel ch = DatagramChannel.open(server.getAddress() instanceof java.net.Inet6Address
                ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        try {
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
            ch.bind(new InetSocketAddress(server.getAddress(), 0));
            Download d = new Download(spec, ch, slot, now);
            ch.register(selector, SelectionKey.OP_READ, d);
            ch.send(ByteBuffer.wrap(spec.rrq()), server);
            return d;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    State state() {
        return state;
    }

    boolean finished() {
        return state == State.SUCCEEDED || state == State.FAILED;
    }

    /** Why it failed; null unless {@link State#FAILED}. */
    @Nullable String error() {
        return error;
    }

    /** The kind of failure; null unless {@link State#FAILED}. */
    @Nullable Failure failure() {
        return failure;
    }

    /** RRQs and ACKs sent again after a timeout so far. */
    int retransmits() {
        return retransmits;
    }

    /**
     * DATA packets that were not the next block: in lock-step on loopback, the server's own
     * retransmissions after its timeout (a repeat), since nothing reorders or loses packets there.
     */
    int outOfOrder() {
        return outOfOrder;
    }

    /** Nanoseconds from the first RRQ to the server's first datagram; -1 while none has come. */
    long firstAnswerNanos() {
        return firstAnswerNanos;
    }

    /** File bytes received in order so far. */
    long received() {
        return received;
    }

    /** The windowsize the server granted (1 without an OACK for it); -1 before the first OACK or DATA. */
    int granted() {
        return granted;
    }

    /**
     * Reads what the channel holds and answers it.
     *
     * @param in  a receive buffer of at least 65,468 bytes (the largest DATA), the loop's
     * @param ack a 4-byte buffer for ACKs, the loop's
     */
    void readable(ByteBuffer in, ByteBuffer ack, long now) {
        try {
            for (int i = 0; i < READS_PER_EVENT && !finished(); i++) {
                in.clear();
                if (state == State.REQUESTED) {
                    SocketAddress from = channel.receive(in);
                    if (from == null) {
                        return;
                    }
                    // The transfer's TID: from now on only this address and port (RFC 1350 section 4).
                    channel.connect(from);
                    state = State.TRANSFERRING;
                    firstAnswerNanos = now - startNanos;
                } else if (channel.read(in) <= 0) {
                    return;
                }
                in.flip();
                packet(in, ack);
                timeoutAt = now + spec.retry().wait(timeouts);
            }
        } catch (IOException e) {
            fail(Failure.IO, e.toString());
        }
    }

    /** Counts a timeout when one is due: sends the RRQ or the last ACK again, or gives up. */
    void timer(ByteBuffer ack, long now) {
        if (finished() || now < timeoutAt) {
            return;
        }
        RetryPolicy retry = spec.retry();
        if (timeouts >= retry.retries()) {
            fail(state == State.REQUESTED ? Failure.NO_ANSWER : Failure.STALLED,
                    "timed out after " + received + " bytes"
                            + (state == State.REQUESTED ? " (no answer to the RRQ)" : ""));
            return;
        }
        timeouts++;
        retransmits++;
        timeoutAt = now + retry.wait(timeouts);
        inWindow = 0;
        try {
            if (state == State.REQUESTED) {
                channel.send(ByteBuffer.wrap(spec.rrq()), spec.server());
            } else {
                send(ack, lastInOrder);
            }
        } catch (IOException e) {
            fail(Failure.IO, e.toString());
        }
    }

    /**
     * Ends a download under way from the client's side: an ERROR packet (code 0, RFC 1350 section 7:
     * "any error ... terminates the transfer") to the server's TID when it has one, so the server
     * stops at once instead of retransmitting to a gone client, then {@link #close}.
     */
    void abort() {
        if (channel.isConnected()) {
            byte[] msg = "window ended".getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer e = ByteBuffer.allocate(5 + msg.length);
            e.putShort((short) OP_ERROR).putShort((short) 0).put(msg).put((byte) 0).flip();
            try {
                channel.write(e);
            } catch (IOException ignored) {
                // the server then times the transfer out by itself
            }
        }
        close();
    }

    /** Closes the channel (which also cancels its registration). */
    void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // a UDP channel has nothing to flush; closing cannot lose anything
        }
    }

    private void packet(ByteBuffer p, ByteBuffer ack) throws IOException {
        if (p.remaining() < 4) {
            return;
        }
        int op = p.getShort(0) & 0xFFFF;
        int n = p.getShort(2) & 0xFFFF;
        switch (op) {
            case OP_ERROR -> fail(Failure.ERROR_PACKET, "ERROR " + n + " " + text(p, 4, Math.max(0, p.remaining() - 5)));
            case OP_OACK -> {
                if (expected == 1) {
                    oack(text(p, 2, p.remaining() - 2));
                    timeouts = 0;
                    send(ack, 0);
                }
            }
            case OP_DATA -> data(p, n, ack);
            default -> {
                // not for a reading client: ignored
            }
        }
    }

    private void oack(String options) {
        String[] f = options.split("\0");
        for (int i = 0; i + 1 < f.length; i += 2) {
            if (f[i].equalsIgnoreCase("blksize")) {
                blksize = Integer.parseInt(f[i + 1]);
            } else if (f[i].equalsIgnoreCase("windowsize")) {
                windowsize = Integer.parseInt(f[i + 1]);
            }
        }
        granted = windowsize;
    }

    private void data(ByteBuffer p, int n, ByteBuffer ack) throws IOException {
        if (expected == 1 && granted < 0) {
            granted = 1;
        }
        timeouts = 0;
        if (n != (expected & 0xFFFF)) {
            // A gap or a repeat: ACK the last block in order, once until progress resumes.
            outOfOrder++;
            if (!gapAcked) {
                gapAcked = true;
                inWindow = 0;
                send(ack, lastInOrder);
            }
            return;
        }
        gapAcked = false;
        int len = p.remaining() - 4;
        received += len;
        lastInOrder = n;
        expected++;
        inWindow++;
        if (len < blksize) {
            send(ack, n);
            if (received == spec.expectedSize()) {
                state = State.SUCCEEDED;
            } else {
                fail(Failure.WRONG_SIZE, "got " + received + " bytes, expected " + spec.expectedSize());
            }
        } else if (inWindow >= windowsize) {
            inWindow = 0;
            send(ack, n);
        }
    }

    /** Sends ACK {@code block} to the TID; a full socket buffer loses it as the network would. */
    private void send(ByteBuffer ack, int block) throws IOException {
        ack.clear();
        ack.putShort((short) OP_ACK).putShort((short) block).flip();
        channel.write(ack);
    }

    private void fail(Failure kind, String why) {
        state = State.FAILED;
        failure = kind;
        error = why;
    }

    private static String text(ByteBuffer p, int from, int len) {
        byte[] b = new byte[Math.max(0, len)];
        p.get(from, b);
        return new String(b, StandardCharsets.ISO_8859_1);
    }
}
