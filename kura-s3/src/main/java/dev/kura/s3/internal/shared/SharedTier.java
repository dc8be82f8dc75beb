package dev.kura.s3.internal.shared;

import dev.kura.cache.EntryMetadata;
import dev.kura.config.LogRateLimiter;
import dev.kura.s3.SharedCacheConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The shared cache tier: objects several kura nodes share on a Valkey or Redis server (or
 * cluster), consulted after a node's own memory and disk tiers miss and before the origin.
 *
 * <p>Why. N nodes behind a round-robin balancer otherwise fetch each object from the origin N times
 * and hold N copies of the hot set. A consistent-hash balancer (docs/SCALING.md) fixes that where
 * one can be had; a shared tier helps where not (any balancer, clients that pick nodes themselves,
 * a node that just joined). Small objects only ({@code max-object-size}): Redis holds values in
 * memory, and a large object is cheaper to fetch again than to copy through one server.
 *
 * <p>Keys. Two keys per object, in one Redis Cluster hash slot (the cache key in braces is the hash
 * tag, so a cluster keeps them on one node):
 * <pre>
 *   {prefix}{cacheKey}:etag          the current ETag of the object (the "version pointer")
 *   {prefix}{cacheKey}:v:{etag}      that version's value ({@link SharedValue}: metadata, body, CRC32C)
 * </pre>
 * Why a pointer and a value per ETag rather than one key per object: a value is then immutable
 * (everything written under one name is the same bytes, whichever node writes it), the key
 * names bucket, key and ETag as the issue asks, and a node revalidating a stale entry can later ask
 * the pointer alone (a few bytes) whether its ETag is still current. The cost is a second round
 * trip on a hit (about 0.1 ms on a LAN, against the origin's tens of milliseconds). Both keys get a
 * TTL from the object's freshness (capped by {@code max-ttl}), so the tier never serves an object
 * past its freshness lifetime, and the metadata carries the absolute expiry, so a node that takes
 * the object fills its local tiers with the same expiry, not a new lifetime.
 *
 * <p>Failures. The tier must never fail or slow a request by more than {@code timeout}: a lookup
 * waits at most {@code timeout} for all its round trips, then counts as a miss; every failure and
 * timeout feeds a circuit breaker (resilience4j), and while it is open the tier is not called at all
 * (lookups are misses, writes are dropped); after {@code open-for} a few calls probe the server and
 * close the breaker again when they succeed. A value that fails its checks is never served: it is
 * counted ({@code kura_shared_errors_total{kind="corrupt"}}), logged (rate-limited) and deleted.
 * Writes are asynchronous (never on a client's path) and bounded ({@link #MAX_WRITES} in flight;
 * more are dropped).
 *
 * <p>Thread-safety: safe for concurrent use. {@link #get} blocks (call it on a virtual thread);
 * {@link #put} does not.
 */
public final class SharedTier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SharedTier.class);
    /** Writes in flight at most; beyond, writes are dropped (the server or the network is behind). */
    static final int MAX_WRITES = 64;
    /** Objects whose remaining freshness is shorter than this are not written (ms). */
    private static final long MIN_TTL_MILLIS = 1000;

    private final SharedCacheConfig config;
    private final RedisConnector connector;
    private final CircuitBreaker breaker;
    private final SharedMetrics metrics;
    private final Semaphore writes = new Semaphore(MAX_WRITES);
    private final LogRateLimiter logLimit = new LogRateLimiter(1, Duration.ofSeconds(10));
    private final byte[] prefix;

    /** A verified object from the tier: its metadata (absolute expiry included) and body. */
    public record Hit(EntryMetadata metadata, byte[] body) {
    }

    private SharedTier(SharedCacheConfig config, MeterRegistry registry, Duration[] latencyBuckets) {
        this.config = config;
        SharedCacheConfig.Breaker b = config.breaker();
        this.breaker = CircuitBreaker.of("shared", CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(b.window()).minimumNumberOfCalls(b.minimumCalls())
                .failureRateThreshold(b.failureRate()).waitDurationInOpenState(b.openFor())
                .permittedNumberOfCallsInHalfOpenState(b.probes())
                .automaticTransitionFromOpenToHalfOpenEnabled(false).build());
        this.connector = new RedisConnector(config);
        this.metrics = new SharedMetrics(registry, breaker, connector::connected, latencyBuckets);
        // Open and closed are worth an operator's attention; the half-open probes in between are not.
        breaker.getEventPublisher().onStateTransition(e -> {
            CircuitBreaker.State to = e.getStateTransition().getToState();
            if (to == CircuitBreaker.State.OPEN && e.getStateTransition().getFromState() == CircuitBreaker.State.CLOSED) {
                log.warn("shared tier: circuit breaker open after failures; skipped for {} at a time",
                        config.breaker().openFor());
            } else if (to == CircuitBreaker.State.CLOSED) {
                log.info("shared tier: circuit breaker closed; the tier is in use again");
            } else {
                log.debug("shared tier: circuit breaker {}", e.getStateTransition());
            }
        });
        this.prefix = config.keyPrefix().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Starts the tier (connecting in the background: kura starts whether or not the server is up).
     *
     * @param config {@code cache.shared}, or null when absent
     * @param registry where its meters go (the proxy's)
     * @param latencyBuckets histogram bounds of the lookup timer
     * @return the tier, or null when {@code config} is null or not enabled
     */
    public static @Nullable SharedTier start(@Nullable SharedCacheConfig config, MeterRegistry registry,
                                             Duration[] latencyBuckets) {
        if (config == null || !config.enabled()) {
            return null;
        }
        return new SharedTier(config, registry, latencyBuckets);
    }

    /** Largest object the tier takes, in bytes ({@code max-object-size}). */
    public long maxObjectSize() {
        return config.maxObjectSize().bytes();
    }

    /** The breaker's state now (tests and logs). */
    public CircuitBreaker.State breakerState() {
        return breaker.getState();
    }

    /**
     * Looks {@code cacheKey} up: the current version's verified value, or empty (not there, not
     * fresh, corrupt, the server slow or down, the breaker open). Blocks at most {@code timeout};
     * never throws.
     */
    public Optional<Hit> get(String cacheKey) {
        long t0 = System.nanoTime();
        if (!breaker.tryAcquirePermission()) {
            metrics.skipped();
            metrics.lookup(SharedMetrics.Outcome.SKIPPED, System.nanoTime() - t0);
            return Optional.empty();
        }
        RedisClusterAsyncCommands<byte[], byte[]> c = connector.commands();
        if (c == null) {
            breaker.onError(System.nanoTime() - t0, TimeUnit.NANOSECONDS, new IllegalStateException("not connected"));
            metrics.error(SharedMetrics.ErrorKind.UNAVAILABLE);
            metrics.lookup(SharedMetrics.Outcome.ERROR, System.nanoTime() - t0);
            return Optional.empty();
        }
        long deadline = t0 + config.timeout().toNanos();
        byte @Nullable [] raw;
        String etag;
        try {
            byte @Nullable [] pointer = await(c.get(pointerKey(cacheKey)), deadline);
            raw = pointer == null ? null : await(c.get(valueKey(cacheKey, pointer)), deadline);
            etag = pointer == null ? "" : new String(pointer, StandardCharsets.UTF_8);
            breaker.onSuccess(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return failed(t0, SharedMetrics.ErrorKind.TIMEOUT, e, cacheKey);
        } catch (ExecutionException e) {
            boolean timeout = e.getCause() instanceof io.lettuce.core.RedisCommandTimeoutException;
            return failed(t0, timeout ? SharedMetrics.ErrorKind.TIMEOUT : SharedMetrics.ErrorKind.ERROR,
                    e.getCause() != null ? e.getCause() : e, cacheKey);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            breaker.releasePermission();
            metrics.lookup(SharedMetrics.Outcome.ERROR, System.nanoTime() - t0);
            return Optional.empty();
        } catch (RuntimeException e) {
            return failed(t0, SharedMetrics.ErrorKind.ERROR, e, cacheKey);
        }
        if (raw == null) {
            metrics.lookup(SharedMetrics.Outcome.MISS, System.nanoTime() - t0);
            return Optional.empty();
        }
        SharedValue.Decoded d;
        try {
            d = SharedValue.decode(raw, cacheKey, etag);
        } catch (SharedValue.CorruptValueException e) {
            metrics.error(SharedMetrics.ErrorKind.CORRUPT);
            metrics.lookup(SharedMetrics.Outcome.MISS, System.nanoTime() - t0);
            long dropped = logLimit.admit("corrupt");
            if (dropped >= 0) {
                log.warn("shared tier: value of {} ETag {} refused and deleted: {}{}", cacheKey, etag, e.getMessage(),
                        dropped > 0 ? " (" + dropped + " more since the last line)" : "");
            }
            c.del(valueKey(cacheKey, etag.getBytes(StandardCharsets.UTF_8)), pointerKey(cacheKey));
            return Optional.empty();
        }
        if (d.metadata().isExpired(Instant.now())) {
            metrics.lookup(SharedMetrics.Outcome.MISS, System.nanoTime() - t0);
            return Optional.empty();
        }
        metrics.read(d.body().length);
        metrics.lookup(SharedMetrics.Outcome.HIT, System.nanoTime() - t0);
        return Optional.of(new Hit(d.metadata(), d.body()));
    }

    private Optional<Hit> failed(long t0, SharedMetrics.ErrorKind kind, Throwable e, String cacheKey) {
        breaker.onError(System.nanoTime() - t0, TimeUnit.NANOSECONDS, e);
        metrics.error(kind);
        metrics.lookup(SharedMetrics.Outcome.ERROR, System.nanoTime() - t0);
        long dropped = logLimit.admit(kind.name());
        if (dropped >= 0) {
            log.warn("shared tier: lookup of {} failed ({}), going on without it: {}{}", cacheKey,
                    kind.name().toLowerCase(java.util.Locale.ROOT), e.toString(),
                    dropped > 0 ? " (" + dropped + " more since the last line)" : "");
        }
        return Optional.empty();
    }

    private static <T> @Nullable T await(CompletableFuture<T> f, long deadline)
            throws InterruptedException, ExecutionException, TimeoutException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            f.cancel(false);
            throw new TimeoutException("shared tier timeout");
        }
        try {
            return f.get(left, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            f.cancel(false);
            throw e;
        }
    }

    /** {@link #await} for Lettuce's futures. */
    private static <T> @Nullable T await(io.lettuce.core.RedisFuture<T> f, long deadline)
            throws InterruptedException, ExecutionException, TimeoutException {
        return await(f.toCompletableFuture(), deadline);
    }

    /**
     * Whether an object with {@code md} may go to the tier: an ETag, at most {@code max-object-size}
     * bytes, and at least a second of freshness left.
     */
    public boolean admits(EntryMetadata md) {
        return md.etag() != null && md.size() <= maxObjectSize()
                && ttlMillis(md) >= MIN_TTL_MILLIS;
    }

    private long ttlMillis(EntryMetadata md) {
        long cap = config.maxTtl().toMillis();
        if (md.expiresAt().equals(Instant.MAX)) {
            return cap;
        }
        return Math.min(cap, md.expiresAt().toEpochMilli() - System.currentTimeMillis());
    }

    /**
     * Writes an object (fetched from the origin and cached locally) to the tier, asynchronously:
     * the value first, then the pointer, both with the TTL left of its freshness. Returns at once;
     * never throws. Not written: objects {@link #admits} refuses; when {@link #MAX_WRITES} writes are
     * in flight, the breaker is open or there is no connection (counted as dropped).
     *
     * @param body the object's bytes, {@code md.size()} of them
     */
    public void put(String cacheKey, EntryMetadata md, byte[] body) {
        String etag = md.etag();
        if (etag == null || !admits(md) || body.length != md.size()) {
            return;
        }
        if (!writes.tryAcquire()) {
            metrics.write(SharedMetrics.WriteOutcome.DROPPED, 0);
            return;
        }
        if (!breaker.tryAcquirePermission()) {
            writes.release();
            metrics.skipped();
            metrics.write(SharedMetrics.WriteOutcome.DROPPED, 0);
            return;
        }
        RedisClusterAsyncCommands<byte[], byte[]> c = connector.commands();
        if (c == null) {
            writes.release();
            breaker.releasePermission();
            metrics.write(SharedMetrics.WriteOutcome.DROPPED, 0);
            return;
        }
        long t0 = System.nanoTime();
        try {
            byte[] e = etag.getBytes(StandardCharsets.UTF_8);
            SetArgs ttl = SetArgs.Builder.px(ttlMillis(md));
            byte[] value = SharedValue.encode(cacheKey, md, body);
            c.set(valueKey(cacheKey, e), value, ttl).toCompletableFuture()
                    .thenCompose(ok -> c.set(pointerKey(cacheKey), e, ttl).toCompletableFuture())
                    .whenComplete((ok, err) -> {
                        writes.release();
                        if (err == null) {
                            breaker.onSuccess(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
                            metrics.write(SharedMetrics.WriteOutcome.OK, body.length);
                        } else {
                            breaker.onError(System.nanoTime() - t0, TimeUnit.NANOSECONDS, err);
                            metrics.write(SharedMetrics.WriteOutcome.ERROR, 0);
                            long dropped = logLimit.admit("write");
                            if (dropped >= 0) {
                                log.warn("shared tier: write of {} failed: {}", cacheKey, err.toString());
                            }
                        }
                    });
        } catch (RuntimeException x) {
            writes.release();
            breaker.onError(System.nanoTime() - t0, TimeUnit.NANOSECONDS, x);
            metrics.write(SharedMetrics.WriteOutcome.ERROR, 0);
        }
    }

    /** {@code <prefix>{<cacheKey>}:etag}. */
    byte[] pointerKey(String cacheKey) {
        return concat(prefix, ("{" + cacheKey + "}:etag").getBytes(StandardCharsets.UTF_8));
    }

    /** {@code <prefix>{<cacheKey>}:v:<etag>}. */
    byte[] valueKey(String cacheKey, byte[] etag) {
        return concat(concat(prefix, ("{" + cacheKey + "}:v:").getBytes(StandardCharsets.UTF_8)), etag);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Closes the connection (writes in flight may be lost: the tier is a cache). */
    @Override
    public void close() {
        connector.close();
    }
}
