package dev.kura.s3.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One client connection: turns decoded requests into {@link Exchange}s, one at a time (HTTP/1.1
 * pipelined requests wait in order, RFC 9112 section 9.3.2), and maps decoder failures to 4xx.
 *
 * <p>Thread-safety: confined to the channel's event loop.
 */
final class HttpHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(HttpHandler.class);
    private static final AtomicLong IDS = new AtomicLong();
    private static final String ID_PREFIX = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);

    private final ProxyCore core;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
    private boolean busy;

    HttpHandler(ProxyCore core) {
        this.core = core;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (busy) {
            waiting.add(req);
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
        Exchange ex = new Exchange(ctx.channel(), id, req.method().name(), req.uri(), headers, keepAlive,
                e -> ctx.executor().execute(() -> done(ctx, e)));
        req.release();
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
        FullHttpRequest next = waiting.poll();
        if (next != null) {
            start(ctx, next);
        }
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
        if (!(cause instanceof IOException)) {
            log.warn("connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }
}
