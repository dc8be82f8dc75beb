package dev.kura.s3.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * On a listening channel: when accept(2) fails (EMFILE / ENFILE when descriptors run out, ENOBUFS,
 * ...), stop accepting for a while instead of retrying at once. Retrying at once is a busy loop
 * that also logs every failure (the issue measured 83-113% of a core and 28.6 MiB/s of WARN lines
 * on io_uring). The pause starts at 10 ms and doubles up to 1 s while failures go on; a successful
 * accept resets it. Failures are logged at most once per 10 s with the count of the others.
 *
 * <p>Thread-safety: confined to the listener's event loop.
 */
final class AcceptBackoff extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(AcceptBackoff.class);
    private static final long MIN_PAUSE_MS = 10;
    private static final long MAX_PAUSE_MS = 1000;

    private final RateLimitedLog failures = new RateLimitedLog(log, 10, TimeUnit.SECONDS);
    private long pauseMs = MIN_PAUSE_MS;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        pauseMs = MIN_PAUSE_MS;
        ctx.fireChannelRead(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failures.warn("accept on {} failed, pausing accepts for {} ms: {}", ctx.channel().localAddress(), pauseMs,
                cause.toString());
        var config = ctx.channel().config();
        if (config.isAutoRead()) {
            config.setAutoRead(false);
            ctx.executor().schedule(() -> {
                if (ctx.channel().isOpen()) {
                    config.setAutoRead(true);
                }
            }, pauseMs, TimeUnit.MILLISECONDS);
            pauseMs = Math.min(MAX_PAUSE_MS, pauseMs * 2);
        }
    }
}
