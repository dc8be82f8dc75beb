package dev.kura.tftp.internal;

import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * An RRQ: the server sends DATA, the client acknowledges.
 *
 * <h2>Design</h2>
 * The transfer keeps the blocks of the current window (at most {@code windowsize} DATA packets,
 * each {@code 4 + blksize} bytes) and cuts new blocks from its {@link BlockSource}, which reads the
 * file ahead through kura-io. So the memory of a transfer is bounded by
 * {@code windowsize * (blksize + 4)} plus the source's two read-ahead chunks (2 x 16 KiB by
 * default), whatever the file size, and the window after the current one is (normally) in memory
 * before the current one is acknowledged.
 *
 * <h2>Block numbers</h2>
 * Internally blocks carry a {@code long} index from 1; on the wire the index modulo 2^16, so a
 * file of more than 65535 blocks rolls over to block 0 and goes on (what tftp-hpa, atftp and curl
 * expect). An ACK's 16-bit number is mapped back by its distance, modulo 2^16, from the last
 * acknowledged block: never compared with {@code <}.
 *
 * <h2>ACK rules (RFC 1350, RFC 7440 sec. 4)</h2>
 * <ul>
 *   <li>ACK n for a block sent and not yet acknowledged: the blocks up to n are released and a new
 *       window starts at n+1 (after a partial ACK, RFC 7440 asks the sender to restart from there);</li>
 *   <li>a duplicate ACK (the block already acknowledged) is ignored: it never triggers a resend,
 *       which is what keeps the Sorcerer's Apprentice syndrome (RFC 1123 sec. 4.2.3.1) away;</li>
 *   <li>only a timeout re-sends, with back-off (see {@link Transfer}).</li>
 * </ul>
 */
final class ReadTransfer extends Transfer {

    private final BlockSource source;
    private final boolean sendOack;
    private final ByteBuf[] ring;
    private final int w;
    private final int blksize;
    private boolean awaitingOackAck;
    /** Lowest block not yet acknowledged. */
    private long base = 1;
    /** Blocks produced: base .. produced-1 are in {@link #ring}. */
    private long produced = 1;
    /** Next block to send: base .. nextToSend-1 have been sent in this window. */
    private long nextToSend = 1;
    /**
     * One past the highest block ever sent. After a partial ACK {@link #nextToSend} goes back to
     * the new base, but the client may still acknowledge blocks of the earlier send: those ACKs
     * are valid up to here.
     */
    private long sentEnd = 1;
    /** The last block of the file once it has been cut (shorter than blksize), else -1. */
    private long lastBlock = -1;
    private @Nullable ByteBuf filling;
    private boolean waitingForDisk;

    ReadTransfer(ServerContext ctx, InetSocketAddress client, String filename, Negotiation opts, BlockSource source,
                 io.netty.channel.EventLoop loop) {
        super(ctx, client, filename, opts, Kind.RRQ, loop);
        this.source = source;
        this.sendOack = !opts.oack().isEmpty();
        this.w = opts.windowsize();
        this.blksize = opts.blksize();
        this.ring = new ByteBuf[w];
    }

    @Override
    int receiveBufferSize() {
        // ACK and ERROR packets only; a longer datagram is cut, which is harmless for them.
        return 1024;
    }

    @Override
    void begin() {
        if (sendOack) {
            awaitingOackAck = true;
            send(Packets.oack(ctx.alloc, opts.oack()));
            // Read the first window while the OACK travels.
            produce();
        } else {
            pump();
        }
        armTimer();
    }

    /** Cuts blocks until the window is full, the file ends, or a read is awaited. */
    private void produce() {
        while (produced < base + w && lastBlock < 0) {
            if (filling == null) {
                filling = ctx.alloc.directBuffer(4 + blksize, 4 + blksize);
                filling.writeShort(Packets.DATA).writeShort((int) (produced & 0xFFFF));
            }
            boolean done;
            try {
                done = source.fill(filling, 4 + blksize);
            } catch (IOException e) {
                ServerContext.LOG.warn("RRQ {} {}: read failed: {}", client, filename, e.getMessage());
                fail("read error: " + e.getMessage(), true);
                return;
            }
            if (!done) {
                if (!waitingForDisk) {
                    waitingForDisk = true;
                    source.onReady(this::diskReady);
                }
                break;
            }
            if (filling.readableBytes() - 4 < blksize) {
                lastBlock = produced;
            }
            ring[(int) (produced % w)] = filling;
            filling = null;
            produced++;
        }
        held((produced - base) * (4 + blksize) + (filling == null ? 0 : 4 + blksize) + source.heldBytes());
    }

    private void diskReady() {
        waitingForDisk = false;
        if (finished()) {
            return;
        }
        if (awaitingOackAck) {
            produce();
        } else {
            pump();
        }
    }

    /** Produces and sends what the window allows. */
    private void pump() {
        produce();
        if (finished()) {
            return;
        }
        long first = nextToSend;
        while (nextToSend < produced && nextToSend < base + w) {
            queue(ring[(int) (nextToSend % w)].retainedDuplicate());
            nextToSend++;
        }
        if (nextToSend > first) {
            flush();
        }
        sentEnd = Math.max(sentEnd, nextToSend);
    }

    @Override
    void handle(int opcode, ByteBuf p) {
        if (opcode != Packets.ACK || p.readableBytes() < 4) {
            // RFC 1350: only ACK (or ERROR, handled before) is expected from a reader.
            fail(Packets.ERR_ILLEGAL_OPERATION, "expected ACK, got opcode " + opcode);
            return;
        }
        int n = p.getUnsignedShort(p.readerIndex() + 2);
        if (awaitingOackAck) {
            if (n == 0) {
                awaitingOackAck = false;
                pump();
                progress();
            }
            return;
        }
        long prev = base - 1;
        int delta = (n - (int) (prev & 0xFFFF)) & 0xFFFF;
        long outstanding = sentEnd - base;
        if (delta == 0 || delta > outstanding) {
            // Duplicate or stale ACK: never a resend (Sorcerer's Apprentice), only the timer re-sends.
            return;
        }
        long acked = prev + delta;
        for (long b = base; b <= acked; b++) {
            int i = (int) (b % w);
            bytes += ring[i].readableBytes() - 4;
            ring[i].release();
            ring[i] = null;
        }
        base = acked + 1;
        if (acked == lastBlock) {
            succeed();
            return;
        }
        nextToSend = base;
        pump();
        progress();
    }

    @Override
    void retransmit() {
        if (awaitingOackAck) {
            send(Packets.oack(ctx.alloc, opts.oack()));
            return;
        }
        for (long b = base; b < nextToSend; b++) {
            queue(ring[(int) (b % w)].retainedDuplicate());
        }
        flush();
    }

    @Override
    void releaseResources() {
        for (int i = 0; i < ring.length; i++) {
            if (ring[i] != null) {
                ring[i].release();
                ring[i] = null;
            }
        }
        if (filling != null) {
            filling.release();
            filling = null;
        }
        source.close();
    }
}
