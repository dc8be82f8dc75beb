package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.ServeConfig;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy's front: routes a request to a bucket, serves fresh hits, and hands misses and stale
 * hits to the {@link FillCoordinator}. (The ops endpoints and the admin API are {@link OpsHandler}'s, on
 * their own listener.)
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
    static final Logger ACCESS = LoggerFactory.getLogger("kura.access");
    /** Objects larger than this are cached in slices of this size (bytes). */
    static final long DEFAULT_SLICE_SIZE = dev.kura.s3.ProxyServer.DEFAULT_SLICE_SIZE;

    private final ServeConfig config;
    private final Cache cache;
    private final List<Route> routes;
    final ProxyMetrics metrics;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    final AtomicInteger inFlight = new AtomicInteger();
    private final FillCoordinator fills;
    private final Map<String, Route> byName = new java.util.HashMap<>();
    private final S3Front front;
    /** {@code serve.rate-limits}: admission in {@link S3Front}, bytes charged in {@link #finished}. */
    final dev.kura.s3.internal.limits.Throttle throttle;

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
        this(config, cache, (b, events) -> ResilientOrigin.of(b, OriginClient::new, events), sliceSize);
    }

    /**
     * A proxy whose bucket origins come from {@code origins} (tests pass a fake origin here).
     *
     * @param origins makes the origin of one bucket; called once per bucket, here
     * @param sliceSize objects larger than this many bytes are cached in slices of this size
     */
    ProxyCore(ServeConfig config, Cache cache, java.util.function.Function<BucketConfig, Origin> origins,
              long sliceSize) {
        this(config, cache, (b, events) -> origins.apply(b), sliceSize);
    }

    /** @param origins makes the origin of one bucket, reporting to the given events (metrics) */
    private ProxyCore(ServeConfig config, Cache cache,
                      java.util.function.BiFunction<BucketConfig, OriginEvents, Origin> origins, long sliceSize) {
        this.config = config;
        this.cache = cache;
        this.metrics = new ProxyMetrics(cache, config.buckets().stream().map(BucketConfig::name).toList());
        this.throttle = new dev.kura.s3.internal.limits.Throttle(config.rateLimits(),
                config.buckets().stream().map(BucketConfig::name).toList());
        List<Route> r = new ArrayList<>();
        for (BucketConfig b : config.buckets()) {
            r.add(new Route(b, origins.apply(b, metrics)));
        }
        r.sort(Comparator.comparingInt((Route x) -> x.bucket().prefix().length()).reversed());
        this.routes = List.copyOf(r);
        this.fills = new FillCoordinator(cache, metrics, workers, sliceSize);
        for (Route x : routes) {
            byName.put(x.bucket().name(), x);
        }
        this.front = new S3Front(config, this, workers, java.time.Clock.systemUTC());
    }

    /** The bucket mappings, longest prefix first. */
    List<Route> routes() {
        return routes;
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
        front.handle(ex);
    }

    /** The origin of the bucket named {@code name}. */
    Origin origin(String name) {
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
        FillCoordinator.Target t = new FillCoordinator.Target(route.bucket(), route.origin(), key, ex.versionId,
                cacheKey);
        // The event loop never waits on the disk: the lookup opens the entry asynchronously, and
        // the answer continues on the channel's event loop.
        lookupAsync(t.cacheKey(), ex).whenComplete((hit, err) -> ex.ch.eventLoop().execute(() ->
                serveLookedUp(ex, t, hit)));
    }

    private void serveLookedUp(Exchange ex, FillCoordinator.Target t, Optional<CacheEntry> hit) {
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

    static void closeQuietly(CacheEntry e) {
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
        metrics.request(ex.status, ex.bucket, ex.method, ex.cacheStatus.text(), nanos, ex.bodyBytes);
        throttle.sent(ex.client, ex.bucket, ex.bodyBytes);
        if (config.accessLog() && ACCESS.isInfoEnabled()) {
            ACCESS.info("{} {} {} {} {} {} {} {}us", ex.id, remote(ex), ex.method, S3Front.loggable(ex.uri), ex.status,
                    ex.bodyBytes,
                    ex.cacheStatus.text(), nanos / 1000);
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
