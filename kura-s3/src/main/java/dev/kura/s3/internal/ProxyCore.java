package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheStats;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.ServeConfig;
import dev.kura.s3.internal.api.S3ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy's request logic, shared by every connection.
 *
 * <p>Design. A request is routed by the longest bucket prefix of its decoded path; the object key
 * is the rest. The cache key is {@code <bucket name>/<key>}. Then:
 * <ul>
 *   <li><b>fresh hit</b>: served on the event loop from the cache entry ({@link EntrySender}),
 *       after the preconditions (RFC 9110 13.2.2) and the Range (14.2) are evaluated against the
 *       entry's metadata. {@code X-Cache: HIT}.</li>
 *   <li><b>miss</b> (GET): on a virtual thread, {@link Cache#fill} makes the caller the leader or
 *       a follower (single flight: concurrent misses on one key make one origin GET). The leader
 *       GETs the whole object and copies each chunk to the cache writer and, if the client's
 *       response has a body, the part of it the client asked for to the client: first byte out
 *       before the object is fully fetched, no size cap, nothing buffered whole. Followers wait
 *       for the committed entry and serve it; if the fill fails they fetch again themselves.
 *       A Range request on a miss is served from this same whole-object stream, so it fills the
 *       cache too (the client's range is cut out as it passes). {@code X-Cache: MISS}.</li>
 *   <li><b>stale hit</b>: revalidated by a conditional GET ({@code If-None-Match} with the cached
 *       ETag) as a fill, so it is single-flight too. 304 refreshes the expiry
 *       ({@code X-Cache: REVALIDATED}); 200 replaces the entry ({@code MISS}); an unreachable or
 *       failing origin serves the stale entry within {@code stale-if-error} ({@code STALE}).</li>
 *   <li><b>HEAD miss</b>: a HEAD to the origin, not cached.</li>
 * </ul>
 * A cache fault (lookup error, failed write, full disk, corrupt block) never fails a request: the
 * request goes to the origin, and a failed cache write only stops caching that object.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public final class ProxyCore {
    private static final Logger log = LoggerFactory.getLogger(ProxyCore.class);
    static final Logger ACCESS = LoggerFactory.getLogger("kura.access");
    private static final int ORIGIN_CHUNK = 64 * 1024;

    private final ServeConfig config;
    private final Cache cache;
    private final List<Route> routes;
    private final Map<String, Route> byName = new java.util.HashMap<>();
    private final S3Front front;
    final ProxyMetrics metrics;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    final AtomicInteger inFlight = new AtomicInteger();
    private final byte[] adminToken;

    /** A bucket and its origin. */
    record Route(BucketConfig bucket, OriginClient origin) {
    }

    public ProxyCore(ServeConfig config, Cache cache) {
        this.config = config;
        this.cache = cache;
        List<Route> r = new ArrayList<>();
        for (BucketConfig b : config.buckets()) {
            r.add(new Route(b, new OriginClient(b)));
        }
        r.sort(Comparator.comparingInt((Route x) -> x.bucket().prefix().length()).reversed());
        this.routes = List.copyOf(r);
        for (Route x : routes) {
            byName.put(x.bucket().name(), x);
        }
        this.front = new S3Front(config, this, workers, java.time.Clock.systemUTC());
        this.metrics = new ProxyMetrics(cache);
        this.adminToken = config.adminToken() == null ? null : config.adminToken().getBytes(StandardCharsets.UTF_8);
    }

    ServeConfig config() {
        return config;
    }

    /** Prometheus text of every meter. */
    public String scrape() {
        return metrics.scrape();
    }

    // ---------------------------------------------------------------- routing

    /** Handles one request; ends by finishing {@code ex} exactly once. Runs on the event loop. */
    void handle(Exchange ex) {
        String raw;
        try {
            raw = RequestPath.rawPath(ex.uri);
        } catch (RequestPath.BadPathException e) {
            ex.error(HttpResponseStatus.BAD_REQUEST, e.getMessage());
            return;
        }
        switch (raw) {
            case "/health" -> {
                ex.respond(HttpResponseStatus.OK, "text/plain; charset=utf-8", "ok\n");
                return;
            }
            case "/ready" -> {
                workers.execute(() -> ready(ex));
                return;
            }
            case "/metrics" -> {
                ex.respond(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
                return;
            }
            default -> {
            }
        }
        if (raw.equals("/admin") || raw.startsWith("/admin/")) {
            admin(ex, raw);
            return;
        }
        front.handle(ex);
    }

    /** The origin client of the bucket named {@code name}. */
    OriginClient origin(String name) {
        return byName.get(name).origin();
    }

    /**
     * Serves GetObject or HeadObject of {@code key} in {@code bucket} (routed and authorized by
     * {@link S3Front}); {@code ex.versionId} selects a version. Runs on the event loop.
     */
    void serveObject(Exchange ex, BucketConfig bucket, String key) {
        Route route = byName.get(bucket.name());
        // A version is immutable: it is cached under its own key. NUL cannot occur in a key
        // (RequestPath refuses it), so no plain key can collide with a version's.
        String cacheKey = route.bucket().name() + "/" + key + (ex.versionId == null ? "" : "\u0000v=" + ex.versionId);
        Optional<CacheEntry> hit = lookup(cacheKey, ex);
        if (hit.isPresent()) {
            CacheEntry e = hit.get();
            if (!e.metadata().isExpired(Instant.now())) {
                ex.cacheStatus = "HIT";
                serveEntry(ex, e, e.metadata(), () -> workers.execute(() -> fetch(ex, route, key, cacheKey, null)));
                return;
            }
            workers.execute(() -> fetch(ex, route, key, cacheKey, e));
            return;
        }
        if (ex.isHead()) {
            workers.execute(() -> headFromOrigin(ex, route, key));
        } else {
            workers.execute(() -> fetch(ex, route, key, cacheKey, null));
        }
    }

    private Optional<CacheEntry> lookup(String cacheKey, Exchange ex) {
        try {
            return cache.lookup(cacheKey);
        } catch (RuntimeException e) {
            log.warn("request {}: cache lookup of {} failed, going to the origin: {}", ex.id, cacheKey, e.toString());
            return Optional.empty();
        }
    }

    // ---------------------------------------------------------------- serving a cached entry

    /** Serves {@code e} (closing it) with the response that the request's headers call for. */
    private void serveEntry(Exchange ex, CacheEntry e, EntryMetadata md, Runnable fallback) {
        Plan p = plan(ex, md);
        if (!p.hasBody()) {
            e.close();
            sendBodyless(ex, p);
            return;
        }
        EntrySender.send(ex, e, p.head, p.first, p.last, () -> {
            ex.cacheStatus = "MISS";
            fallback.run();
        });
    }

    /** What to answer: a head, and the byte range of the body (first..last) or no body. */
    record Plan(HttpResponse head, long first, long last, boolean headOnly) {
        boolean hasBody() {
            return !headOnly && last >= first;
        }
    }

    /** Evaluates preconditions and Range against {@code md} (RFC 9110 13.2.2, 14.2). */
    static Plan plan(Exchange ex, EntryMetadata md) {
        HttpHeaders rq = ex.requestHeaders;
        String etag = md.etag();
        Instant lm = md.lastModified();
        Preconditions.Outcome o = Preconditions.evaluate(rq.get(HttpHeaderNames.IF_MATCH),
                rq.get(HttpHeaderNames.IF_UNMODIFIED_SINCE), rq.get(HttpHeaderNames.IF_NONE_MATCH),
                rq.get(HttpHeaderNames.IF_MODIFIED_SINCE), etag, lm);
        if (o == Preconditions.Outcome.PRECONDITION_FAILED) {
            HttpResponse r = response(HttpResponseStatus.PRECONDITION_FAILED);
            return new Plan(r, 0, -1, true);
        }
        if (o == Preconditions.Outcome.NOT_MODIFIED) {
            HttpResponse r = response(HttpResponseStatus.NOT_MODIFIED);
            validators(r.headers(), md);
            return new Plan(r, 0, -1, true);
        }
        long size = md.size();
        ByteRanges.Result range = new ByteRanges.Full();
        String rh = rq.get(HttpHeaderNames.RANGE);
        if (rh != null && !ex.isHead() && Preconditions.ifRangeAllows(rq.get(HttpHeaderNames.IF_RANGE), etag, lm)) {
            range = ByteRanges.parse(rh, size);
        }
        HttpResponse r;
        long first = 0;
        long last = size - 1;
        switch (range) {
            case ByteRanges.Unsatisfiable u -> {
                r = response(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE);
                r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + size);
                return new Plan(r, 0, -1, true);
            }
            case ByteRanges.Single s -> {
                r = response(HttpResponseStatus.PARTIAL_CONTENT);
                first = s.first();
                last = s.last();
                r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes " + first + "-" + last + "/" + size);
            }
            case ByteRanges.Full f -> r = response(HttpResponseStatus.OK);
        }
        HttpHeaders h = r.headers();
        validators(h, md);
        for (Map.Entry<String, String> e : md.headers().entrySet()) {
            h.set(e.getKey(), e.getValue());
        }
        if (md.contentType() != null) {
            h.set(HttpHeaderNames.CONTENT_TYPE, md.contentType());
        }
        h.set(HttpHeaderNames.ACCEPT_RANGES, "bytes");
        h.set(HttpHeaderNames.CONTENT_LENGTH, last - first + 1);
        return new Plan(r, first, last, ex.isHead());
    }

    /**
     * Response heads are built without Netty's per-header validation: every value comes from a
     * header the origin sent (parsed, so free of CR/LF) or from kura itself.
     */
    private static final io.netty.handler.codec.http.HttpHeadersFactory HEADERS =
            io.netty.handler.codec.http.DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    private static HttpResponse response(HttpResponseStatus st) {
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, st, HEADERS);
    }

    private static void validators(HttpHeaders h, EntryMetadata md) {
        if (md.etag() != null) {
            h.set(HttpHeaderNames.ETAG, md.etag());
        }
        if (md.lastModified() != null) {
            h.set(HttpHeaderNames.LAST_MODIFIED, HttpDates.format(md.lastModified()));
        }
        // A 304 carries these too (RFC 9110 15.4.5: Cache-Control, Date, ETag, Expires).
        for (String name : new String[] {"Cache-Control", "Expires", "Date"}) {
            String v = md.headers().get(name);
            if (v != null) {
                h.set(name, v);
            }
        }
    }

    private static void sendBodyless(Exchange ex, Plan p) {
        int code = p.head.status().code();
        if (code == 412) {
            ex.s3Error(S3ErrorCode.PRECONDITION_FAILED, "At least one of the pre-conditions you specified did not hold");
            return;
        }
        if (code == 416) {
            ex.s3Error(S3ErrorCode.INVALID_RANGE, "The requested range is not satisfiable",
                    HttpHeaderNames.CONTENT_RANGE.toString(), p.head.headers().get(HttpHeaderNames.CONTENT_RANGE));
            return;
        }
        var full = new io.netty.handler.codec.http.DefaultFullHttpResponse(HttpVersion.HTTP_1_1, p.head.status(),
                io.netty.buffer.Unpooled.EMPTY_BUFFER, p.head.headers(),
                io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        if (code != 304 && !full.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            full.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
        }
        ex.sendFull(full);
    }

    // ---------------------------------------------------------------- origin

    /**
     * Serves a miss or a stale hit from the origin, as leader or follower of the key's fill. Runs
     * on a virtual thread. {@code stale} (may be null) is the expired entry, closed here.
     */
    private void fetch(Exchange ex, Route route, String key, String cacheKey, CacheEntry stale) {
        try {
            for (int attempt = 0; attempt < 3; attempt++) {
                Fill fill;
                try {
                    fill = cache.fill(cacheKey);
                } catch (RuntimeException e) {
                    log.warn("request {}: cache fill of {} failed, serving from the origin uncached: {}",
                            ex.id, cacheKey, e.toString());
                    fill = null;
                }
                if (fill instanceof Fill.Leader leader) {
                    lead(ex, route, key, cacheKey, leader, stale);
                    stale = null; // lead() owns and closes it
                    return;
                }
                if (fill instanceof Fill.Follower follower) {
                    Optional<CacheEntry> done = await(follower, route.bucket());
                    if (done.isPresent()) {
                        closeQuietly(stale);
                        stale = null;
                        ex.cacheStatus = "MISS";
                        serveEntry(ex, done.get(), done.get().metadata(),
                                () -> workers.execute(() -> passThrough(ex, route, key)));
                        return;
                    }
                    // The leader did not commit (revalidated, failed, not cacheable): look again.
                    Optional<CacheEntry> now = lookup(cacheKey, ex);
                    if (now.isPresent() && !now.get().metadata().isExpired(Instant.now())) {
                        // Fresh now although no entry was committed: the leader revalidated it (304).
                        ex.cacheStatus = stale != null ? "REVALIDATED" : "HIT";
                        closeQuietly(stale);
                        stale = null;
                        serveEntry(ex, now.get(), now.get().metadata(),
                                () -> workers.execute(() -> passThrough(ex, route, key)));
                        return;
                    }
                    now.ifPresent(ProxyCore::closeQuietly);
                    continue;
                }
                break;
            }
            closeQuietly(stale);
            stale = null;
            passThrough(ex, route, key);
        } catch (RuntimeException e) {
            closeQuietly(stale);
            internalError(ex, e);
        }
    }

    private Optional<CacheEntry> await(Fill.Follower f, BucketConfig b) {
        long waitMs = Math.max(60_000, 4 * OriginClient.total(b).toMillis());
        try {
            return f.result().get(waitMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            return Optional.empty();
        }
    }

    /** The leader of a fill: one origin GET, streamed to the cache and the client. */
    private void lead(Exchange ex, Route route, String key, String cacheKey, Fill.Leader leader, CacheEntry stale) {
        String bucket = route.bucket().name();
        String staleEtag = stale != null ? stale.metadata().etag() : null;
        long t0 = System.nanoTime();
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = route.origin().get(key, staleEtag, ex.versionId);
        } catch (OriginClient.OriginException oe) {
            metrics.origin(bucket, oe.status == 304 ? "not_modified" : "error", System.nanoTime() - t0);
            if (oe.status == 304 && stale != null) {
                revalidated(ex, route, cacheKey, leader, stale, oe);
                return;
            }
            leader.cancel();
            if (oe.status != 304) {
                metrics.originError(bucket, oe.kind);
            }
            if (stale != null && oe.originDown() && withinStaleIfError(stale.metadata(), route.bucket())) {
                log.warn("request {}: origin failed ({}), serving stale {}", ex.id, oe.getMessage(), cacheKey);
                ex.cacheStatus = "STALE";
                serveEntry(ex, stale, stale.metadata(), () -> originError(ex, oe));
                return;
            }
            closeQuietly(stale);
            if (oe.status == 404) {
                safeDelete(cacheKey);
            }
            originError(ex, oe);
            return;
        } catch (RuntimeException e) {
            leader.cancel();
            closeQuietly(stale);
            throw e;
        }
        metrics.origin(bucket, "ok", System.nanoTime() - t0);
        closeQuietly(stale);
        ex.cacheStatus = "MISS";
        // Invariant: the leader ends its fill exactly once, by begin() or cancel(), whatever
        // happens here; otherwise followers would wait for a fill that never ends.
        boolean ended = false;
        try (in) {
            GetObjectResponse r = in.response();
            Freshness.Decision d = Freshness.decide(r.cacheControl(), r.expiresString(), route.bucket().defaultTtl(),
                    Instant.now());
            EntryMetadata md = metadata(r.contentLength(), r.contentType(), r.eTag(), r.lastModified(),
                    d.expiresAt(), r.cacheControl(), r.contentEncoding(), r.contentDisposition(),
                    r.contentLanguage(), r.expiresString(), r.metadata());
            CacheWriter w = null;
            if (d.store()) {
                try {
                    ended = true;
                    w = leader.begin(md);
                } catch (RuntimeException e) {
                    log.warn("request {}: cache refused {}: {}", ex.id, cacheKey, e.toString());
                    leader.cancel();
                }
            } else {
                ended = true;
                leader.cancel();
            }
            stream(ex, in, md, w, cacheKey);
        } catch (IOException e) {
            log.debug("closing origin stream", e);
        } finally {
            if (!ended) {
                leader.cancel();
            }
        }
    }

    private void revalidated(Exchange ex, Route route, String cacheKey, Fill.Leader leader, CacheEntry stale,
                             OriginClient.OriginException notModified) {
        EntryMetadata old = stale.metadata();
        String cc = old.headers().get("Cache-Control");
        if (notModified.getCause() instanceof software.amazon.awssdk.services.s3.model.S3Exception s3e
                && s3e.awsErrorDetails() != null && s3e.awsErrorDetails().sdkHttpResponse() != null) {
            cc = s3e.awsErrorDetails().sdkHttpResponse().firstMatchingHeader("Cache-Control").orElse(cc);
        }
        Freshness.Decision d = Freshness.decide(cc, route.bucket().defaultTtl(), Instant.now());
        // A 304 refreshes the stored response (RFC 9111 4.3.4): a new Date, so Age starts again.
        Map<String, String> hs = new LinkedHashMap<>(old.headers());
        hs.put("Date", HttpDates.format(Instant.now()));
        EntryMetadata fresh = new EntryMetadata(old.size(), old.contentType(), old.etag(), old.lastModified(),
                d.expiresAt(), hs);
        try {
            cache.updateMetadata(cacheKey, old.etag(), fresh);
        } catch (RuntimeException e) {
            log.warn("request {}: cache update of {} failed: {}", ex.id, cacheKey, e.toString());
        }
        leader.cancel();
        ex.cacheStatus = "REVALIDATED";
        String key = cacheKey.substring(route.bucket().name().length() + 1);
        int version = key.indexOf('\u0000');
        String objectKey = version < 0 ? key : key.substring(0, version);
        serveEntry(ex, stale, fresh, () -> workers.execute(() -> passThrough(ex, route, objectKey)));
    }

    /** An origin fetch without the cache (after a cache fault, or when a fill keeps failing). */
    private void passThrough(Exchange ex, Route route, String key) {
        String bucket = route.bucket().name();
        long t0 = System.nanoTime();
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = route.origin().get(key, null, ex.versionId);
        } catch (OriginClient.OriginException oe) {
            metrics.origin(bucket, "error", System.nanoTime() - t0);
            metrics.originError(bucket, oe.kind);
            originError(ex, oe);
            return;
        }
        metrics.origin(bucket, "ok", System.nanoTime() - t0);
        ex.cacheStatus = "MISS";
        try (in) {
            GetObjectResponse r = in.response();
            EntryMetadata md = metadata(r.contentLength(), r.contentType(), r.eTag(), r.lastModified(),
                    Instant.now(), r.cacheControl(), r.contentEncoding(), r.contentDisposition(),
                    r.contentLanguage(), r.expiresString(), r.metadata());
            stream(ex, in, md, null, route.bucket().name() + "/" + key);
        } catch (IOException e) {
            log.debug("closing origin stream", e);
        }
    }

    private void headFromOrigin(Exchange ex, Route route, String key) {
        String bucket = route.bucket().name();
        long t0 = System.nanoTime();
        try {
            HeadObjectResponse r = route.origin().head(key, ex.versionId);
            metrics.origin(bucket, "ok", System.nanoTime() - t0);
            EntryMetadata md = metadata(r.contentLength(), r.contentType(), r.eTag(), r.lastModified(),
                    Instant.now(), r.cacheControl(), r.contentEncoding(), r.contentDisposition(),
                    r.contentLanguage(), r.expiresString(), r.metadata());
            ex.cacheStatus = "MISS";
            sendBodyless(ex, plan(ex, md));
        } catch (OriginClient.OriginException oe) {
            metrics.origin(bucket, "error", System.nanoTime() - t0);
            metrics.originError(bucket, oe.kind);
            originError(ex, oe);
        } catch (RuntimeException e) {
            internalError(ex, e);
        }
    }

    /**
     * Copies the origin body to the cache writer {@code w} (may be null) and to the client. The
     * client gets the response {@link #plan} gives for {@code md}; a bodyless answer (304, 412,
     * 416, HEAD) is sent at once and the fill goes on alone. Invariant: {@code w} is committed only
     * when exactly {@code md.size()} bytes came; otherwise it is aborted and nothing is published.
     */
    private void stream(Exchange ex, InputStream in, EntryMetadata md, CacheWriter w, String cacheKey) throws IOException {
        Plan p = plan(ex, md);
        ClientSink sink = null;
        if (p.hasBody()) {
            ex.sendHead(p.head);
            sink = new ClientSink(ex, p.first, p.last);
        } else {
            sendBodyless(ex, p);
        }
        if (w != null) {
            metrics.fillsInFlight.incrementAndGet();
        }
        byte[] buf = new byte[ORIGIN_CHUNK];
        long pos = 0;
        boolean originFailed = false;
        try {
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (IOException e) {
                    OriginClient.OriginException oe = OriginClient.map(e);
                    metrics.originError(ex.bucket, oe.kind);
                    log.warn("request {}: origin body of {} failed after {} bytes: {}", ex.id, cacheKey, pos, e.toString());
                    originFailed = true;
                    break;
                }
                if (n < 0) {
                    break;
                }
                if (w != null) {
                    try {
                        w.write(ByteBuffer.wrap(buf, 0, n));
                    } catch (IOException | RuntimeException e) {
                        log.warn("request {}: cache write of {} failed, serving on without caching: {}",
                                ex.id, cacheKey, e.toString());
                        w.abort();
                        w = null;
                        metrics.fillsInFlight.decrementAndGet();
                    }
                }
                if (sink != null && !sink.offer(buf, n, pos)) {
                    sink = null; // client gone: keep filling the cache for the next one
                }
                pos += n;
                if (w == null && (sink == null || sink.complete(pos))) {
                    break;
                }
            }
            boolean whole = !originFailed && pos == md.size();
            if (w != null) {
                if (whole) {
                    try {
                        w.commit().close();
                    } catch (IOException | RuntimeException e) {
                        log.warn("request {}: cache commit of {} failed: {}", ex.id, cacheKey, e.toString());
                    }
                } else {
                    if (!originFailed) {
                        log.warn("request {}: origin sent {} bytes of {} for {}", ex.id, pos, md.size(), cacheKey);
                    }
                    w.abort();
                }
            }
            if (sink != null) {
                if (sink.complete(pos)) {
                    ex.end();
                } else {
                    ex.abort();
                }
            }
        } finally {
            if (w != null) {
                w.close();
                metrics.fillsInFlight.decrementAndGet();
            }
        }
    }

    /** Sends the client its range of the origin stream, with back-pressure. Used from one virtual thread. */
    private static final class ClientSink {
        private final Exchange ex;
        private final long first;
        private final long last;
        private final long stallMillis = 60_000;

        ClientSink(Exchange ex, long first, long last) {
            this.ex = ex;
            this.first = first;
            this.last = last;
        }

        /** Offers bytes at object offset {@code pos}; false when the client is gone. */
        boolean offer(byte[] b, int n, long pos) {
            if (!ex.ch.isActive()) {
                ex.abort(); // ends the exchange (metrics, access log, in-flight count)
                return false;
            }
            long s = Math.max(pos, first);
            long e = Math.min(pos + n - 1, last);
            if (s > e) {
                return true;
            }
            int len = (int) (e - s + 1);
            ByteBuf out = ex.ch.alloc().directBuffer(len);
            out.writeBytes(b, (int) (s - pos), len);
            ChannelFuture f = ex.chunk(out);
            if (!ex.ch.isWritable()) {
                if (!f.awaitUninterruptibly(stallMillis) || !f.isSuccess()) {
                    ex.abort();
                    return false;
                }
            }
            return true;
        }

        boolean complete(long pos) {
            return pos > last;
        }
    }

    private static EntryMetadata metadata(Long length, String contentType, String etag, Instant lastModified,
                                          Instant expiresAt, String cacheControl, String contentEncoding,
                                          String contentDisposition, String contentLanguage, String expires,
                                          Map<String, String> userMetadata) {
        Map<String, String> h = new LinkedHashMap<>();
        put(h, "Cache-Control", cacheControl);
        put(h, "Content-Encoding", contentEncoding);
        put(h, "Content-Disposition", contentDisposition);
        put(h, "Content-Language", contentLanguage);
        put(h, "Expires", expires);
        // The stored response's Date (RFC 9110 6.6.1): when kura received it; Age counts from it.
        put(h, "Date", HttpDates.format(Instant.now()));
        if (userMetadata != null) {
            userMetadata.forEach((k, v) -> h.put("x-amz-meta-" + k, v));
        }
        return new EntryMetadata(length == null ? 0 : length, contentType, etag, lastModified, expiresAt, h);
    }

    private static void put(Map<String, String> h, String k, String v) {
        if (v != null && !v.isEmpty()) {
            h.put(k, v);
        }
    }

    private static boolean withinStaleIfError(EntryMetadata md, BucketConfig b) {
        if (b.staleIfError().isZero()) {
            return false;
        }
        Instant limit = md.expiresAt().equals(Instant.MAX) ? Instant.MAX : md.expiresAt().plus(b.staleIfError());
        return Instant.now().isBefore(limit);
    }

    private void originError(Exchange ex, OriginClient.OriginException oe) {
        if (oe.status >= 500) {
            log.warn("request {}: {} {}: {}", ex.id, ex.method, ex.uri, oe.getMessage());
        }
        ex.s3Error(oe.code, oe.getMessage());
    }

    private void internalError(Exchange ex, Throwable e) {
        log.error("request {}: {} {} failed", ex.id, ex.method, ex.uri, e);
        if (!ex.finished()) {
            ex.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error");
        }
    }

    private void safeDelete(String cacheKey) {
        try {
            cache.delete(cacheKey);
        } catch (RuntimeException e) {
            log.warn("cache delete of {} failed: {}", cacheKey, e.toString());
        }
    }

    static void closeQuietly(CacheEntry e) {
        if (e != null) {
            try {
                e.close();
            } catch (RuntimeException ignored) {
                // a handle that fails to close has nothing left to release
            }
        }
    }

    // ---------------------------------------------------------------- operations

    private void ready(Exchange ex) {
        StringBuilder sb = new StringBuilder();
        boolean all = true;
        for (Route r : routes) {
            boolean ok = r.origin().reachable();
            all &= ok;
            sb.append(r.bucket().name()).append(' ').append(ok ? "reachable" : "UNREACHABLE").append('\n');
        }
        ex.respond(all ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8", sb.toString());
    }

    /**
     * The admin API, off (404) unless {@code serve.admin-token} is set; every call needs
     * {@code Authorization: Bearer <token>}.
     * <ul>
     *   <li>{@code GET /admin/stats}: cache counters as JSON;</li>
     *   <li>{@code POST /admin/purge?key=<bucket name>/<key>}, {@code ?prefix=<bucket name>/<prefix>}
     *       or {@code ?bucket=<bucket name>}: removes entries; answers {@code {"purged": n}}.</li>
     * </ul>
     */
    private void admin(Exchange ex, String raw) {
        if (adminToken == null) {
            ex.error(HttpResponseStatus.NOT_FOUND, "the admin API is off (serve.admin-token is not set)");
            return;
        }
        String auth = ex.requestHeaders.get(HttpHeaderNames.AUTHORIZATION);
        byte[] given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)
                ? auth.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(given, adminToken)) {
            log.warn("request {}: admin call without a valid token", ex.id);
            ex.error(HttpResponseStatus.UNAUTHORIZED, "a valid bearer token is needed", "WWW-Authenticate", "Bearer");
            return;
        }
        Map<String, List<String>> q = new QueryStringDecoder(ex.uri).parameters();
        switch (raw) {
            case "/admin/stats" -> {
                if (!ex.method.equals("GET")) {
                    ex.error(HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET", "Allow", "GET");
                    return;
                }
                CacheStats s = cache.stats();
                String json = "{\"hits\":" + s.hits() + ",\"misses\":" + s.misses() + ",\"memoryHits\":" + s.memoryHits()
                        + ",\"diskHits\":" + s.diskHits() + ",\"evictions\":" + s.evictions()
                        + ",\"expirations\":" + s.expirations() + ",\"memoryBytes\":" + s.memoryBytes()
                        + ",\"memoryEntries\":" + s.memoryEntries() + ",\"diskBytes\":" + s.diskBytes()
                        + ",\"diskEntries\":" + s.diskEntries() + ",\"fillsInFlight\":" + s.fillsInFlight()
                        + ",\"recoveredEntries\":" + s.recoveredEntries() + ",\"requestsInFlight\":" + inFlight.get()
                        + "}\n";
                ex.respond(HttpResponseStatus.OK, "application/json", json);
            }
            case "/admin/purge" -> {
                if (!ex.method.equals("POST") && !ex.method.equals("DELETE")) {
                    ex.error(HttpResponseStatus.METHOD_NOT_ALLOWED, "use POST", "Allow", "POST, DELETE");
                    return;
                }
                long n;
                try {
                    if (q.containsKey("key")) {
                        n = cache.delete(q.get("key").getFirst()) ? 1 : 0;
                    } else if (q.containsKey("prefix")) {
                        String pre = q.get("prefix").getFirst();
                        if (pre.isEmpty()) {
                            ex.error(HttpResponseStatus.BAD_REQUEST, "prefix must not be empty (use bucket=)");
                            return;
                        }
                        n = cache.purgePrefix(pre);
                    } else if (q.containsKey("bucket")) {
                        String b = q.get("bucket").getFirst();
                        if (routes.stream().noneMatch(r -> r.bucket().name().equals(b))) {
                            ex.error(HttpResponseStatus.NOT_FOUND, "no bucket named '" + b + "'");
                            return;
                        }
                        n = cache.purgePrefix(b + "/");
                    } else {
                        ex.error(HttpResponseStatus.BAD_REQUEST, "give key=, prefix= or bucket=");
                        return;
                    }
                } catch (RuntimeException e) {
                    internalError(ex, e);
                    return;
                }
                log.info("request {}: admin purge {} removed {} entries", ex.id, q, n);
                ex.respond(HttpResponseStatus.OK, "application/json", "{\"purged\":" + n + "}\n");
            }
            default -> ex.error(HttpResponseStatus.NOT_FOUND, "admin endpoints: /admin/stats, /admin/purge");
        }
    }

    /** Records the finished exchange: metrics and the access-log line. */
    void finished(Exchange ex) {
        long nanos = System.nanoTime() - ex.startNanos;
        metrics.request(ex.status, ex.bucket, ex.method, ex.cacheStatus, nanos, ex.bodyBytes);
        if (config.accessLog() && ACCESS.isInfoEnabled()) {
            ACCESS.info("{} {} {} {} {} {} {} {}us", ex.id, remote(ex), ex.method, S3Front.loggable(ex.uri), ex.status,
                    ex.bodyBytes,
                    ex.cacheStatus, nanos / 1000);
        }
    }

    private static String remote(Exchange ex) {
        var a = ex.ch.remoteAddress();
        return a instanceof java.net.InetSocketAddress i ? i.getAddress().getHostAddress() : String.valueOf(a);
    }

    /** Closes the origin clients and the worker executor (waits for origin fetches up to {@code millis}). */
    void close(long millis) {
        workers.shutdown();
        try {
            workers.awaitTermination(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        workers.shutdownNow();
        front.close();
        for (Route r : routes) {
            r.origin().close();
        }
    }
}
