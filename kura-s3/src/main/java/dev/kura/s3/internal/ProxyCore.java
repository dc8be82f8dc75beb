package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.EntryMetadata;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.ServeConfig;
import dev.kura.s3.internal.api.S3ErrorCode;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The proxy's front: routes a request to a bucket, serves fresh hits, and hands misses and stale
 * hits to the {@link FillCoordinator}. (The ops endpoints are kura-net's {@code OpsServer}, on their own
 * listener, started by {@link Server}; serve's readiness and admin routes are {@link OpsHandler}'s.)
 *
 * <p>Design. A request is routed by the longest bucket prefix of its decoded path; the object key
 * is the rest. The cache key is {@code <bucket name>/<key>}. A fresh hit is served on the event
 * loop from the cache entry ({@link Replies#entry}, planned by {@link RequestPlanner}: preconditions
 * (RFC 9110 13.2.2) and Range (14.2) against the entry's metadata), {@code X-Cache: HIT}. A miss,
 * a stale hit and a HEAD miss go to a virtual thread, where {@link FillCoordinator} talks to the
 * {@link Origin}. A cache fault (lookup error, failed write, full disk, corrupt block) never fails a
 * request: the request goes to the origin.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public final class ProxyCore {
    private static final Logger log = LoggerFactory.getLogger(ProxyCore.class);
    /** Objects larger than this are cached in slices of this size (bytes). */
    static final long DEFAULT_SLICE_SIZE = dev.kura.s3.ProxyServer.DEFAULT_SLICE_SIZE;

    private final Cache cache;
    private final java.util.function.Function<BucketConfig, Origin> origins;
    /** The snapshot new requests take; swapped by {@link #swap}. */
    private final AtomicReference<ServeState> state = new AtomicReference<>();
    /** Origins of retired snapshots that are draining; closed by {@link #close} if still here. */
    private final Set<CountedOrigin> draining = ConcurrentHashMap.newKeySet();
    final ProxyMetrics metrics;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    final AtomicInteger inFlight = new AtomicInteger();
    private final FillCoordinator fills;
    /** {@code cache.shared}, or null when off; closed by {@link #close}. */
    private final dev.kura.s3.internal.shared.@Nullable SharedTier sharedTier;
    private final S3Front front;
    /** {@code serve.rate-limits}: admission in {@link S3Front}, bytes charged in {@link #finished}. */
    final dev.kura.s3.internal.limits.Throttle throttle;
    /** {@code serve.tracing}, fixed at start (a restart-only key); {@link Tracing#OFF} by default. */
    final Tracing tracing;

    /** Byte ranges of parts learnt from the origins, for GetObject/HeadObject with partNumber. */
    final PartRanges partRanges = new PartRanges();

    /** A bucket and its origin. */
    record Route(BucketConfig bucket, Origin origin) {
    }

    /** A proxy whose buckets are served by AWS SDK origins ({@link OriginClient}). */
    public ProxyCore(ServeConfig config, Cache cache) {
        this(config, cache, DEFAULT_SLICE_SIZE);
    }

    /**
     * A proxy whose buckets are served by AWS SDK origins ({@link OriginClient}), one per endpoint,
     * with each bucket's retries, breakers, failover and hedging ({@link ResilientOrigin}).
     *
     * @param sliceSize objects larger than this many bytes are cached in slices of this size
     */
    ProxyCore(ServeConfig config, Cache cache, long sliceSize) {
        this(config, cache, sliceSize, newRegistry(), Tracing.of(config.tracing()), null);
    }

    /**
     * As {@link #ProxyCore(ServeConfig, Cache, long)}, with the meters in {@code registry} (the
     * process's one registry, made by the {@code kura} command), traces through {@code tracing}
     * (usually {@code serve.tracing}'s) and the shared tier {@code shared} ({@code cache.shared};
     * null or not enabled: none).
     */
    ProxyCore(ServeConfig config, Cache cache, long sliceSize, PrometheusMeterRegistry registry, Tracing tracing,
              dev.kura.s3.@Nullable SharedCacheConfig shared) {
        this(config, cache, (b, events) -> ResilientOrigin.of(b, OriginClient::new, events), sliceSize, registry,
                tracing, shared);
    }

    /**
     * A proxy whose bucket origins come from {@code origins} (tests pass a fake origin here).
     *
     * @param origins makes the origin of one bucket; called once per bucket, here
     * @param sliceSize objects larger than this many bytes are cached in slices of this size
     */
    ProxyCore(ServeConfig config, Cache cache, java.util.function.Function<BucketConfig, Origin> origins,
              long sliceSize) {
        this(config, cache, (b, events) -> origins.apply(b), sliceSize, newRegistry(), Tracing.of(config.tracing()),
                null);
    }

    private static PrometheusMeterRegistry newRegistry() {
        return new PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
    }

    /** @param origins makes the origin of one bucket, reporting to the given events (metrics) */
    private ProxyCore(ServeConfig config, Cache cache,
                      java.util.function.BiFunction<BucketConfig, OriginEvents, Origin> origins, long sliceSize,
                      PrometheusMeterRegistry registry, Tracing tracing,
                      dev.kura.s3.@Nullable SharedCacheConfig shared) {
        this.cache = cache;
        this.tracing = tracing;
        this.metrics = new ProxyMetrics(cache, config.buckets().stream().map(BucketConfig::name).toList(), registry);
        this.throttle = new dev.kura.s3.internal.limits.Throttle(config.rateLimits(),
                config.buckets().stream().map(BucketConfig::name).toList());
        this.origins = b -> origins.apply(b, metrics);
        ServeState first = ServeState.of(config, null, this.origins, workers, java.time.Clock.systemUTC());
        state.set(first);
        this.sharedTier = dev.kura.s3.internal.shared.SharedTier.start(shared, metrics.registry,
                ProxyMetrics.LATENCY_BUCKETS);
        // serve.origin-bandwidth (restart-only): every fill's origin reads share one budget by weight.
        this.fills = new FillCoordinator(cache, metrics, workers, sliceSize, config.fill(), sharedTier,
                dev.kura.s3.internal.limits.OriginShare.of(config.originBandwidth()));
        this.front = new S3Front(this);
    }

    /** The bucket mappings of the current snapshot, longest prefix first. */
    List<Route> routes() {
        return current().routes;
    }

    /** The config in force for requests starting now. */
    ServeConfig config() {
        return current().config;
    }

    /** The snapshot requests starting now take. */
    ServeState state() {
        return current();
    }

    /** The current snapshot: the constructor sets the first, {@link #swap} replaces it, nothing clears it. */
    private ServeState current() {
        return java.util.Objects.requireNonNull(state.get(), "no config snapshot");
    }

    /** The fill coordinator ({@link Warmer}'s client-less GETs go through it too). */
    FillCoordinator fills() {
        return fills;
    }

    /** The cache this proxy serves from. */
    Cache cache() {
        return cache;
    }

    /**
     * Takes the current snapshot for one request ({@link ServeState#retain}); the request gives it
     * back in {@link #finished}. The re-check makes sure a retiring snapshot's count can only fall
     * once it has been swapped out: a request either counts on the snapshot still current, or
     * retries on the new one.
     */
    private ServeState acquire() {
        while (true) {
            ServeState s = current();
            s.retain();
            if (state.get() == s) {
                return s;
            }
            s.release();
        }
    }

    /**
     * Makes {@code next} the config of every request that starts from now on. Origins of buckets
     * that are unchanged carry over; those of removed or changed buckets drain (the old snapshot's
     * requests finish, their origin calls end) and then close, on a virtual thread, waiting at most
     * {@code serve.shutdown-timeout}.
     *
     * @return the previous config
     * @throws RuntimeException when the new snapshot cannot be built (then nothing changed)
     */
    synchronized ServeConfig swap(ServeConfig next) {
        ServeState old = current();
        ServeState fresh = ServeState.of(next, old, origins, workers, java.time.Clock.systemUTC());
        state.set(fresh);
        metrics.buckets(fresh.routes.stream().map(x -> x.bucket().name()).toList());
        Set<Origin> kept = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        fresh.routes.forEach(r -> kept.add(r.origin()));
        List<CountedOrigin> retired = new ArrayList<>();
        for (Route r : old.routes) {
            if (!kept.contains(r.origin())) {
                retired.add((CountedOrigin) r.origin());
            }
        }
        draining.addAll(retired);
        long deadline = System.nanoTime() + next.shutdownTimeout().toNanos();
        Thread.ofVirtual().name("kura-drain").start(() -> drain(old, fresh, retired, deadline));
        return old.config;
    }

    /** Waits for {@code old}'s requests and the retired origins' calls to end, then closes them. */
    private void drain(ServeState old, ServeState fresh, List<CountedOrigin> retired, long deadline) {
        try {
            while (System.nanoTime() < deadline
                    && (old.holds() > 0 || retired.stream().anyMatch(o -> o.active() > 0))) {
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        int left = old.holds() + retired.stream().mapToInt(CountedOrigin::active).sum();
        if (left > 0) {
            log.warn("reload: {} requests or origin calls of the previous config still running after "
                    + "serve.shutdown-timeout; closing its origin clients under them", left);
        }
        old.closeOwn(fresh);
        for (CountedOrigin o : retired) {
            if (draining.remove(o)) {
                o.close();
            }
        }
        if (!retired.isEmpty()) {
            log.info("reload: {} origin clients of removed or changed buckets drained and closed", retired.size());
        }
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
        ServeState s = acquire();
        ex.state = s;
        front.handle(ex, s);
    }

    /**
     * Serves GetObject or HeadObject of {@code key} in {@code bucket} (routed and authorized by
     * {@link S3Front}); {@code ex.versionId} selects a version. Runs on the event loop.
     */
    void serveObject(Exchange ex, ServeState state, BucketConfig bucket, String key) {
        Route route = state.route(bucket.name());
        if (route == null) {
            throw new IllegalStateException("bucket " + bucket.name() + " was routed but has no route in its snapshot");
        }
        if (ex.partNumber > 0 && ex.requestHeaders.contains(HttpHeaderNames.RANGE)) {
            // S3 refuses the two together (S3 API reference, GetObject, partNumber).
            ex.s3Error(S3ErrorCode.INVALID_REQUEST,
                    "Cannot specify both Range header and partNumber query parameter");
            return;
        }
        // A version is immutable: it is cached under its own key. NUL cannot occur in a key
        // (RequestPath refuses it), so no plain key can collide with a version's.
        String cacheKey = route.bucket().name() + "/" + key + (ex.versionId == null ? "" : "\u0000v=" + ex.versionId);
        // Every origin call of this request carries its id (and trace) to the origin: OriginCall.
        FillCoordinator.Target t = new FillCoordinator.Target(route.bucket(),
                new OriginCall.Bound(route.origin(), OriginCall.of(ex)), key, ex.versionId, cacheKey);
        Tracing.RequestTrace rt = ex.trace;
        if (rt != null) {
            lookupTraced(ex, t, rt);
            return;
        }
        // The event loop never waits on the disk: the lookup opens the entry asynchronously, and
        // the answer continues on the channel's event loop.
        lookupAsync(t.cacheKey(), ex).whenComplete((hit, err) -> ex.ch.eventLoop().execute(() ->
                serveLookedUp(ex, t, hit)));
    }

    /**
     * {@link #serveObject}'s lookup with spans: "cache lookup" (the index lookup and the open of
     * the entry's file), then for a fresh hit "cache read" until the response ends.
     */
    private void lookupTraced(Exchange ex, FillCoordinator.Target t, Tracing.RequestTrace rt) {
        io.opentelemetry.api.trace.Span s = rt.parent.start("cache lookup", io.opentelemetry.api.trace.SpanKind.INTERNAL);
        lookupAsync(t.cacheKey(), ex).whenComplete((hit, err) -> ex.ch.eventLoop().execute(() -> {
            s.setAttribute("kura.cache.found", hit != null && hit.isPresent());
            if (hit != null && hit.isPresent()) {
                String tier = hit.get().tier().name().toLowerCase(java.util.Locale.ROOT);
                s.setAttribute(Tracing.TIER, tier);
                if (!hit.get().metadata().isExpired(Instant.now())) {
                    io.opentelemetry.api.trace.Span read = rt.parent.start("cache read",
                            io.opentelemetry.api.trace.SpanKind.INTERNAL);
                    read.setAttribute(Tracing.TIER, tier);
                    rt.read = read;
                }
            }
            s.end();
            serveLookedUp(ex, t, hit == null ? Optional.empty() : hit);
        }));
    }

    private void serveLookedUp(Exchange ex, FillCoordinator.Target t, Optional<CacheEntry> hit) {
        if (ex.partNumber > 0 && ex.part == null) {
            servePart(ex, t, hit);
            return;
        }
        if (hit.isPresent()) {
            CacheEntry e = hit.get();
            if (!e.metadata().isExpired(Instant.now())) {
                ex.cacheStatus = CacheStatus.HIT;
                fills.serve(ex, t, e, e.metadata());
                return;
            }
            workers.execute(() -> fills.fetch(ex, t, e));
            return;
        }
        if (ex.isHead()) {
            workers.execute(() -> fills.headFromOrigin(ex, t));
        } else {
            workers.execute(() -> fills.fetch(ex, t, null));
        }
    }

    /**
     * GetObject or HeadObject with {@code partNumber}: resolves the part's byte range
     * ({@link PartRanges}: remembered for the cached version, or implied by its ETag, else one
     * origin HEAD with partNumber on a virtual thread), then serves it as the equivalent Range
     * request through the ordinary path ({@link #serveLookedUp} with {@code ex.part} set). A fresh
     * entry of another version than the origin's part answer is treated as stale (revalidated),
     * so the part is never cut out of the wrong version. Runs on the event loop.
     */
    private void servePart(Exchange ex, FillCoordinator.Target t, Optional<CacheEntry> hit) {
        EntryMetadata md = freshObjectMetadata(hit);
        if (md != null) {
            PartRanges.Resolved known = partRanges.known(t.cacheKey(), md.etag(), md.size(), ex.partNumber);
            if (known != null) {
                partResolved(ex, t, hit, known);
                return;
            }
        }
        workers.execute(() -> {
            PartRanges.Resolved r;
            long t0 = System.nanoTime();
            try {
                r = partRanges.learn(t.origin(), t.cacheKey(), t.key(), t.versionId(), ex.partNumber);
                // the HEAD with partNumber is an origin request like any other (a 416 for a part
                // that does not exist is an answer, not an error)
                metrics.origin(t.name(), r instanceof PartRanges.OriginFailed ? "error" : "ok",
                        System.nanoTime() - t0);
            } catch (RuntimeException e) {
                hit.ifPresent(ProxyCore::closeQuietly);
                Replies.internalError(ex, e);
                return;
            }
            ex.ch.eventLoop().execute(() -> partResolved(ex, t, hit, r));
        });
    }

    /** The object metadata of a fresh hit (an index entry's object), or null for a miss or a stale hit. */
    private static @Nullable EntryMetadata freshObjectMetadata(Optional<CacheEntry> hit) {
        if (hit.isEmpty() || hit.get().metadata().isExpired(Instant.now())) {
            return null;
        }
        EntryMetadata md = hit.get().metadata();
        return Slices.isIndex(md) ? Slices.object(md) : md;
    }

    /** Serves a resolved part (or its refusal). Runs on the event loop. */
    private void partResolved(Exchange ex, FillCoordinator.Target t, Optional<CacheEntry> hit,
                              PartRanges.Resolved r) {
        switch (r) {
            case PartRanges.Refused no -> {
                hit.ifPresent(ProxyCore::closeQuietly);
                ex.s3Error(no.code(), no.message());
            }
            case PartRanges.OriginFailed f -> {
                hit.ifPresent(ProxyCore::closeQuietly);
                Replies.originError(ex, f.failure());
            }
            case PartRanges.Found found -> {
                PartRanges.Part part = found.part();
                ex.part = part;
                if (part.last() >= part.first()) {
                    // The equivalent Range request: the fill path fetches the slices it covers, and
                    // the access log shows the bytes served.
                    ex.requestHeaders.set(HttpHeaderNames.RANGE,
                            "bytes=" + part.first() + "-" + part.last());
                }
                EntryMetadata md = freshObjectMetadata(hit);
                if (md != null && !part.sameVersion(md.etag(), md.size())) {
                    // The cache holds another version than the origin's: revalidate it as if stale.
                    CacheEntry e = hit.get();
                    workers.execute(() -> fills.fetch(ex, t, e));
                    return;
                }
                serveLookedUp(ex, t, hit);
            }
        }
    }

    /** {@link Cache#lookupAsync}; a failed lookup is a miss (logged), never a failed request. */
    private java.util.concurrent.CompletableFuture<Optional<CacheEntry>> lookupAsync(String cacheKey, Exchange ex) {
        java.util.concurrent.CompletableFuture<Optional<CacheEntry>> f;
        try {
            f = cache.lookupAsync(cacheKey);
        } catch (RuntimeException e) {
            f = java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        return f.exceptionally(e -> {
            log.warn("request {}: cache lookup of {} failed, going to the origin: {}", ex.id, cacheKey, e.toString());
            return Optional.empty();
        });
    }

    static void closeQuietly(@Nullable CacheEntry e) {
        if (e != null) {
            try {
                e.close();
            } catch (RuntimeException ignored) {
                // a handle that fails to close has nothing left to release
            }
        }
    }

    /** Records the finished exchange: metrics and the access-log line. */
    void finished(Exchange ex) {
        long nanos = System.nanoTime() - ex.startNanos;
        ServeState s = ex.state;
        if (s != null) {
            s.release();
        }
        ServeConfig config = s != null ? s.config : current().config;
        metrics.request(ex.status, ex.bucket, ex.method, ex.cacheStatus.text(), nanos, ex.bodyBytes);
        throttle.sent(ex.client, ex.bucket, ex.bodyBytes);
        metrics.zeroCopyBytes.add(ex.fileRegionBytes);
        if (config.accessLog()) {
            AccessLog.write(ex, nanos, config.accessLogFormat());
        }
        Tracing.RequestTrace rt = ex.trace;
        if (rt != null) {
            Tracing.end(rt, ex);
        }
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
        ServeState s = current();
        s.closeOwn(null);
        for (Route r : s.routes) {
            r.origin().close();
        }
        for (CountedOrigin o : draining) {
            if (draining.remove(o)) {
                o.close();
            }
        }
        tracing.close();
        if (sharedTier != null) {
            sharedTier.close();
        }
    }
}
