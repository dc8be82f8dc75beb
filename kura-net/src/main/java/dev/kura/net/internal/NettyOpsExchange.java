package dev.kura.net.internal;

import dev.kura.net.OpsExchange;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.jspecify.annotations.Nullable;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link OpsExchange} over one Netty channel. The request's headers are copied, so the exchange
 * outlives the pooled request (an admin route answers later, from a virtual thread).
 *
 * <p>Thread-safety: safe for concurrent use; the first answer wins.
 */
final class NettyOpsExchange implements OpsExchange {
    private final ChannelHandlerContext ctx;
    private final String method;
    private final QueryStringDecoder query;
    private final HttpHeaders headers;
    private final boolean keepAlive;
    private final AtomicBoolean answered = new AtomicBoolean();

    NettyOpsExchange(ChannelHandlerContext ctx, FullHttpRequest request, boolean keepAlive) {
        this.ctx = ctx;
        this.method = request.method().name();
        this.query = new QueryStringDecoder(request.uri());
        this.headers = request.headers().copy();
        this.keepAlive = keepAlive;
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public String path() {
        return query.path();
    }

    @Override
    public @Nullable String parameter(String name) {
        List<String> v = query.parameters().get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    @Override
    public @Nullable String header(String name) {
        return headers.get(name);
    }

    @Override
    public String remote() {
        return String.valueOf(ctx.channel().remoteAddress());
    }

    @Override
    public void send(int status, String contentType, byte[] body, String... extraHeaders) {
        if (!answered.compareAndSet(false, true)) {
            return;
        }
        boolean head = method.equals("HEAD");
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        for (int i = 0; i + 1 < extraHeaders.length; i += 2) {
            r.headers().set(extraHeaders[i], extraHeaders[i + 1]);
        }
        if (!keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        var f = ctx.writeAndFlush(r);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }
}
