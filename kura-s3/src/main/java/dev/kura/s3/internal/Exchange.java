package dev.kura.s3.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One request and its response on a channel. Writes may come from the event loop (cache hits) or
 * from a virtual thread (origin fetches); Netty queues writes from other threads onto the event
 * loop in order, so one writer at a time keeps the response well-formed.
 *
 * <p>Invariant: {@link #finish} runs exactly once per exchange (guarded by {@code finished}), after
 * the last byte was written or the connection was closed; it records metrics and the access-log
 * line and lets the connection take its next request.
 */
final class Exchange {
    final Channel ch;
    final String id;
    final String method;
    final String uri;
    final HttpHeaders requestHeaders;
    final boolean keepAlive;
    final long startNanos = System.nanoTime();
    private final Consumer<Exchange> onFinish;
    private final AtomicBoolean finished = new AtomicBoolean();
    volatile String bucket = "-";
    volatile String cacheStatus = "-";
    volatile int status;
    volatile long bodyBytes;

    Exchange(Channel ch, String id, String method, String uri, HttpHeaders requestHeaders, boolean keepAlive,
             Consumer<Exchange> onFinish) {
        this.ch = ch;
        this.id = id;
        this.method = method;
        this.uri = uri;
        this.requestHeaders = requestHeaders;
        this.keepAlive = keepAlive;
        this.onFinish = onFinish;
    }

    boolean isHead() {
        return method.equals("HEAD");
    }

    /** A complete small response with a text body (errors, health, admin). */
    void respond(HttpResponseStatus st, String contentType, String body, String... extraHeaders) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, st,
                isHead() ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(b));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, b.length);
        for (int i = 0; i + 1 < extraHeaders.length; i += 2) {
            r.headers().set(extraHeaders[i], extraHeaders[i + 1]);
        }
        sendFull(r);
    }

    /** An error response: status and a one-line text body naming the request id. */
    void error(HttpResponseStatus st, String message, String... extraHeaders) {
        respond(st, "text/plain; charset=utf-8", st.code() + " " + st.reasonPhrase() + ": " + message
                + " (request " + id + ")\n", extraHeaders);
    }

    /** Sends a whole response in one write. */
    void sendFull(DefaultFullHttpResponse r) {
        decorate(r);
        long len = r.content().readableBytes();
        ch.writeAndFlush(r).addListener((ChannelFutureListener) f -> finish(len));
    }

    /** Sends the head of a streamed response; the body follows with {@link #chunk} and {@link #end}. */
    void sendHead(HttpResponse r) {
        decorate(r);
        ch.write(r);
    }

    /** Writes a body chunk (takes ownership of {@code buf}). */
    ChannelFuture chunk(ByteBuf buf) {
        bodyBytes += buf.readableBytes();
        return ch.writeAndFlush(new DefaultHttpContent(buf));
    }

    /** Ends the streamed response. */
    void end() {
        long len = bodyBytes;
        ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener((ChannelFutureListener) f -> finish(len));
    }

    /** Gives up on a response whose head is already sent: the client sees a short body and a close. */
    void abort() {
        long len = bodyBytes;
        ch.close().addListener((ChannelFutureListener) f -> finish(len));
    }

    /**
     * kura's own headers on every response, after a last check that no header carries a control
     * character or a bad name ({@link HeaderHygiene}): response heads are built without Netty's
     * validation, and entries cached before validation existed may hold anything.
     */
    private void decorate(HttpResponse r) {
        status = r.status().code();
        HttpHeaders h = r.headers();
        HeaderHygiene.scrub(h, id);
        h.set("X-Request-Id", id);
        if (!cacheStatus.equals("-")) {
            h.set("X-Cache", cacheStatus);
        }
        if (!keepAlive) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
    }

    private void finish(long len) {
        if (finished.compareAndSet(false, true)) {
            bodyBytes = len;
            onFinish.accept(this);
        }
    }

    boolean finished() {
        return finished.get();
    }
}
