package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
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
 *   <li>{@code kura_served_bytes_total} by {@code bucket}: body bytes sent to clients;</li>
 *   <li>{@code kura_cache_hits_total}, {@code kura_cache_misses_total},
 *       {@code kura_cache_evictions_total}, {@code kura_cache_size_bytes},
 *       {@code kura_cache_entries} by {@code tier} (memory, disk), from {@link Cache#stats()};</li>
 *   <li>{@code kura_origin_requests_seconds} by {@code bucket}, {@code outcome}: origin latency to
 *       the response head; {@code kura_origin_errors_total} by {@code bucket}, {@code kind};</li>
 *   <li>{@code kura_fills_in_flight}: origin fetches writing into the cache now.</li>
 * </ul>
 *
 * <p>Thread-safety: safe for concurrent use; meters are cached per tag set so that the hot path
 * does no registry lookup beyond one map read.
 */
final class ProxyMetrics {
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final AtomicInteger fillsInFlight = new AtomicInteger();
    private final ConcurrentHashMap<String, Timer> requestTimers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> bytes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> originTimers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> originErrors = new ConcurrentHashMap<>();

    ProxyMetrics(Cache cache) {
        Gauge.builder("kura.fills.in.flight", fillsInFlight, AtomicInteger::get)
                .description("origin fetches writing into the cache now").register(registry);
        cacheCounter("kura.cache.hits", "memory", cache, CacheStats::memoryHits);
        cacheCounter("kura.cache.hits", "disk", cache, CacheStats::diskHits);
        cacheCounter("kura.cache.misses", "all", cache, CacheStats::misses);
        cacheCounter("kura.cache.evictions", "all", cache, CacheStats::evictions);
        cacheCounter("kura.cache.expirations", "all", cache, CacheStats::expirations);
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

    void request(int status, String bucket, String method, String cacheStatus, long nanos, long bodyBytes) {
        String k = status + "|" + bucket + "|" + method + "|" + cacheStatus;
        requestTimers.computeIfAbsent(k, x -> Timer.builder("kura.requests")
                .description("requests served, by status, bucket, method and cache outcome")
                .tags("status", Integer.toString(status), "bucket", bucket, "method", method, "cache", cacheStatus)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(50_000))
                .maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
        if (bodyBytes > 0) {
            bytes.computeIfAbsent(bucket, b -> Counter.builder("kura.served.bytes")
                    .description("body bytes sent to clients").tag("bucket", b).register(registry))
                    .increment(bodyBytes);
        }
    }

    void origin(String bucket, String outcome, long nanos) {
        originTimers.computeIfAbsent(bucket + "|" + outcome, x -> Timer.builder("kura.origin.requests")
                .description("origin requests, time to the response head")
                .tags("bucket", bucket, "outcome", outcome)
                .publishPercentileHistogram()
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    void originError(String bucket, String kind) {
        originErrors.computeIfAbsent(bucket + "|" + kind, x -> Counter.builder("kura.origin.errors")
                .description("origin requests that failed").tags("bucket", bucket, "kind", kind)
                .register(registry)).increment();
    }

    String scrape() {
        return registry.scrape();
    }
}
