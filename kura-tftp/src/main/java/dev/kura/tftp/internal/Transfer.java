package dev.kura.tftp.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import org.jspecify.annotations.Nullable;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * One transfer on its own UDP socket: what RRQ and WRQ share.
 *
 * <p>Each transfer binds its own socket on an ephemeral port, its TID (RFC 1350 sec. 4). A packet
 * from any other address or port is answered with ERROR 5 and otherwise ignored: it neither ends
 * nor disturbs the transfer. The socket is not {@code connect}ed for the same reason: the kernel
 * would drop such packets silently.
 *
 * <p>Retransmission happens only on timeout, with exponential back-off: the n-th retry waits
 * {@code timeout * 2^n}, capped at {@code tftp.max-timeout}; after {@code tftp.retries} retries
 * the transfer is abandoned. Progress resets the count.
 *
 * <p>Thread-safety: every method runs on the channel's event loop, except {@link #setupFailed}.
 */
abstract class Transfer extends ChannelInboundHandlerAdapter {

    final ServerContext ctx;
    final InetSocketAddress client;
    final String filename;
    final Negotiation opts;
    final String kind;
    /** The event loop this transfer's socket, timers and file reads run on. */
    final io.netty.channel.EventLoop loop;
    final long startNanos = System.nanoTime();
    Channel ch;
    long bytes;
    private int tries;
    private @Nullable ScheduledFuture<?> timer;
    private long deadline = Long.MAX_VALUE;
    private boolean finished;
    private boolean released;
    private long held;
    /** Hash of the request that started this transfer (see {@link ServerContext#requests}). */
    int requestHash;

    @SuppressWarnings("NullAway.Init") // ch is set by start(), before any packet is sent or received
    Transfer(ServerContext ctx, InetSocketAddress client, String filename, Negotiation opts, String kind,
             io.netty.channel.EventLoop loop) {
        this.ctx = ctx;
        this.loop = loop;
        this.client = client;
        this.filename = filename;
        this.opts = opts;
        this.kind = kind;
    }

    /** Size of the datagram receive buffer this transfer needs. */
    abstract int receiveBufferSize();

    /** Called once on the event loop when the socket is bound: send the first packet. */
    final void start(Channel channel) {
        this.ch = channel;
        ctx.metrics.active.incrementAndGet();
        channel.closeFuture().addListener(f -> channel.eventLoop().execute(this::channelGone));
        begin();
    }

    abstract void begin();

    /** The socket could not be bound: nothing started, nothing to clean but the slot and the file. */
    void setupFailed(String why) {
        ServerContext.LOG.warn("{} {} {}: {}", kind, client, filename, why);
        releaseResources();
        releaseSlot();
    }

    @Override
    public final void channelRead(ChannelHandlerContext c, Object msg) {
        DatagramPacket p = (DatagramPacket) msg;
        try {
            if (!p.sender().equals(client)) {
                // RFC 1350 sec. 4: a packet from a wrong TID gets ERROR 5; the transfer goes on.
                c.writeAndFlush(new DatagramPacket(Packets.error(ctx.alloc, Packets.ERR_UNKNOWN_TID, "unknown transfer ID"), p.sender()));
                return;
            }
            if (finished && !dallying()) {
                return;
            }
            ByteBuf content = p.content();
            int op = Packets.opcode(content);
            if (op == Packets.ERROR) {
                fail("client sent ERROR " + Packets.errorMessage(content), false);
                return;
            }
            handle(op, content);
        } catch (RuntimeException e) {
            ServerContext.LOG.error("{} {} {}: internal error", kind, client, filename, e);
            fail("internal error: " + e, true);
        } finally {
            p.release();
        }
    }

    /**
     * A failed send or receive on this socket (e.g. an ICMP error reported by the kernel): logged;
     * the timer decides whether the transfer goes on.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
        ServerContext.LOG.debug("{} {} {}: socket error: {}", kind, client, filename, cause.toString());
    }

    /** A packet from the client (not ERROR); malformed ones may be dropped or answered. */
    abstract void handle(int opcode, ByteBuf packet);

    /** Re-sends what the client has not acknowledged. */
    abstract void retransmit();

    /** Releases file and buffers; called once. */
    abstract void releaseResources();

    /** True while the transfer has finished but keeps its socket to answer a repeated final packet. */
    boolean dallying() {
        return false;
    }

    final void send(ByteBuf packet) {
        ch.writeAndFlush(new DatagramPacket(packet, client), ch.voidPromise());
    }

    /**
     * Queues a packet without flushing: a window's DATA packets are queued, then {@link #flush()}
     * hands them to the kernel together (epoll: one {@code sendmmsg}; io_uring: one submission
     * batch) instead of one system call per packet.
     */
    final void queue(ByteBuf packet) {
        ch.write(new DatagramPacket(packet, client), ch.voidPromise());
    }

    final void flush() {
        ch.flush();
    }

    /** Progress: reset the retry count and restart the timer. */
    final void progress() {
        tries = 0;
        armTimer();
    }

    /**
     * (Re)starts the retransmission timer. An ACK restarts it on every window, so instead of
     * cancelling and scheduling a task each time, only the deadline moves; the one scheduled task,
     * when it runs early, schedules itself again for the rest.
     */
    final void armTimer() {
        long t = Math.min(opts.timeoutNanos() << Math.min(tries, 20),
                Math.max(opts.timeoutNanos(), ctx.config.maxTimeout().toNanos()));
        deadline = System.nanoTime() + t;
        if (timer == null) {
            timer = ch.eventLoop().schedule(this::tick, t, TimeUnit.NANOSECONDS);
        }
    }

    final void cancelTimer() {
        deadline = Long.MAX_VALUE;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void tick() {
        timer = null;
        if (deadline == Long.MAX_VALUE) {
            return;
        }
        long left = deadline - System.nanoTime();
        if (left > 0) {
            timer = ch.eventLoop().schedule(this::tick, left, TimeUnit.NANOSECONDS);
            return;
        }
        timeoutFired();
    }

    private void timeoutFired() {
        deadline = Long.MAX_VALUE;
        if (dallying()) {
            dallyEnded();
            return;
        }
        if (finished) {
            return;
        }
        if (++tries > ctx.config.retries()) {
            fail("timed out after " + ctx.config.retries() + " retries", true);
            return;
        }
        ctx.metrics.retransmissions.increment();
        retransmit();
        armTimer();
    }

    /** The dally period ended: close the socket. */
    void dallyEnded() {
        ch.close();
    }

    /** Reports the buffer bytes this transfer holds now, for the memory gauge and the peak. */
    final void held(long bytesHeld) {
        if (bytesHeld == held) {
            // The steady state of a lock-step transfer: skip the shared atomics (contended across loops).
            return;
        }
        ctx.metrics.bufferBytes.addAndGet(bytesHeld - held);
        held = bytesHeld;
        ctx.metrics.peak(bytesHeld);
    }

    final boolean finished() {
        return finished;
    }

    /** Ends the transfer in success: one log line, meters, slot back. The socket is closed unless dallying. */
    final void succeed() {
        end("ok", true);
        if (!dallying()) {
            ch.close();
        }
    }

    /** Ends the transfer in failure, sending ERROR 0 with the reason when {@code tellClient}. */
    final void fail(String why, boolean tellClient) {
        if (finished) {
            return;
        }
        if (tellClient && ch != null) {
            send(Packets.error(ctx.alloc, Packets.ERR_NOT_DEFINED, why));
        }
        end("failed: " + why, false);
        if (ch != null) {
            ch.close();
        }
    }

    /** Ends the transfer in failure with a given error code for the client. */
    final void fail(int code, String why) {
        if (finished) {
            return;
        }
        send(Packets.error(ctx.alloc, code, why));
        end("failed: " + why, false);
        ch.close();
    }

    private void end(String result, boolean ok) {
        finished = true;
        cancelTimer();
        releaseResources();
        held(0);
        (ok ? ctx.metrics.completed : ctx.metrics.failed).increment();
        (kind.equals("RRQ") ? ctx.metrics.bytesRead : ctx.metrics.bytesWritten).increment(bytes);
        ctx.metrics.active.decrementAndGet();
        releaseSlot();
        long ms = (System.nanoTime() - startNanos) / 1_000_000;
        ServerContext.TRANSFER_LOG.info("{} client={} file=\"{}\" bytes={} duration={}ms blksize={} windowsize={} result={}",
                kind, client.getAddress().getHostAddress() + ":" + client.getPort(), filename, bytes, ms,
                opts.blksize(), opts.windowsize(), result);
    }

    private void releaseSlot() {
        if (!released) {
            released = true;
            ctx.limits.release(client.getAddress());
            ctx.requests.remove(client, requestHash);
        }
    }

    private void channelGone() {
        if (!finished) {
            fail("socket closed", false);
        }
        cancelTimer();
    }
}
