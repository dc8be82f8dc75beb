package dev.kura.s3.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import org.jspecify.annotations.Nullable;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Closes a connection whose request header block is not complete within
 * {@code serve.limits.request-header-timeout} of its first byte: the defence against slowloris
 * clients, which keep a connection by sending one header byte every few seconds (an idle timeout
 * never fires for them). Two pipeline handlers share the state: {@link #front()} sits before the
 * HTTP codec and sees raw bytes (arms the timer on the first byte of a request), {@link #back()}
 * sits after it and sees the decoded head (disarms) and the end of the request (the next byte
 * starts a new request).
 *
 * <p>Thread-safety: confined to the channel's event loop.
 */
final class RequestHeadTimeout {
    private final long timeoutNanos;
    private final Runnable onTimeout;
    private final BooleanSupplier serverIdle;
    private boolean awaitingHead = true;
    private @Nullable ScheduledFuture<?> timer;

    /**
     * @param serverIdle true when kura has no request of this connection in progress or waiting:
     *     while it has, kura may have stopped reading (pipelining bound, a client not reading its
     *     answers), so a head left half-read in the buffer is kura's doing, not the client's, and
     *     the timer waits another period instead of closing
     */
    RequestHeadTimeout(long timeoutNanos, Runnable onTimeout, BooleanSupplier serverIdle) {
        this.timeoutNanos = timeoutNanos;
        this.onTimeout = onTimeout;
        this.serverIdle = serverIdle;
    }

    ChannelHandler front() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (awaitingHead && timer == null && msg instanceof ByteBuf b && b.isReadable()) {
                    arm(ctx);
                }
                ctx.fireChannelRead(msg);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                cancel();
                ctx.fireChannelInactive();
            }
        };
    }

    ChannelHandler back() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpRequest) {
                    awaitingHead = false;
                    cancel();
                }
                if (msg instanceof LastHttpContent) {
                    awaitingHead = true;
                }
                ctx.fireChannelRead(msg);
            }
        };
    }

    private void arm(ChannelHandlerContext ctx) {
        timer = ctx.executor().schedule(() -> {
            timer = null;
            if (!awaitingHead || !ctx.channel().isActive()) {
                return;
            }
            if (!serverIdle.getAsBoolean()) {
                arm(ctx);
                return;
            }
            onTimeout.run();
            ctx.close();
        }, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
