package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.s3.BucketConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Serves misses and stale hits from the origin, one fill per cache key at a time.
 *
 * <p>Design. {@link Cache#fill} makes the first request for a key the leader and later ones its
 * followers (single flight: concurrent misses on one key make one origin GET). The leader GETs the
 * object (conditionally, with the stale entry's ETag, when revalidating) and hands the body to an
 * {@link OriginStreamer}, which writes it to the cache and to the leader's client. Followers wait for
 * the committed entry and serve it; when the fill ends without an entry (a 304, an uncacheable
 * answer, a failure) they look again, and after a few rounds fetch for themselves, uncached.
 *
 * <ul>
 *   <li>304: the stale entry's freshness is refreshed ({@link Cache#updateMetadata}) and it is
 *       served ({@code X-Cache: REVALIDATED}).</li>
 *   <li>Origin down and the stale entry within {@code stale-if-error} (RFC 5861 4): served stale
 *       ({@code STALE}).</li>
 *   <li>404: any cached entry of the key is dropped.</li>
 * </ul>
 * A cache fault never fails a request: the request is served from the origin, uncached.
 *
 * <p>Every method here blocks on the origin and runs on a virtual thread of {@code workers}.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class FillCoordinator {
    private static final Logger log = LoggerFactory.getLogger(FillCoordinator.class);
    /** Rounds of "the fill ended without an entry: look again" before a follower fetches alone. */
    private static final int ROUNDS = 3;

    private final Cache cache;
    private final ProxyMetrics metrics;
    private final ExecutorService workers;
    private final OriginStreamer streamer;
    private final SlicedObjects sliced;
    private final long sliceSize;

    /** @param sliceSize objects larger than this many bytes are cached in slices of this size */
    FillCoordinator(Cache cache, ProxyMetrics metrics, ExecutorService workers, long sliceSize) {
        this.cache = cache;
        this.metrics = metrics;
        this.workers = workers;
        this.sliced = new SlicedObjects(cache, metrics, workers);
        this.streamer = sliced.streamer();
        this.sliceSize = sliceSize;
    }

    /**
     * Serves a cache entry found for {@code t} (closing it): planned against {@code md} for an
     * ordinary entry, slice by slice for an index entry. May run on the event loop.
     */
    void serve(Exchange ex, Target t, CacheEntry e, EntryMetadata md) {
        if (Slices.isIndex(md)) {
            sliced.serve(ex, t, e, md);
        } else {
            Replies.entry(ex, e, md, () -> workers.execute(() -> passThrough(ex, t)));
        }
    }

    /** One object request routed to a bucket: where to fetch it and under which cache key. */
    record Target(BucketConfig bucket, Origin origin, String key, String versionId, String cacheKey) {
        String name() {
            return bucket.name();
        }
    }

    /**
     * Serves a miss or a stale hit as leader or follower of the key's fill. {@code stale} (may be
     * null) is the expired entry, closed here.
     */
    void fetch(Exchange ex, Target t, CacheEntry stale) {
        try {
            for (int round = 0; round < ROUNDS; round++) {
                Fill fill;
                try {
                    fill = cache.fill(t.cacheKey());
                } catch (RuntimeException e) {
                    log.warn("request {}: cache fill of {} failed, serving from the origin uncached: {}",
                            ex.id, t.cacheKey(), e.toString());
                    break;
                }
                if (fill instanceof Fill.Leader leader) {
                    lead(ex, t, leader, stale);
                    return; // lead() owns and closes stale
                }
                Fill.Follower follower = (Fill.Follower) fill;
                Optional<CacheEntry> done = await(follower, t.bucket());
                if (done.isPresent()) {
                    ProxyCore.closeQuietly(stale);
                    ex.cacheStatus = CacheStatus.MISS;
                    serve(ex, t, done.get(), done.get().metadata());
                    return;
                }
                // The leader did not commit (revalidated, failed, not cacheable): look again.
                Optional<CacheEntry> now = lookup(t.cacheKey(), ex);
                if (now.isPresent() && !now.get().metadata().isExpired(Instant.now())) {
                    // Fresh now although no entry was committed: the leader revalidated it (304).
                    ex.cacheStatus = stale != null ? CacheStatus.REVALIDATED : CacheStatus.HIT;
                    ProxyCore.closeQuietly(stale);
                    serve(ex, t, now.get(), now.get().metadata());
                    return;
                }
                now.ifPresent(ProxyCore::closeQuietly);
            }
            ProxyCore.closeQuietly(stale);
            passThrough(ex, t);
        } catch (RuntimeException e) {
            ProxyCore.closeQuietly(stale);
            Replies.internalError(ex, e);
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

    private static Optional<CacheEntry> await(Fill.Follower f, BucketConfig b) {
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

    /**
     * The leader of a fill: one origin GET (conditional when revalidating {@code stale}), streamed
     * to the cache and the client. For a Range request it GETs only the slice holding the range's
     * first byte: a footer read of a 10 GiB object costs one slice, not the object. A suffix range
     * ({@code bytes=-n}) needs the object's size first: a HEAD.
     */
    private void lead(Exchange ex, Target t, Fill.Leader leader, CacheEntry stale) {
        String range = ex.requestHeaders.get(io.netty.handler.codec.http.HttpHeaderNames.RANGE);
        long firstByte = Slices.firstByte(range);
        if (range != null && firstByte < 0 && ByteRanges.parse(range, Long.MAX_VALUE) instanceof ByteRanges.Single) {
            leadWithHead(ex, t, leader, stale);
            return;
        }
        OriginRequest rq = new OriginRequest(t.key(), t.versionId(), null, null, -1, -1);
        if (firstByte >= 0) {
            long first = Slices.start(sliceSize, Slices.of(firstByte, sliceSize));
            rq = rq.range(first, first + sliceSize - 1);
        }
        if (stale != null && stale.metadata().etag() != null) {
            rq = rq.ifNoneMatch(stale.metadata().etag());
        }
        long t0 = System.nanoTime();
        OriginResponse r;
        try {
            r = t.origin().get(rq);
        } catch (RuntimeException e) {
            leader.cancel();
            ProxyCore.closeQuietly(stale);
            throw e;
        }
        answered(ex, t, leader, stale, r, t0);
    }

    /** A suffix-range miss: HEAD for the size, then the slices (or the whole small object). */
    private void leadWithHead(Exchange ex, Target t, Fill.Leader leader, CacheEntry stale) {
        long t0 = System.nanoTime();
        OriginResponse r;
        try {
            r = t.origin().head(t.key(), t.versionId());
        } catch (RuntimeException e) {
            leader.cancel();
            ProxyCore.closeQuietly(stale);
            throw e;
        }
        if (r instanceof OriginResponse.Body b && b.object().size() <= sliceSize) {
            // Small: one whole GET, as for any other miss (conditional when revalidating).
            metrics.origin(t.name(), "ok", System.nanoTime() - t0);
            OriginRequest rq = new OriginRequest(t.key(), t.versionId(), null, null, -1, -1);
            if (stale != null && stale.metadata().etag() != null) {
                rq = rq.ifNoneMatch(stale.metadata().etag());
            }
            long t1 = System.nanoTime();
            answered(ex, t, leader, stale, t.origin().get(rq), t1);
            return;
        }
        if (r instanceof OriginResponse.Body b) {
            metrics.origin(t.name(), "ok", System.nanoTime() - t0);
            OriginObject o = b.object();
            Freshness.Decision d = Freshness.decide(o.cacheControl(), o.expires(), t.bucket().defaultTtl(), Instant.now());
            EntryMetadata object = RequestPlanner.metadata(o, d.expiresAt());
            boolean same = stale != null && o.etag() != null && o.etag().equals(stale.metadata().etag());
            ProxyCore.closeQuietly(stale);
            ex.cacheStatus = same ? CacheStatus.REVALIDATED : CacheStatus.MISS;
            if (!d.store()) {
                leader.cancel();
                passThrough(ex, t);
                return;
            }
            if (stale != null && !same) {
                sliced.dropObject(t.cacheKey());
            }
            publishIndex(ex, t, leader, object);
            RequestPlanner.Plan p = RequestPlanner.plan(false, ex.requestHeaders, object);
            if (!p.hasBody()) {
                Replies.bodyless(ex, p);
                return;
            }
            ex.sendHead(p.head());
            sliced.finish(ex, t, object, sliceSize, p.first(), p.last());
            return;
        }
        answered(ex, t, leader, stale, r, t0);
    }

    /** Commits the index entry of a sliced object (ends the leader's fill). */
    private void publishIndex(Exchange ex, Target t, Fill.Leader leader, EntryMetadata object) {
        try (CacheWriter w = leader.begin(Slices.index(object, sliceSize))) {
            w.commit().close();
        } catch (java.io.IOException | RuntimeException e) {
            log.warn("request {}: cache refused the index of {}: {}", ex.id, t.cacheKey(), e.toString());
        }
    }

    /** Acts on the origin's answer to the leader's request. */
    private void answered(Exchange ex, Target t, Fill.Leader leader, CacheEntry stale, OriginResponse r, long t0) {
        switch (r) {
            case OriginResponse.NotModified nm -> {
                metrics.origin(t.name(), "not_modified", System.nanoTime() - t0);
                if (stale == null) { // cannot happen: no If-None-Match was sent
                    leader.cancel();
                    passThrough(ex, t);
                    return;
                }
                revalidated(ex, t, leader, stale, nm);
            }
            case OriginResponse.Failed f -> {
                metrics.origin(t.name(), "error", System.nanoTime() - t0);
                metrics.originError(t.name(), f.failure().kind().label());
                leader.cancel();
                OriginFailure of = f.failure();
                if (stale != null && of.originDown() && withinStaleIfError(stale.metadata(), t.bucket())) {
                    log.warn("request {}: origin failed ({}), serving stale {}", ex.id, of.message(), t.cacheKey());
                    ex.cacheStatus = CacheStatus.STALE;
                    if (Slices.isIndex(stale.metadata())) {
                        sliced.serve(ex, t, stale, stale.metadata());
                    } else {
                        Replies.entry(ex, stale, stale.metadata(), () -> Replies.originError(ex, of));
                    }
                    return;
                }
                ProxyCore.closeQuietly(stale);
                if (of.kind() == OriginFailure.Kind.NOT_FOUND) {
                    sliced.dropObject(t.cacheKey());
                }
                Replies.originError(ex, of);
            }
            case OriginResponse.Body body -> {
                metrics.origin(t.name(), "ok", System.nanoTime() - t0);
                boolean changed = stale != null && Slices.isIndex(stale.metadata())
                        && !java.util.Objects.equals(stale.metadata().etag(), body.object().etag());
                ProxyCore.closeQuietly(stale);
                if (changed) {
                    sliced.dropObject(t.cacheKey());
                }
                ex.cacheStatus = CacheStatus.MISS;
                fill(ex, t, leader, body);
            }
        }
    }

    /**
     * Writes the body to the cache (when it may be stored: as one entry, or for an object larger
     * than the slice size as an index entry and the slices the body covers) and to the client.
     */
    private void fill(Exchange ex, Target t, Fill.Leader leader, OriginResponse.Body body) {
        // Invariant: the leader ends its fill exactly once, by begin() or cancel(), whatever
        // happens here; otherwise followers would wait for a fill that never ends.
        boolean ended = false;
        try (body) {
            OriginObject o = body.object();
            Freshness.Decision d = Freshness.decide(o.cacheControl(), o.expires(), t.bucket().defaultTtl(), Instant.now());
            EntryMetadata md = RequestPlanner.metadata(o, d.expiresAt());
            RequestPlanner.Plan p = RequestPlanner.plan(ex.isHead(), ex.requestHeaders, md);
            CacheSink sink = null;
            boolean sliceable = o.size() > sliceSize && body.first() % sliceSize == 0;
            boolean whole = body.first() == 0 && body.length() == o.size();
            if (d.store() && sliceable) {
                ended = true;
                publishIndex(ex, t, leader, md);
                sink = new CacheSink.Sliced(cache, metrics, t.cacheKey(), md, sliceSize, body.first());
            } else if (d.store() && whole) {
                try {
                    ended = true;
                    sink = new CacheSink.Whole(leader.begin(md), metrics, t.cacheKey());
                } catch (RuntimeException e) {
                    log.warn("request {}: cache refused {}: {}", ex.id, t.cacheKey(), e.toString());
                    leader.cancel();
                }
            } else {
                ended = true;
                leader.cancel();
            }
            long next = streamer.stream(ex, body, p, sink, t.cacheKey());
            if (next >= 0) {
                if (Slices.isIndex(Slices.index(md, sliceSize)) && sink instanceof CacheSink.Sliced) {
                    sliced.finish(ex, t, md, sliceSize, next, p.last());
                } else {
                    rest(ex, t, md, next, p.last());
                }
            }
        } finally {
            if (!ended) {
                leader.cancel();
            }
        }
    }

    /** Streams bytes {@code from..last} of an object uncached, after its head was sent. */
    private void rest(Exchange ex, Target t, EntryMetadata md, long from, long last) {
        OriginResponse r = t.origin().get(new OriginRequest(t.key(), t.versionId(), null, md.etag(), from, last));
        if (!(r instanceof OriginResponse.Body b) || b.first() != from) {
            if (r instanceof OriginResponse.Body b) {
                b.close();
            }
            ex.abort();
            return;
        }
        try (b) {
            ClientSink sink = new ClientSink(ex, from, last);
            byte[] buf = new byte[64 * 1024];
            long pos = from;
            int n;
            while ((n = b.body().read(buf)) >= 0) {
                if (!sink.offer(buf, n, pos)) {
                    return;
                }
                pos += n;
            }
            if (sink.complete(pos)) {
                ex.end();
            } else {
                ex.abort();
            }
        } catch (java.io.IOException e) {
            log.warn("request {}: origin body of {} failed: {}", ex.id, t.cacheKey(), e.toString());
            ex.abort();
        }
    }

    /**
     * A 304 to the revalidation of {@code stale}: its freshness is refreshed with a metadata
     * update (RFC 9111 4.3.4) and it is served, {@code X-Cache: REVALIDATED}.
     */
    private void revalidated(Exchange ex, Target t, Fill.Leader leader, CacheEntry stale,
                             OriginResponse.NotModified nm) {
        EntryMetadata old = stale.metadata();
        String cc = nm.cacheControl() != null ? nm.cacheControl() : old.headers().get("Cache-Control");
        String expires = nm.expires() != null ? nm.expires() : old.headers().get("Expires");
        Freshness.Decision d = Freshness.decide(cc, expires, t.bucket().defaultTtl(), Instant.now());
        // A 304 refreshes the stored response (RFC 9111 4.3.4): a new Date, so Age starts again.
        java.util.Map<String, String> hs = new java.util.LinkedHashMap<>(old.headers());
        hs.put("Date", HttpDates.format(Instant.now()));
        EntryMetadata fresh = new EntryMetadata(old.size(), old.contentType(), old.etag(), old.lastModified(),
                d.expiresAt(), hs);
        try {
            cache.updateMetadata(t.cacheKey(), old.etag(), fresh);
        } catch (RuntimeException e) {
            log.warn("request {}: cache update of {} failed: {}", ex.id, t.cacheKey(), e.toString());
        }
        leader.cancel();
        ex.cacheStatus = CacheStatus.REVALIDATED;
        serve(ex, t, stale, fresh);
    }

    /** An origin fetch without the cache (after a cache fault, or when a fill keeps failing). */
    void passThrough(Exchange ex, Target t) {
        long t0 = System.nanoTime();
        OriginResponse r = t.origin().get(new OriginRequest(t.key(), t.versionId(), null, null, -1, -1));
        switch (r) {
            case OriginResponse.Body body -> {
                metrics.origin(t.name(), "ok", System.nanoTime() - t0);
                ex.cacheStatus = CacheStatus.MISS;
                try (body) {
                    EntryMetadata md = RequestPlanner.metadata(body.object(), Instant.now());
                    streamer.stream(ex, body, RequestPlanner.plan(ex.isHead(), ex.requestHeaders, md), null, t.cacheKey());
                }
            }
            case OriginResponse.Failed f -> {
                metrics.origin(t.name(), "error", System.nanoTime() - t0);
                metrics.originError(t.name(), f.failure().kind().label());
                Replies.originError(ex, f.failure());
            }
            case OriginResponse.NotModified nm -> Replies.internalError(ex,
                    new IllegalStateException("304 to an unconditional GET"));
        }
    }

    /** A HEAD miss: the origin's answer, planned against the request's preconditions. */
    void headFromOrigin(Exchange ex, Target t) {
        long t0 = System.nanoTime();
        try {
            OriginResponse r = t.origin().head(t.key(), t.versionId());
            switch (r) {
                case OriginResponse.Body b -> {
                    metrics.origin(t.name(), "ok", System.nanoTime() - t0);
                    EntryMetadata md = RequestPlanner.metadata(b.object(), Instant.now());
                    ex.cacheStatus = CacheStatus.MISS;
                    Replies.bodyless(ex, RequestPlanner.plan(true, ex.requestHeaders, md));
                }
                case OriginResponse.Failed f -> {
                    metrics.origin(t.name(), "error", System.nanoTime() - t0);
                    metrics.originError(t.name(), f.failure().kind().label());
                    Replies.originError(ex, f.failure());
                }
                case OriginResponse.NotModified nm -> Replies.internalError(ex,
                        new IllegalStateException("304 to a HEAD"));
            }
        } catch (RuntimeException e) {
            Replies.internalError(ex, e);
        }
    }

    private static boolean withinStaleIfError(EntryMetadata md, BucketConfig b) {
        if (b.staleIfError().isZero()) {
            return false;
        }
        Instant limit = md.expiresAt().equals(Instant.MAX) ? Instant.MAX : md.expiresAt().plus(b.staleIfError());
        return Instant.now().isBefore(limit);
    }

}
