package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/**
 * The proxy's Micrometer meters, exposed in Prometheus text format on {@code /metrics}.
 *
 * <ul>
 *   <li>{@code kura_requests_seconds} (timer with histogram) by {@code status}, {@code bucket},
 *       {@code method}, {@code cache} (HIT, MISS, ...): request counts by status and latency;</li>
 *   <li>{@code kura_served_bytes_total} by {@code bucket}, {@code cache}: body bytes sent to
 *       clients, by cache outcome (the byte hit ratio of deploy/grafana's dashboard);</li>
 *   <li>{@code kura_cache_hits_total}, {@code kura_cache_misses_total},
 *       {@code kura_cache_evictions_total}, {@code kura_cache_size_bytes},
 *       {@code kura_cache_entries} by {@code tier} (memory, disk), from {@link Cache#stats()};</li>
 *   <li>{@code kura_origin_requests_seconds} by {@code bucket}, {@code outcome}: origin latency to
 *       the response head; {@code kura_origin_errors_total} by {@code bucket}, {@code kind};</li>
 *   <li>{@code kura_origin_attempts_total} by {@code bucket}, {@code endpoint}, {@code outcome}:
 *       requests actually sent to each origin endpoint (retries and hedges included);
 *       {@code kura_origin_retries_total} by {@code bucket}, {@code kind} (why);
 *       {@code kura_origin_breaker_state} by {@code bucket}, {@code endpoint}, {@code state} (1 for
 *       the current state); {@code kura_origin_breaker_transitions_total} by {@code bucket},
 *       {@code endpoint}, {@code to}; {@code kura_origin_breaker_skips_total}: requests not sent to an
 *       endpoint because its breaker was open; {@code kura_origin_hedges_total} by {@code bucket},
 *       {@code winner} ({@code first} or {@code hedge}): hedged requests ({@link OriginEvents});</li>
 *   <li>{@code kura_throttled_total} by {@code bucket}, {@code scope} ({@code client} or
 *       {@code bucket}): requests answered 503 SlowDown by {@code serve.rate-limits};</li>
 *   <li>{@code kura_fills_in_flight}: origin fetches writing into the cache now;</li>
 *   <li>{@code kura_connections_open}: client connections of the data listener;
 *       {@code kura_connections_closed_total} by {@code reason} ({@link CloseReason}): connections
 *       kura closed or refused because of a limit.</li>
 * </ul>
 *
 * <p>Every label has a bounded set of values, whatever clients send: a method outside
 * {@link #METHODS} is {@code other}, a bucket that is not a configured mapping name is {@code -},
 * a status outside 100..599 is {@code other}, a cache outcome outside {@link #CACHE_OUTCOMES} is
 * {@code -}. (With the raw method as a label, 10,000 made-up methods grew {@code /metrics} to
 * 92 MiB and RSS by 800 MiB.) The bound is the product of the sets: 10 methods x (buckets + 1) x
 * about 40 statuses x 6 outcomes.
 *
 * <p>Thread-safety: safe for concurrent use; meters are cached per tag set so that the hot path
 * does no registry lookup beyond one map read.
 */
final class ProxyMetrics implements OriginEvents {
    /** The process's one registry (made by the {@code kura} command; tests make their own), also scraped by {@code /metrics}. */
    final PrometheusMeterRegistry registry;
    final AtomicInteger fillsInFlight = new AtomicInteger();
    /** Slice fills started by read-ahead ({@code serve.fill.read-ahead}), since start. */
    final java.util.concurrent.atomic.AtomicLong readAheads = new java.util.concurrent.atomic.AtomicLong();
    /** Body bytes sent as file regions ({@code serve.zero-copy}). */
    final java.util.concurrent.atomic.LongAdder zeroCopyBytes = new java.util.concurrent.atomic.LongAdder();
    private final ConcurrentHashMap<String, Timer> requestTimers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> bytes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> originTimers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> originErrors = new ConcurrentHashMap<>();
    private volatile Set<String> buckets;
    /** Counters of {@link #counter}, by name and tag values. */
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
    final AtomicInteger connectionsOpen = new AtomicInteger();
    private final java.util.EnumMap<CloseReason, Counter> closed = new java.util.EnumMap<>(CloseReason.class);

    /**
     * Histogram bucket bounds of the latency timers: 16 fixed bounds from 250 us to 60 s, where
     * Micrometer's percentile histogram publishes about 70 per series (each series then cost ~10 KB
     * of {@code /metrics}).
     */
    static final Duration[] LATENCY_BUCKETS = java.util.stream.LongStream.of(250, 500, 1_000, 2_500, 5_000,
                    10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
                    10_000_000, 60_000_000)
            .mapToObj(us -> Duration.ofNanos(us * 1000)).toArray(Duration[]::new);

    /** Request methods that are their own label value (RFC 9110 section 9 and the ones S3 uses). */
    static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
            "TRACE", "CONNECT");
    /** Cache outcomes that are their own label value ({@code X-Cache}). */
    static final Set<String> CACHE_OUTCOMES = Set.of("HIT", "MISS", "REVALIDATED", "STALE", "-", "SHARED");

    /** Why kura closed or refused a client connection. */
    enum CloseReason {
        /** {@code serve.limits.max-connections} reached: refused at accept. */
        MAX_CONNECTIONS,
        /** No request in progress and nothing read or written for {@code idle-timeout}. */
        IDLE_TIMEOUT,
        /** A request's header block not complete within {@code request-header-timeout}. */
        REQUEST_HEADER_TIMEOUT,
        /** A request body larger than {@code max-request-body}. */
        REQUEST_BODY_TOO_LARGE;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Meters of a proxy, registered in {@code registry} (shared with the process's other meters). */
    ProxyMetrics(Cache cache, Collection<String> bucketNames, PrometheusMeterRegistry registry) {
        this.registry = registry;
        this.buckets = Set.copyOf(bucketNames);
        Gauge.builder("kura.connections.open", connectionsOpen, AtomicInteger::get)
                .description("client connections of the data listener").register(registry);
        for (CloseReason r : CloseReason.values()) {
            closed.put(r, Counter.builder("kura.connections.closed").tag("reason", r.label())
                    .description("client connections closed or refused because of a limit").register(registry));
        }
        Gauge.builder("kura.fills.in.flight", fillsInFlight, AtomicInteger::get)
                .description("origin fetches writing into the cache now").register(registry);
        FunctionCounter.builder("kura.slice.read.aheads", readAheads, java.util.concurrent.atomic.AtomicLong::get)
                .description("slice fills started ahead of a sequential reader (serve.fill.read-ahead)")
                .register(registry);
        FunctionCounter.builder("kura.served.zero.copy.bytes", zeroCopyBytes,
                        java.util.concurrent.atomic.LongAdder::doubleValue)
                .description("body bytes sent from cache files by sendfile or splice (serve.zero-copy)")
                .register(registry);
        cacheCounter("kura.cache.hits", "memory", cache, CacheStats::memoryHits);
        cacheCounter("kura.cache.hits", "disk", cache, CacheStats::diskHits);
        cacheCounter("kura.cache.misses", "all", cache, CacheStats::misses);
        cacheCounter("kura.cache.evictions", "all", cache, CacheStats::evictions);
        cacheCounter("kura.cache.expirations", "all", cache, CacheStats::expirations);
        cacheCounter("kura.cache.promotions.skipped", "memory", cache, CacheStats::promotionsSkipped);
        // how disk hits are read: from the page cache on the event loop, or through the ring
        Map<String, ToDoubleFunction<CacheStats>> ways = Map.of("page_cache", CacheStats::diskReadsCached,
                "async", CacheStats::diskReadsAsync);
        ways.forEach((way, f) -> FunctionCounter.builder("kura.cache.disk.reads", cache, c -> f.applyAsDouble(c.stats()))
                .tag("way", way).description("disk-tier block reads (scatter reads of up to 8 blocks)")
                .register(registry));
        cacheGauge("kura.cache.size.bytes", "memory", cache, CacheStats::memoryBytes);
        cacheGauge("kura.cache.size.bytes", "disk", cache, CacheStats::diskBytes);
        cacheGauge("kura.cache.entries", "memory", cache, CacheStats::memoryEntries);
        cacheGauge("kura.cache.entries", "disk", cache, CacheStats::diskEntries);
    }

    private void cacheCounter(String name, String tier, Cache cache, ToDoubleFunction<CacheStats> f) {
        FunctionCounter.builder(name, cache, c -> f.applyAsDouble(c.stats())).tag("tier", tier).register(registry);
    }

    private void cacheGauge(String name, String tier, Cache cache, ToDoubleFunction<CacheStats> f) {
        Gauge.builder(name, cache, c -> f.applyAsDouble(c.stats())).tag("tier", tier).register(registry);
    }

    /** The bucket names that are labels from now on (after a reload); others count as {@code -}. */
    void buckets(java.util.Collection<String> bucketNames) {
        this.buckets = Set.copyOf(bucketNames);
    }

    void closed(CloseReason reason) {
        java.util.Objects.requireNonNull(closed.get(reason), "every CloseReason has a counter").increment();
    }

    /** The label value of a request method. */
    static String methodLabel(String method) {
        return METHODS.contains(method) ? method : "other";
    }

    private String bucketLabel(String bucket) {
        return buckets.contains(bucket) ? bucket : "-";
    }

    void request(int status, String bucket0, String method0, String cache0, long nanos, long bodyBytes) {
        String bucket = bucketLabel(bucket0);
        String method = methodLabel(method0);
        String cacheStatus = CACHE_OUTCOMES.contains(cache0) ? cache0 : "-";
        String st = status >= 100 && status <= 599 ? Integer.toString(status) : "other";
        String k = st + "|" + bucket + "|" + method + "|" + cacheStatus;
        requestTimers.computeIfAbsent(k, x -> Timer.builder("kura.requests")
                .description("requests served, by status, bucket, method and cache outcome")
                .tags("status", st, "bucket", bucket, "method", method, "cache", cacheStatus)
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
        if (bodyBytes > 0) {
            bytes.computeIfAbsent(bucket + "|" + cacheStatus, b -> Counter.builder("kura.served.bytes")
                    .description("body bytes sent to clients, by cache outcome").tag("bucket", bucket)
                    .tag("cache", cacheStatus).register(registry))
                    .increment(bodyBytes);
        }
    }

    void origin(String bucket0, String outcome, long nanos) {
        String bucket = bucketLabel(bucket0);
        originTimers.computeIfAbsent(bucket + "|" + outcome, x -> Timer.builder("kura.origin.requests")
                .description("origin requests, time to the response head")
                .tags("bucket", bucket, "outcome", outcome)
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void attempt(String bucket0, String endpoint, String outcome) {
        String bucket = bucketLabel(bucket0);
        counter("kura.origin.attempts", "requests sent to an origin endpoint, retries and hedges included",
                "bucket", bucket, "endpoint", endpoint, "outcome", outcome).increment();
    }

    @Override
    public void retry(String bucket0, OriginFailure.Kind kind) {
        counter("kura.origin.retries", "origin requests retried, by the failure that caused the retry",
                "bucket", bucketLabel(bucket0), "kind", kind.label()).increment();
    }

    @Override
    public void skipped(String bucket0, String endpoint) {
        counter("kura.origin.breaker.skips", "requests not sent to an endpoint because its circuit breaker was open",
                "bucket", bucketLabel(bucket0), "endpoint", endpoint).increment();
    }

    @Override
    public void breaker(String bucket0, String endpoint, java.util.function.Supplier<BreakerState> state) {
        String bucket = bucketLabel(bucket0);
        for (BreakerState st : BreakerState.values()) {
            Gauge.builder("kura.origin.breaker.state", state, x -> x.get() == st ? 1 : 0)
                    .description("circuit breaker state of an origin endpoint: 1 for the current state")
                    .tags("bucket", bucket, "endpoint", endpoint, "state", st.label())
                    .strongReference(true).register(registry);
        }
    }

    @Override
    public void transition(String bucket0, String endpoint, BreakerState to) {
        counter("kura.origin.breaker.transitions", "circuit breaker state changes of an origin endpoint",
                "bucket", bucketLabel(bucket0), "endpoint", endpoint, "to", to.label()).increment();
    }

    @Override
    public void hedgeWon(String bucket0, boolean hedge) {
        counter("kura.origin.hedges", "hedged origin requests, by the request whose answer was used",
                "bucket", bucketLabel(bucket0), "winner", hedge ? "hedge" : "first").increment();
    }

    /** A request refused with SlowDown by {@code serve.rate-limits}; {@code scope} is client or bucket. */
    void throttled(String bucket0, String scope) {
        counter("kura.throttled", "requests answered 503 SlowDown by serve.rate-limits",
                "bucket", bucketLabel(bucket0), "scope", scope).increment();
    }

    /** A counter by name and tags, looked up in {@link #counters} first. */
    private Counter counter(String name, String description, String... tags) {
        String k = name + "|" + String.join("|", tags);
        return counters.computeIfAbsent(k, x -> Counter.builder(name).description(description).tags(tags)
                .register(registry));
    }

    void originError(String bucket0, String kind) {
        String bucket = bucketLabel(bucket0);
        originErrors.computeIfAbsent(bucket + "|" + kind, x -> Counter.builder("kura.origin.errors")
                .description("origin requests that failed").tags("bucket", bucket, "kind", kind)
                .register(registry)).increment();
    }

    String scrape() {
        return registry.scrape();
    }
}
