package dev.kura.s3.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One client connection: turns decoded requests into {@link Exchange}s, one at a time (HTTP/1.1
 * pipelined requests wait in order, RFC 9112 section 9.3.2), and maps decoder failures to 4xx.
 *
 * <p>Bounds. At most {@code maxPipelined} requests wait behind the one being answered; at the
 * bound, and while the client is not reading its answers (the channel is not writable), kura
 * stops reading from the connection, so TCP flow control holds the client back instead of kura's
 * memory. Before routing, the HTTP/1.1 Host and request-target rules apply ({@link RequestTarget}).
 * An idle connection (no request in progress, or one whose client stopped reading) is closed on
 * the {@link IdleStateEvent} of the pipeline's {@code IdleStateHandler}.
 *
 * <p>Client-caused connection noise (resets, closes mid-request) is logged at DEBUG only: a
 * client must not be able to make kura write its log without bound.
 *
 * <p>Thread-safety: confined to the channel's event loop.
 */
final class HttpHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(HttpHandler.class);
    private static final AtomicLong IDS = new AtomicLong();
    private static final String ID_PREFIX = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);

    private static final RateLimitedLog UNEXPECTED = new RateLimitedLog(log, 10, TimeUnit.SECONDS);

    private final ProxyCore core;
    private final int maxPipelined;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
    private boolean busy;

    HttpHandler(ProxyCore core, int maxPipelined) {
        this.core = core;
        this.maxPipelined = maxPipelined;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (busy || !ctx.channel().isWritable()) {
            waiting.add(req);
            if (waiting.size() >= maxPipelined) {
                ctx.channel().config().setAutoRead(false);
            }
            return;
        }
        start(ctx, req);
    }

    private void start(ChannelHandlerContext ctx, FullHttpRequest req) {
        busy = true;
        core.inFlight.incrementAndGet();
        String id = ID_PREFIX + "-" + Long.toHexString(IDS.incrementAndGet());
        HttpHeaders headers = req.headers();
        DecoderResult dr = req.decoderResult();
        boolean keepAlive = dr.isSuccess() && HttpUtil.isKeepAlive(req);
        RequestTarget.Decision target = dr.isSuccess()
                ? RequestTarget.decide(req.uri(), req.protocolVersion().minorVersion() >= 1
                        || req.protocolVersion().majorVersion() > 1, headers.getAll(HttpHeaderNames.HOST),
                        (InetSocketAddress) ctx.channel().localAddress())
                : RequestTarget.Decision.route(req.uri());
        if (!target.routed()) {
            keepAlive = false; // a framing error: the rest of the stream cannot be trusted
        }
        String originForm = target.originForm(); // null when the target was refused
        Exchange ex = new Exchange(ctx.channel(), id, req.method().name(),
                originForm != null ? originForm : req.uri(), headers, keepAlive,
                e -> ctx.executor().execute(() -> done(ctx, e)));
        ex.nodeId = core.config().nodeId();
        ex.trace = core.tracing.server(ex);
        req.release();
        if (!target.routed()) {
            ex.error(HttpResponseStatus.valueOf(target.status()), target.reason());
            return;
        }
        if (!dr.isSuccess()) {
            Throwable c = dr.cause();
            if (c instanceof TooLongHttpLineException) {
                ex.error(HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line longer than serve.max-url-length");
            } else if (c instanceof TooLongHttpHeaderException) {
                ex.error(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "header block larger than serve.max-header-size");
            } else if (c instanceof TooLongFrameException) {
                ex.error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large");
            } else {
                ex.error(HttpResponseStatus.BAD_REQUEST, "malformed request");
            }
            return;
        }
        try {
            core.handle(ex);
        } catch (RuntimeException e) {
            log.error("request {}: {} {} failed", id, ex.method, ex.uri, e);
            if (!ex.finished()) {
                ex.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error");
            }
        }
    }

    private void done(ChannelHandlerContext ctx, Exchange ex) {
        core.inFlight.decrementAndGet();
        core.finished(ex);
        busy = false;
        if (!ex.keepAlive) {
            ctx.close();
            drop();
            return;
        }
        next(ctx);
    }

    /** True when no request of this connection is in progress or waiting. Event loop only. */
    boolean idle() {
        return !busy && waiting.isEmpty();
    }

    /** Starts the next waiting request unless the client is not reading its answers. */
    private void next(ChannelHandlerContext ctx) {
        if (busy || !ctx.channel().isWritable()) {
            return;
        }
        FullHttpRequest next = waiting.poll();
        if (waiting.size() < maxPipelined && !ctx.channel().config().isAutoRead() && ctx.channel().isActive()) {
            ctx.channel().config().setAutoRead(true);
        }
        if (next != null) {
            start(ctx, next);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        next(ctx);
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            // Busy and writable means waiting on the origin or the cache: their own timeouts apply.
            if (!busy || !ctx.channel().isWritable()) {
                core.metrics.closed(ProxyMetrics.CloseReason.IDLE_TIMEOUT);
                log.debug("closing idle connection from {}", ctx.channel().remoteAddress());
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void drop() {
        FullHttpRequest r;
        while ((r = waiting.poll()) != null) {
            r.release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        drop();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException || cause instanceof io.netty.handler.codec.DecoderException) {
            // resets, and clients that break HTTP framing (e.g. pipelining past the codec's depth of 128)
            log.debug("connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        } else {
            UNEXPECTED.warn("connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }
}
