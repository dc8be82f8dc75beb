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

    FillCoordinator(Cache cache, ProxyMetrics metrics, ExecutorService workers) {
        this.cache = cache;
        this.metrics = metrics;
        this.workers = workers;
        this.streamer = new OriginStreamer(metrics);
    }

    /** One object request routed to a bucket: where to fetch it and under which cache key. */
    record Target(BucketConfig bucket, Origin origin, String key, String cacheKey) {
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
                    Replies.entry(ex, done.get(), done.get().metadata(), () -> workers.execute(() -> passThrough(ex, t)));
                    return;
                }
                // The leader did not commit (revalidated, failed, not cacheable): look again.
                Optional<CacheEntry> now = lookup(t.cacheKey(), ex);
                if (now.isPresent() && !now.get().metadata().isExpired(Instant.now())) {
                    // Fresh now although no entry was committed: the leader revalidated it (304).
                    ex.cacheStatus = stale != null ? CacheStatus.REVALIDATED : CacheStatus.HIT;
                    ProxyCore.closeQuietly(stale);
                    Replies.entry(ex, now.get(), now.get().metadata(), () -> workers.execute(() -> passThrough(ex, t)));
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

    /** The leader of a fill: one origin GET, streamed to the cache and the client. */
    private void lead(Exchange ex, Target t, Fill.Leader leader, CacheEntry stale) {
        String staleEtag = stale != null ? stale.metadata().etag() : null;
        OriginRequest rq = OriginRequest.whole(t.key());
        if (staleEtag != null) {
            rq = rq.ifNoneMatch(staleEtag);
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
                    Replies.entry(ex, stale, stale.metadata(), () -> Replies.originError(ex, of));
                    return;
                }
                ProxyCore.closeQuietly(stale);
                if (of.kind() == OriginFailure.Kind.NOT_FOUND) {
                    safeDelete(t.cacheKey());
                }
                Replies.originError(ex, of);
            }
            case OriginResponse.Body body -> {
                metrics.origin(t.name(), "ok", System.nanoTime() - t0);
                ProxyCore.closeQuietly(stale);
                ex.cacheStatus = CacheStatus.MISS;
                fill(ex, t, leader, body);
            }
        }
    }

    /** Writes the body to the cache (when it may be stored) and to the client. */
    private void fill(Exchange ex, Target t, Fill.Leader leader, OriginResponse.Body body) {
        // Invariant: the leader ends its fill exactly once, by begin() or cancel(), whatever
        // happens here; otherwise followers would wait for a fill that never ends.
        boolean ended = false;
        try (body) {
            OriginObject o = body.object();
            Freshness.Decision d = Freshness.decide(o.cacheControl(), t.bucket().defaultTtl(), Instant.now());
            EntryMetadata md = RequestPlanner.metadata(o, d.expiresAt());
            CacheWriter w = null;
            if (d.store()) {
                try {
                    ended = true;
                    w = leader.begin(md);
                } catch (RuntimeException e) {
                    log.warn("request {}: cache refused {}: {}", ex.id, t.cacheKey(), e.toString());
                    leader.cancel();
                }
            } else {
                ended = true;
                leader.cancel();
            }
            streamer.stream(ex, body, md, w, t.cacheKey());
        } finally {
            if (!ended) {
                leader.cancel();
            }
        }
    }

    private void revalidated(Exchange ex, Target t, Fill.Leader leader, CacheEntry stale,
                             OriginResponse.NotModified nm) {
        EntryMetadata old = stale.metadata();
        String cc = nm.cacheControl() != null ? nm.cacheControl() : old.headers().get("Cache-Control");
        Freshness.Decision d = Freshness.decide(cc, t.bucket().defaultTtl(), Instant.now());
        EntryMetadata fresh = old.withExpiresAt(d.expiresAt());
        try {
            cache.updateMetadata(t.cacheKey(), old.etag(), fresh);
        } catch (RuntimeException e) {
            log.warn("request {}: cache update of {} failed: {}", ex.id, t.cacheKey(), e.toString());
        }
        leader.cancel();
        ex.cacheStatus = CacheStatus.REVALIDATED;
        Replies.entry(ex, stale, fresh, () -> workers.execute(() -> passThrough(ex, t)));
    }

    /** An origin fetch without the cache (after a cache fault, or when a fill keeps failing). */
    void passThrough(Exchange ex, Target t) {
        long t0 = System.nanoTime();
        OriginResponse r = t.origin().get(OriginRequest.whole(t.key()));
        switch (r) {
            case OriginResponse.Body body -> {
                metrics.origin(t.name(), "ok", System.nanoTime() - t0);
                ex.cacheStatus = CacheStatus.MISS;
                try (body) {
                    OriginObject o = body.object();
                    EntryMetadata md = RequestPlanner.metadata(o, Instant.now());
                    streamer.stream(ex, body, md, null, t.cacheKey());
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
            OriginResponse r = t.origin().head(t.key(), null);
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

    private void safeDelete(String cacheKey) {
        try {
            cache.delete(cacheKey);
        } catch (RuntimeException e) {
            log.warn("cache delete of {} failed: {}", cacheKey, e.toString());
        }
    }
}
