package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.cache.PendingEntry;
import dev.kura.s3.BucketConfig;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

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
    /** The shared tier ({@code cache.shared}): asked on a miss before the origin, fed after a fill. */
    private final SharedFills shared;
    /**
     * The failure of the last leader of a key's fill, for the followers that waited on it. An entry
     * is removed when the key's next leader starts; the map holds at most one entry per key whose
     * last fill failed, and a key that keeps failing keeps one entry.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, LeaderFailure> failures =
            new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @param sliceSize objects larger than this many bytes are cached in slices of this size
     * @param fills fill deadlines and read-ahead ({@code serve.fill})
     * @param sharedTier the shared tier, or null when {@code cache.shared} is off
     * @param share {@code serve.origin-bandwidth} (fair shares of origin bytes), or null when off
     */
    FillCoordinator(Cache cache, ProxyMetrics metrics, ExecutorService workers, long sliceSize,
                    dev.kura.s3.FillConfig fills, dev.kura.s3.internal.shared.@Nullable SharedTier sharedTier,
                    dev.kura.s3.internal.limits.@Nullable OriginShare share) {
        this.cache = cache;
        this.metrics = metrics;
        this.workers = workers;
        this.sliced = new SlicedObjects(cache, metrics, workers, fills, share);
        this.streamer = sliced.streamer();
        this.sliceSize = sliceSize;
        this.shared = new SharedFills(sharedTier, workers);
    }

    /**
     * Serves a cache entry found for {@code t} (closing it): planned against {@code md} for an
     * ordinary entry, slice by slice for an index entry. May run on the event loop.
     */
    void serve(Exchange ex, Target t, CacheEntry e, EntryMetadata md) {
        if (Slices.isIndex(md)) {
            e.close();
            sliced.serve(ex, t, md);
        } else {
            Replies.entry(ex, e, md, () -> workers.execute(() -> passThrough(ex, t)), resume(ex, t, md));
        }
    }

    /** One object request routed to a bucket: where to fetch it and under which cache key. */
    record Target(BucketConfig bucket, Origin origin, String key, @Nullable String versionId, String cacheKey) {
        String name() {
            return bucket.name();
        }
    }

    /**
     * Serves a miss or a stale hit as leader or follower of the key's fill. {@code stale} (may be
     * null) is the expired entry, closed here.
     *
     * <p>A follower streams the fill as it grows ({@link Fill.Follower#pending()}), waiting at most
     * the origin's connect and read timeouts plus a second for the fill to begin. When the fill ends
     * without beginning, the follower takes the leader's outcome if it had one (a failure: the same
     * answer, or stale-if-error; a 304: the refreshed entry), so followers of a failed fill are
     * answered together instead of retrying one after another; otherwise it asks to fill again, and
     * one of the waiting followers leads the next round.
     */
    void fetch(Exchange ex, Target t, @Nullable CacheEntry stale) {
        try {
            for (int round = 0; round < ROUNDS; round++) {
                long joined = System.nanoTime();
                Fill fill;
                try {
                    fill = cache.fill(t.cacheKey());
                } catch (RuntimeException e) {
                    log.warn("request {}: cache fill of {} failed, serving from the origin uncached: {}",
                            ex.id, t.cacheKey(), e.toString());
                    break;
                }
                if (fill instanceof Fill.Leader leader) {
                    failures.remove(t.cacheKey());
                    if (stale == null) {
                        // The lookup that missed and this fill are not one atomic step: a fill may
                        // have committed in between. Look again before going to the origin.
                        Optional<CacheEntry> now = lookup(t.cacheKey(), ex);
                        if (now.isPresent() && !now.get().metadata().isExpired(Instant.now())) {
                            leader.cancel();
                            ex.cacheStatus = CacheStatus.HIT;
                            serve(ex, t, now.get(), now.get().metadata());
                            return;
                        }
                        now.ifPresent(ProxyCore::closeQuietly);
                        if (shared.serve(ex, t, leader, this)) {
                            return; // from the shared tier, now in the local tiers too
                        }
                    }
                    lead(ex, t, leader, stale);
                    return; // lead() owns and closes stale
                }
                PendingEntry pending = awaitLeader(ex, (Fill.Follower) fill, t);
                if (pending != null) {
                    ProxyCore.closeQuietly(stale);
                    ex.cacheStatus = CacheStatus.MISS;
                    follow(ex, t, pending);
                    return;
                }
                LeaderFailure lf = failures.get(t.cacheKey());
                if (lf != null && lf.at() - joined >= 0) {
                    failed(ex, t, stale, lf.failure());
                    return;
                }
                // The leader did not begin (revalidated, not cacheable, refused): look again.
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

    /**
     * A follower's wait for its leader's fill to begin (at most the origin's timeouts plus a
     * second); traced as a "fill wait" span when tracing is on.
     *
     * @return the entry being filled, or null when the fill ended without one
     */
    private static @org.jspecify.annotations.Nullable PendingEntry awaitLeader(Exchange ex, Fill.Follower f,
                                                                             Target t) {
        long millis = OriginClient.total(t.bucket()).toMillis() + 1_000;
        Tracing.RequestTrace rt = ex.trace;
        if (rt == null) {
            return SlicedObjects.await(f.pending(), millis);
        }
        io.opentelemetry.api.trace.Span s = rt.parent.start("fill wait", io.opentelemetry.api.trace.SpanKind.INTERNAL);
        try {
            PendingEntry p = SlicedObjects.await(f.pending(), millis);
            s.setAttribute("kura.fill.joined", p != null);
            return p;
        } finally {
            s.end();
        }
    }

    /** Serves a follower from the fill it joined: the object as it is written, or an index. */
    private void follow(Exchange ex, Target t, PendingEntry pending) {
        EntryMetadata md = pending.metadata();
        if (Slices.isIndex(md)) {
            pending.close();
            sliced.serve(ex, t, md);
            return;
        }
        Replies.source(ex, BodySource.of(pending, t.cacheKey()), md, () -> workers.execute(() -> passThrough(ex, t)),
                resume(ex, t, md));
    }

    /**
     * Finishes a response whose cache source failed mid-body (a corrupt block, a fill the cache gave
     * up on) from the origin: a ranged GET of the rest guarded by the ETag, uncached.
     */
    private EntrySender.Resume resume(Exchange ex, Target t, EntryMetadata md) {
        return (from, last) -> workers.execute(() -> sliced.resume(ex, t, md.etag(), from, last));
    }

    /** How the last leader of a key's fill failed, and when (System.nanoTime). */
    private record LeaderFailure(OriginFailure failure, long at) {
    }

    private Optional<CacheEntry> lookup(String cacheKey, Exchange ex) {
        try {
            return cache.lookup(cacheKey);
        } catch (RuntimeException e) {
            log.warn("request {}: cache lookup of {} failed, going to the origin: {}", ex.id, cacheKey, e.toString());
            return Optional.empty();
        }
    }

    /** Answers an origin failure: stale-if-error when {@code stale} allows it, else the S3 error. */
    private void failed(Exchange ex, Target t, @Nullable CacheEntry stale, OriginFailure of) {
        if (stale != null && of.originDown() && withinStaleIfError(stale.metadata(), t.bucket())) {
            log.warn("request {}: origin failed ({}), serving stale {}", ex.id, of.message(), t.cacheKey());
            ex.cacheStatus = CacheStatus.STALE;
            if (Slices.isIndex(stale.metadata())) {
                stale.close();
                sliced.serve(ex, t, stale.metadata());
            } else {
                Replies.entry(ex, stale, stale.metadata(), () -> Replies.originError(ex, of), null);
            }
            return;
        }
        ProxyCore.closeQuietly(stale);
        Replies.originError(ex, of);
    }

    /**
     * The leader of a fill: one origin GET (conditional when revalidating {@code stale}), streamed
     * to the cache and the client. For a Range request it GETs only the slice holding the range's
     * first byte: a footer read of a 10 GiB object costs one slice, not the object. A suffix range
     * ({@code bytes=-n}) needs the object's size first: a HEAD.
     */
    private void lead(Exchange ex, Target t, Fill.Leader leader, @Nullable CacheEntry stale) {
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
    private void leadWithHead(Exchange ex, Target t, Fill.Leader leader, @Nullable CacheEntry stale) {
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
            RequestPlanner.Plan p = RequestPlanner.plan(false, ex.requestHeaders, object, ex.part);
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
        CacheWriter w = null;
        try {
            w = leader.begin(Slices.index(object, sliceSize));
            if (w == null) {
                log.warn("request {}: cache refused the index of {}", ex.id, t.cacheKey());
                return;
            }
            w.commit().close();
        } catch (java.io.IOException | RuntimeException e) {
            log.warn("request {}: cache refused the index of {}: {}", ex.id, t.cacheKey(), e.toString());
            if (w == null) {
                leader.cancel();
            }
        } finally {
            if (w != null) {
                w.close();
            }
        }
    }

    /** Acts on the origin's answer to the leader's request. */
    private void answered(Exchange ex, Target t, Fill.Leader leader, @Nullable CacheEntry stale, OriginResponse r,
                          long t0) {
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
                OriginFailure of = f.failure();
                // Published before the fill ends, so that its followers answer with it at once.
                failures.put(t.cacheKey(), new LeaderFailure(of, System.nanoTime()));
                leader.cancel();
                if (of.kind() == OriginFailure.Kind.NOT_FOUND) {
                    sliced.dropObject(t.cacheKey());
                }
                failed(ex, t, stale, of);
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
        OriginObject o = body.object();
        Freshness.Decision d = Freshness.decide(o.cacheControl(), o.expires(), t.bucket().defaultTtl(), Instant.now());
        EntryMetadata md = RequestPlanner.metadata(o, d.expiresAt());
        RequestPlanner.Plan p = RequestPlanner.plan(ex.isHead(), ex.requestHeaders, md, ex.part);
        boolean sliceable = o.size() > sliceSize && body.first() % sliceSize == 0;
        boolean whole = body.first() == 0 && body.length() == o.size();
        if (d.store() && sliceable) {
            // The stream is registered first, then the index published, so that followers (released
            // by the index) and later requests find the stream and follow it instead of fetching the
            // slices it is about to write; then every client, this one included, reads the slices as
            // the body fills them. (Index first let a follower that woke on it fetch slice 0 again.)
            CacheSink.Sliced sink = new CacheSink.Sliced(cache, metrics, t.cacheKey(), md, sliceSize, body.first(),
                    body.first() + body.length());
            sliced.streaming(t.cacheKey(), md.etag(), sink, () -> {
                publishIndex(ex, t, leader, md);
                if (p.hasBody()) {
                    ex.sendHead(p.head());
                    workers.execute(() -> sliced.finish(ex, t, md, sliceSize, p.first(), p.last()));
                } else {
                    Replies.bodyless(ex, p);
                }
            }, () -> streamer.fill(ex, body, sink, t.cacheKey()));
            return;
        }
        CacheWriter w = null;
        if (d.store() && whole) {
            try {
                w = leader.begin(md);
            } catch (RuntimeException e) {
                log.warn("request {}: cache refused {}: {}", ex.id, t.cacheKey(), e.toString());
            }
        }
        if (w == null) {
            // Not stored (no-store, refused, a partial body): this client alone reads the origin.
            leader.cancel();
            try (body) {
                long next = streamer.stream(ex, body, p, null, t.cacheKey());
                if (next >= 0) {
                    sliced.resume(ex, t, md.etag(), next, p.last());
                }
            }
            return;
        }
        // The fill runs at the origin's pace on this thread; the client reads it as it grows.
        CacheSink.Whole sink = new CacheSink.Whole(w, metrics, t.cacheKey());
        PendingEntry forShared = shared.reader(md, w);
        Replies.source(ex, BodySource.of(w.reader(), t.cacheKey()), md, () -> workers.execute(() -> passThrough(ex, t)),
                resume(ex, t, md));
        try {
            streamer.fill(ex, body, sink, t.cacheKey());
        } finally {
            shared.offer(t.cacheKey(), md, forShared); // closes forShared; writes only a committed fill
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
                    streamer.stream(ex, body, RequestPlanner.plan(ex.isHead(), ex.requestHeaders, md, ex.part), null, t.cacheKey());
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
                    OriginObject o = b.object();
                    Freshness.Decision d = Freshness.decide(o.cacheControl(), o.expires(), t.bucket().defaultTtl(),
                            Instant.now());
                    EntryMetadata md = RequestPlanner.metadata(o, d.expiresAt());
                    ex.cacheStatus = CacheStatus.MISS;
                    Replies.bodyless(ex, RequestPlanner.plan(true, ex.requestHeaders, md, ex.part));
                    if (d.store() && o.size() > sliceSize) {
                        indexFromHead(ex, t, md);
                    }
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

    /**
     * A HEAD miss of an object larger than the slice size stores its index entry (the metadata
     * alone, no bytes), so the next GET or Range of it finds the size and ETag in the cache and goes
     * straight to the slices it needs (no HEAD for a suffix range). A smaller object has no
     * metadata-only form in the cache and is fetched whole by its first GET.
     */
    private void indexFromHead(Exchange ex, Target t, EntryMetadata md) {
        try {
            if (cache.fill(t.cacheKey()) instanceof Fill.Leader leader) {
                publishIndex(ex, t, leader, md);
            }
        } catch (RuntimeException e) {
            log.warn("request {}: storing the index of {} after a HEAD failed: {}", ex.id, t.cacheKey(), e.toString());
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
