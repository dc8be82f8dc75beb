package dev.kura.s3;

import dev.kura.config.DataSize;
import org.jspecify.annotations.Nullable;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * The {@code cache.shared:} section: an optional cache tier on Valkey or Redis that several kura
 * nodes share, after their own memory and disk tiers and before the origin. Every key is documented
 * in {@code docs/CONFIG.md}; the design is in {@code dev.kura.s3.internal.shared.SharedTier}.
 *
 * <p>Off unless the section is present (and {@code enabled} is not false). Not reloadable: the
 * section is part of {@code cache:}, whose change needs a restart.
 *
 * @param enabled false turns the tier off while keeping the section; default true
 * @param uris Redis URIs ({@code redis://host:port}, {@code rediss://} for TLS, with
 *     {@code redis://:password@host:port/db} as Lettuce reads them); one for a standalone server,
 *     one or more seed nodes for a cluster; at least one
 * @param mode {@code standalone} (default) or {@code cluster}
 * @param maxObjectSize largest object stored in the tier, in bytes (default 1 MiB, at most
 *     512 MiB, Redis' largest string); objects cached in slices never are
 * @param timeout the most one lookup (all its round trips) may take before it counts as a miss
 *     and a failure for the breaker; default 50 ms, at least 1 ms
 * @param maxTtl the time to live of objects that never expire by the freshness rules, and the
 *     cap of every other (default 24 h)
 * @param keyPrefix prefix of every Redis key kura writes (default {@code kura:}), so that fleets
 *     or environments can share a server without sharing entries
 * @param breaker when the tier is skipped after failures ({@code breaker:})
 *
 * <p>A key left out binds to null, which the canonical constructor replaces with its default, so
 * every accessor returns a value.
 *
 * <p>Thread-safety: immutable.
 */
public record SharedCacheConfig(Boolean enabled, List<URI> uris, Mode mode, DataSize maxObjectSize, Duration timeout,
                                Duration maxTtl, String keyPrefix, Breaker breaker) {

    /** How the URIs are read: one server, or the seed nodes of a Redis Cluster. */
    public enum Mode {
        /** One Redis or Valkey server (a replica set behind one address counts as one). */
        STANDALONE,
        /** A Redis Cluster: keys spread over its slots; topology learned from the seed nodes. */
        CLUSTER
    }

    /**
     * {@code cache.shared.breaker:}: a count-based circuit breaker (resilience4j) over the tier's
     * calls; a timeout counts as a failure. While open, the tier is skipped (lookups are misses,
     * writes are dropped); after {@code open-for} the next calls probe it (half-open).
     *
     * @param failureRate percentage of failed calls in the window that opens the breaker, 1..100;
     *     default 50
     * @param window calls the failure rate is computed over, 1..1000; default 20
     * @param minimumCalls calls needed before the rate counts, 1..window; default 5
     * @param openFor how long the breaker stays open before probing; default 5 s, at least 10 ms
     * @param probes calls let through while half-open, 1..100; default 2
     */
    public record Breaker(Integer failureRate, Integer window, Integer minimumCalls, Duration openFor,
                          Integer probes) {
        /** @throws IllegalArgumentException naming the key of a nonsense value */
        public Breaker {
            failureRate = range("shared.breaker.failure-rate", failureRate, 50, 1, 100);
            window = range("shared.breaker.window", window, 20, 1, 1000);
            minimumCalls = range("shared.breaker.minimum-calls", minimumCalls, Math.min(5, window), 1, window);
            if (openFor == null) {
                openFor = Duration.ofSeconds(5);
            }
            if (openFor.compareTo(Duration.ofMillis(10)) < 0) {
                throw new IllegalArgumentException("shared.breaker.open-for must be >= 10ms, was " + openFor);
            }
            probes = range("shared.breaker.probes", probes, 2, 1, 100);
        }

        /** Every key at its default. */
        @SuppressWarnings("NullAway") // a null component means "the default": the canonical constructor fills it in
        public static Breaker defaults() {
            return new Breaker(null, null, null, null, null);
        }
    }

    /** Redis' largest string value (its {@code proto-max-bulk-len} default), in bytes. */
    public static final long MAX_VALUE_BYTES = 512L << 20;

    /** @throws IllegalArgumentException naming the key of a missing or nonsense value */
    public SharedCacheConfig {
        if (enabled == null) {
            enabled = true;
        }
        if (uris == null || uris.isEmpty()) {
            throw new IllegalArgumentException("shared.uris needs at least one redis:// URI");
        }
        uris = List.copyOf(uris);
        for (URI u : uris) {
            String s = u.getScheme();
            if (!"redis".equals(s) && !"rediss".equals(s) || u.getHost() == null) {
                throw new IllegalArgumentException("shared.uris: expected redis://host:port or rediss://host:port, was "
                        + u);
            }
        }
        if (mode == null) {
            mode = Mode.STANDALONE;
        }
        if (mode == Mode.STANDALONE && uris.size() > 1) {
            throw new IllegalArgumentException("shared.uris: standalone mode takes one URI, was " + uris.size()
                    + " (mode: cluster for a Redis Cluster's seed nodes)");
        }
        if (maxObjectSize == null) {
            maxObjectSize = DataSize.ofBytes(1L << 20);
        }
        if (maxObjectSize.bytes() < 1 || maxObjectSize.bytes() > MAX_VALUE_BYTES) {
            throw new IllegalArgumentException("shared.max-object-size must be 1B..512MiB, was " + maxObjectSize);
        }
        if (timeout == null) {
            timeout = Duration.ofMillis(50);
        }
        if (timeout.compareTo(Duration.ofMillis(1)) < 0) {
            throw new IllegalArgumentException("shared.timeout must be >= 1ms, was " + timeout);
        }
        if (maxTtl == null) {
            maxTtl = Duration.ofHours(24);
        }
        if (maxTtl.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("shared.max-ttl must be >= 1s, was " + maxTtl);
        }
        if (keyPrefix == null) {
            keyPrefix = "kura:";
        }
        if (breaker == null) {
            breaker = Breaker.defaults();
        }
    }

    /** A standalone server at {@code uri}, every other key at its default. */
    @SuppressWarnings("NullAway") // a null component means "the default": the canonical constructor fills it in
    public static SharedCacheConfig of(URI uri) {
        return new SharedCacheConfig(null, List.of(uri), null, null, null, null, null, null);
    }

    /** A copy with another {@code max-object-size}. */
    public SharedCacheConfig withMaxObjectSize(DataSize size) {
        return new SharedCacheConfig(enabled, uris, mode, size, timeout, maxTtl, keyPrefix, breaker);
    }

    /** A copy with another {@code timeout}. */
    public SharedCacheConfig withTimeout(Duration t) {
        return new SharedCacheConfig(enabled, uris, mode, maxObjectSize, t, maxTtl, keyPrefix, breaker);
    }

    /** A copy with other breaker settings. */
    public SharedCacheConfig withBreaker(Breaker b) {
        return new SharedCacheConfig(enabled, uris, mode, maxObjectSize, timeout, maxTtl, keyPrefix, b);
    }

    /** A copy with another key prefix. */
    public SharedCacheConfig withKeyPrefix(String prefix) {
        return new SharedCacheConfig(enabled, uris, mode, maxObjectSize, timeout, maxTtl, prefix, breaker);
    }

    private static int range(String key, @Nullable Integer v, int dflt, int min, int max) {
        int x = v == null ? dflt : v;
        if (x < min || x > max) {
            throw new IllegalArgumentException(key + " must be " + min + ".." + max + ", was " + x);
        }
        return x;
    }
}
