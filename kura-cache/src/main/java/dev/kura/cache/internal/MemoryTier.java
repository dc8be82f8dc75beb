package dev.kura.cache.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.kura.cache.Tier;
import org.jspecify.annotations.Nullable;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

/**
 * The memory tier: Caffeine (W-TinyLFU admission and eviction, bounded by bytes; Einziger et al.,
 * "TinyLFU: A Highly Efficient Cache Admission Policy", 2017) holding whole small objects in native
 * memory ({@link NativeBytes}: a hit is lent to the socket without a copy). The tier takes its own
 * reference on a value's bytes when the value is put; the removal listener (eviction, replacement,
 * removal, for whatever cause) releases it, and the memory is freed once no open handle or loan remains. A tier of
 * size 0 is off: it takes nothing and finds nothing.
 *
 * <p>Changes ({@link #put}, {@link #remove}, {@link #removeVersion}) must run inside
 * {@link DiskStore#atomically} for their key, which orders them with the disk tier's version
 * changes; reads need no lock (values are immutable).
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class MemoryTier implements CacheTier {
    private final @Nullable Cache<String, MemoryEntry.Value> cache;
    private final long maxItemSize;
    private final LongAdder evictions = new LongAdder();

    MemoryTier(long maxSize, long maxItemSize) {
        this.maxItemSize = maxItemSize;
        if (maxSize > 0 && maxItemSize > 0) {
            this.cache = Caffeine.newBuilder()
                    .maximumWeight(maxSize)
                    .weigher((String k, MemoryEntry.Value v) -> v.weight())
                    .executor(Runnable::run)
                    .removalListener((@Nullable String k, MemoryEntry.@Nullable Value v, RemovalCause c) -> {
                        if (c.wasEvicted()) {
                            evictions.increment();
                        }
                        if (v != null) {
                            v.data().release();
                        }
                    })
                    .build();
            // Link malloc/free now, at open, not on the first fill (binding a downcall costs tens
            // of milliseconds on a cold JVM).
            NativeBytes.link();
        } else {
            this.cache = null;
        }
    }

    @Override
    public Tier tier() {
        return Tier.MEMORY;
    }

    /** True when this tier would take an object of {@code size} bytes. */
    boolean takes(long size) {
        return cache != null && size <= maxItemSize && size <= Integer.MAX_VALUE - 64;
    }

    /** The value of the key's current version, or null. */
    MemoryEntry.@Nullable Value get(String key) {
        return cache == null ? null : cache.getIfPresent(key);
    }

    @Override
    public @Nullable MemoryEntry open(String key) {
        MemoryEntry.Value v = get(key);
        return v == null ? null : MemoryEntry.open(v, Tier.MEMORY);
    }

    @Override
    public CompletableFuture<MemoryEntry> openAsync(String key) {
        return CompletableFuture.completedFuture(open(key));
    }

    /**
     * Stores a version; the tier takes its own reference on the bytes (the caller keeps and releases
     * its own). False when the tier is off or the bytes were already freed. Inside
     * {@link DiskStore#atomically} for its key.
     */
    boolean put(MemoryEntry.Value v) {
        if (cache == null || !v.data().retain()) {
            return false;
        }
        cache.put(v.key(), v);
        return true;
    }

    /** Removes the key; true if it was here. Inside {@link DiskStore#atomically} for the key. */
    boolean remove(String key) {
        return cache != null && cache.asMap().remove(key) != null;
    }

    /** Removes the key if it holds {@code version}. Inside {@link DiskStore#atomically} for the key. */
    boolean removeVersion(String key, long version) {
        MemoryEntry.Value v = get(key);
        if (v != null && v.writeId() == version && cache != null) {
            cache.invalidate(key);
            return true;
        }
        return false;
    }

    /** The keys starting with {@code prefix} (a copy: remove them one by one under their locks). */
    List<String> keysStartingWith(String prefix) {
        List<String> out = new ArrayList<>();
        if (cache != null) {
            for (String k : cache.asMap().keySet()) {
                if (k.startsWith(prefix)) {
                    out.add(k);
                }
            }
        }
        return out;
    }

    @Override
    public long bytes() {
        if (cache == null) {
            return 0;
        }
        return cache.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
    }

    @Override
    public long entries() {
        return cache == null ? 0 : cache.estimatedSize();
    }

    @Override
    public long evictions() {
        return evictions.sum();
    }

    /** Drops everything (at close). */
    void clear() {
        if (cache != null) {
            cache.invalidateAll();
        }
    }
}
