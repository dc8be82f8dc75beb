package dev.kura.s3.internal;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;

/**
 * Turns the codec's request head and body pieces into one {@link FullHttpRequest} with an
 * <em>empty</em> body: kura serves GET and HEAD and its admin calls take no body, so a body is
 * counted and dropped as it arrives, never buffered. (Netty's {@code HttpObjectAggregator} kept up
 * to 64 KiB per queued request; 100 connections pipelining 60 KB bodies without reading their
 * answers grew RSS by 864 MiB.) A body larger than {@code serve.limits.max-request-body} (by
 * {@code Content-Length} up front, or by counting a chunked one) becomes a request whose decoder
 * result is a {@link TooLongFrameException}: {@link HttpHandler} answers 413 and closes.
 *
 * <p>Thread-safety: confined to the channel's event loop.
 */
final class RequestBodyLimit extends ChannelInboundHandlerAdapter {
    private final long maxBody;
    private final Runnable onTooLarge;
    private @Nullable HttpRequest head;
    private long bodyBytes;
    private boolean discarding;

    RequestBodyLimit(long maxBody, Runnable onTooLarge) {
        this.maxBody = maxBody;
        this.onTooLarge = onTooLarge;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FullHttpRequest full) {
            // The codec's own invalid-request message (bad request line, headers too large).
            if (full.content().readableBytes() > maxBody) {
                tooLarge(ctx, full);
                full.release();
                return;
            }
            ctx.fireChannelRead(full);
            return;
        }
        if (msg instanceof HttpRequest req && !req.decoderResult().isSuccess()) {
            // A head the codec could not parse (headers too large...): no body follows, it discards
            // the rest of the stream; pass the failure on at once.
            DefaultFullHttpRequest full = new DefaultFullHttpRequest(req.protocolVersion(), req.method(), req.uri(),
                    Unpooled.EMPTY_BUFFER, req.headers(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
            full.setDecoderResult(req.decoderResult());
            head = null;
            ctx.fireChannelRead(full);
            return;
        }
        if (msg instanceof HttpContent c && !c.decoderResult().isSuccess() && head != null && !discarding) {
            // A body the codec could not parse (bad chunk size...): the request fails with its cause.
            c.release();
            DefaultFullHttpRequest full = new DefaultFullHttpRequest(head.protocolVersion(), head.method(),
                    head.uri(), Unpooled.EMPTY_BUFFER, head.headers(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
            full.setDecoderResult(c.decoderResult());
            head = null;
            ctx.fireChannelRead(full);
            return;
        }
        if (msg instanceof HttpRequest req) {
            head = req;
            bodyBytes = 0;
            discarding = false;
            if (HttpUtil.getContentLength(req, 0L) > maxBody) {
                tooLarge(ctx, req);
            }
        }
        if (msg instanceof HttpContent c) {
            bodyBytes += c.content().readableBytes();
            boolean last = msg instanceof LastHttpContent;
            c.release();
            if (head == null) {
                return; // rest of a body already refused
            }
            if (!discarding && bodyBytes > maxBody) {
                tooLarge(ctx, head);
            }
            if (last) {
                if (!discarding) {
                    DefaultFullHttpRequest full = new DefaultFullHttpRequest(head.protocolVersion(), head.method(),
                            head.uri(), Unpooled.EMPTY_BUFFER, head.headers(), ((LastHttpContent) msg).trailingHeaders());
                    full.setDecoderResult(head.decoderResult());
                    ctx.fireChannelRead(full);
                }
                head = null;
            }
            return;
        }
        if (!(msg instanceof HttpRequest)) {
            ReferenceCountUtil.release(msg);
        }
    }

    private void tooLarge(ChannelHandlerContext ctx, HttpRequest req) {
        discarding = true;
        onTooLarge.run();
        DefaultFullHttpRequest r = new DefaultFullHttpRequest(req.protocolVersion(), req.method(), req.uri(),
                Unpooled.EMPTY_BUFFER, req.headers().copy(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        r.setDecoderResult(DecoderResult.failure(
                new TooLongFrameException("request body larger than serve.limits.max-request-body")));
        ctx.fireChannelRead(r);
    }
}
