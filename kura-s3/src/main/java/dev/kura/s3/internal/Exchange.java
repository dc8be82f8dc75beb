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

import dev.kura.net.NettyTransport;
import dev.kura.s3.internal.api.S3ErrorCode;
import dev.kura.s3.internal.api.S3Xml;
import org.jspecify.annotations.Nullable;

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
    /**
     * The config snapshot this request runs on, from its start to its end (a hot reload swaps the
     * current one, never this); null for a request refused before routing.
     */
    volatile @Nullable ServeState state;
    volatile String bucket = "-";
    /** The object key of GetObject or HeadObject, for the access log; null for other operations. */
    volatile @Nullable String key;
    volatile CacheStatus cacheStatus = CacheStatus.NONE;
    volatile int status;
    volatile long bodyBytes;
    /** The part of {@link #bodyBytes} sent as file regions ({@link #regionQueued}). */
    volatile long fileRegionBytes;
    /** Whether this response corked the socket ({@link #cork}); event loop only. */
    private boolean corked;
    /**
     * Who sent the request, for rate limits: {@code key:<access key id>}, {@code jwt:<subject>} or
     * {@code ip:<address>}; null until authenticated.
     */
    volatile @Nullable String client;
    /** GetObject's {@code versionId}, or null for the current version; set by {@link S3Front}. */
    volatile @Nullable String versionId;
    /**
     * Headers GetObject's {@code response-*} parameters ask for; applied to a 200 or 206 only, never
     * to the cached entry (S3 API reference, GetObject). Set by {@link S3Front}; may be null.
     */
    volatile java.util.@Nullable Map<String, String> responseOverrides;
    /**
     * GetObject's or HeadObject's {@code partNumber} (1 to 10000), 0 when absent; set by
     * {@link S3Front}.
     */
    volatile int partNumber;
    /**
     * The byte range of {@link #partNumber} once resolved ({@link PartRanges}); every plan of the
     * request ({@link RequestPlanner#plan(boolean, io.netty.handler.codec.http.HttpHeaders,
     * dev.kura.cache.EntryMetadata, PartRanges.Part)}) serves it. Null for a request without partNumber.
     */
    volatile PartRanges.@Nullable Part part;
    /** The request's trace (server span and children); null when tracing is off ({@link Tracing#OFF}). */
    volatile Tracing.@Nullable RequestTrace trace;
    /** serve.node-id of the config in force when the request started; sent on every response. */
    volatile @Nullable String nodeId;

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

    /**
     * An error response with the S3 code nearest to {@code st} ({@link S3ErrorCode#forStatus}); the
     * status stays {@code st}.
     */
    void error(HttpResponseStatus st, @Nullable String message, String... extraHeaders) {
        sendError(st, S3ErrorCode.forStatus(st.code()), message, extraHeaders);
    }

    /**
     * An S3 error response (S3 API reference, "Error responses"): the code's status and an XML
     * {@code <Error>} document naming the code, {@code message}, the resource and the request id.
     * A HEAD gets the status and headers only, as from S3.
     *
     * @param extraHeaders name, value, name, value...
     */
    void s3Error(S3ErrorCode code, @Nullable String message, String... extraHeaders) {
        sendError(HttpResponseStatus.valueOf(code.status()), code, message, extraHeaders);
    }

    private void sendError(HttpResponseStatus st, S3ErrorCode code, @Nullable String message, String... extraHeaders) {
        String resource = uri;
        int q = resource.indexOf('?');
        if (q >= 0) {
            resource = resource.substring(0, q);
        }
        byte[] b = S3Xml.error(code, message, resource, id);
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, st,
                isHead() ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(b));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/xml");
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, b.length);
        for (int i = 0; i + 1 < extraHeaders.length; i += 2) {
            r.headers().set(extraHeaders[i], extraHeaders[i + 1]);
        }
        sendFull(r);
    }

    /** Sends a whole response in one write; the future completes when the write has completed or failed. */
    ChannelFuture sendFull(DefaultFullHttpResponse r) {
        decorate(r);
        long len = r.content().readableBytes();
        return ch.writeAndFlush(r).addListener((ChannelFutureListener) f -> finish(len));
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

    /**
     * Queues a body chunk without flushing it (takes ownership of {@code buf}); the caller flushes
     * ({@link #flush}, {@link #end}) before it waits for anything.
     */
    ChannelFuture chunkQueued(ByteBuf buf) {
        bodyBytes += buf.readableBytes();
        return ch.write(new DefaultHttpContent(buf));
    }

    /**
     * Queues a span of a file as body bytes without flushing it (takes ownership of {@code r}):
     * sent with {@code sendfile(2)} (epoll, NIO) or {@code splice(2)} (io_uring), never copied
     * through user space. Plain HTTP only (a TLS handler cannot carry a file region).
     */
    ChannelFuture regionQueued(io.netty.channel.FileRegion r) {
        bodyBytes += r.count();
        fileRegionBytes += r.count();
        return ch.write(r);
    }

    /** Flushes what {@link #chunkQueued} and {@link #regionQueued} queued. */
    void flush() {
        ch.flush();
    }

    /** True when body bytes may go out as file regions: no TLS handler in the pipeline. */
    boolean takesFileRegions() {
        return ch.pipeline().get(io.netty.handler.ssl.SslHandler.class) == null;
    }

    /**
     * Corks the socket ({@link NettyTransport#setCork}) until {@link #uncork} or the end of the
     * response, so that file regions sent one after another go out as full segments: without it,
     * each 64 KiB region's {@code sendfile(2)} ended in a segment of a few dozen bytes (a 1 MiB
     * zero-copy hit was 41 TCP segments on loopback against nginx's 37, and served 0.76x nginx's
     * req/s; corked, 36 and 0.88-1.00x: docs/SERVE.md, "Zero-copy disk hits"). Event loop only.
     */
    void cork() {
        if (!corked) {
            corked = NettyTransport.setCork(ch, true);
        }
    }

    /** Sends the partial segment a cork holds: before the response waits on anything but the socket. */
    void uncork() {
        if (corked) {
            corked = false;
            NettyTransport.setCork(ch, false);
        }
    }

    /** Ends the streamed response. */
    void end() {
        long len = bodyBytes;
        ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener((ChannelFutureListener) f -> {
            uncork(); // the response's last bytes are in the socket: let them go
            finish(len);
        });
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
        java.util.Map<String, String> o = responseOverrides;
        if (o != null && (status == 200 || status == 206)) {
            o.forEach(h::set);
        }
        // After the overrides: they echo query parameters, and nothing echoed may carry CR/LF.
        HeaderHygiene.scrub(h, id);
        h.set("X-Request-Id", id);
        // S3 clients report this id in their errors (S3 API reference, common response headers).
        h.set("x-amz-request-id", id);
        String node = nodeId;
        if (node != null) {
            // Which node behind a balancer answered (deploy/haproxy); valid header text by ServeConfig.
            h.set(dev.kura.s3.ServeConfig.NODE_HEADER, node);
        }
        // RFC 9110 6.6.1: an origin server with a clock sends Date; a cache forwards the stored
        // response's Date (set from the entry's metadata) and adds Age (RFC 9111 5.1).
        if (!h.contains(HttpHeaderNames.DATE)) {
            h.set(HttpHeaderNames.DATE, HttpDates.format(java.time.Instant.now()));
        } else if (servedFromCache()) {
            // RFC 9111 4.2.3 apparent age: now minus the stored Date (the time of the origin fetch).
            java.time.Instant stored = HttpDates.parse(h.get(HttpHeaderNames.DATE));
            if (stored != null) {
                long age = Math.max(0, java.time.Duration.between(stored, java.time.Instant.now()).toSeconds());
                h.set(HttpHeaderNames.AGE, age);
            }
        }
        if (cacheStatus != CacheStatus.NONE) {
            h.set("X-Cache", cacheStatus.text());
        }
        if (!keepAlive) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
    }

    private boolean servedFromCache() {
        CacheStatus c = cacheStatus;
        return c == CacheStatus.HIT || c == CacheStatus.REVALIDATED || c == CacheStatus.STALE;
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
