package dev.kura.s3.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;

/**
 * Sends a client bytes {@code first..last} of an object from a thread that may block (a virtual
 * thread reading the origin or the cache), with back-pressure: when the channel is not writable,
 * the sender waits for the write to drain, at most {@link #STALL_MILLIS}.
 *
 * <p>Used by one thread at a time.
 */
final class ClientSink {
    /** How long a client may stall (not read) before its response is cut. */
    static final long STALL_MILLIS = 60_000;
    private final Exchange ex;
    private final long first;
    private final long last;

    /** @param first first object byte the client wants; @param last its last (inclusive) */
    ClientSink(Exchange ex, long first, long last) {
        this.ex = ex;
        this.first = first;
        this.last = last;
    }

    long last() {
        return last;
    }

    /**
     * Offers bytes {@code b[0..n)} that hold object bytes from {@code pos} on; sends the part the
     * client wants. False when the client is gone (the exchange is then finished).
     */
    boolean offer(byte[] b, int n, long pos) {
        long s = Math.max(pos, first);
        long e = Math.min(pos + n - 1, last);
        if (s > e) {
            return active();
        }
        int len = (int) (e - s + 1);
        ByteBuf out = ex.ch.alloc().directBuffer(len);
        out.writeBytes(b, (int) (s - pos), len);
        return send(out);
    }

    /** Sends {@code buf} (taking ownership); false when the client is gone. */
    boolean send(ByteBuf buf) {
        if (!active()) {
            buf.release();
            return false;
        }
        ChannelFuture f = ex.chunk(buf);
        if (!ex.ch.isWritable()) {
            if (!f.awaitUninterruptibly(STALL_MILLIS) || !f.isSuccess()) {
                ex.abort();
                return false;
            }
        }
        return true;
    }

    private boolean active() {
        if (!ex.ch.isActive()) {
            ex.abort(); // ends the exchange (metrics, access log, in-flight count)
            return false;
        }
        return true;
    }

    /** True once every byte up to {@code last} is before {@code pos}. */
    boolean complete(long pos) {
        return pos > last;
    }
}
