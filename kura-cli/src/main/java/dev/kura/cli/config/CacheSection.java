package dev.kura.cli.config;

import dev.kura.cache.CacheConfig;
import dev.kura.config.DataSize;
import org.jspecify.annotations.Nullable;

import java.nio.file.Path;

/**
 * The {@code cache:} section of kura.yaml; every key is optional and defaults as
 * {@link CacheConfig#defaults(Path)}. See docs/CONFIG.md.
 *
 * @param dir directory of the disk tier (default {@code kura-data/cache})
 * @param maxSize bound of the disk tier
 * @param maxEntries bound of the disk tier in entries, 0 for none
 * @param maxItemSize largest object cached on disk
 * @param memory the memory tier ({@code cache.memory:})
 * @param durability {@code none} or {@code fsync}
 * @param sliceSize {@code kura serve} caches objects larger than this in slices of this size
 *     (default 4 MiB, at least 64 KiB); see docs/CONFIG.md for why
 * @param shared {@code kura serve}'s shared tier on Valkey/Redis ({@code cache.shared:}), or null
 *     for none (the default); not used by {@code kura tftp}
 */
public record CacheSection(@Nullable Path dir, @Nullable DataSize maxSize, @Nullable Long maxEntries,
                           @Nullable DataSize maxItemSize, @Nullable Memory memory,
                           CacheConfig.@Nullable Durability durability, @Nullable DataSize sliceSize,
                           dev.kura.s3.@Nullable SharedCacheConfig shared) {

    /** The default slice size in bytes: {@link dev.kura.s3.ProxyServer#DEFAULT_SLICE_SIZE}. */
    public static final long DEFAULT_SLICE_SIZE = dev.kura.s3.ProxyServer.DEFAULT_SLICE_SIZE;

    /** {@code cache.memory:}: the memory tier; {@code max-size: 0} turns it off. */
    public record Memory(@Nullable DataSize maxSize, @Nullable DataSize maxItemSize) {
    }

    /** Validated by {@link CacheConfig}'s constructor, whose messages name the {@code cache.*} key. */
    public CacheSection {
        build(dir, maxSize, maxEntries, maxItemSize, memory, durability);
        if (sliceSize != null && sliceSize.bytes() < 64 * 1024) {
            throw new IllegalArgumentException("slice-size must be at least 64KiB, was " + sliceSize);
        }
    }

    /** {@code cache.slice-size} in bytes, the default filled in. */
    public long sliceSizeBytes() {
        return sliceSize != null ? sliceSize.bytes() : DEFAULT_SLICE_SIZE;
    }

    /** The settings as kura-cache takes them, defaults filled in. */
    public CacheConfig toCacheConfig() {
        return build(dir, maxSize, maxEntries, maxItemSize, memory, durability);
    }

    // Static so that the compact constructor can validate its parameters (fields are unset there).
    private static CacheConfig build(@Nullable Path dir, @Nullable DataSize maxSize, @Nullable Long maxEntries,
                                     @Nullable DataSize maxItemSize, @Nullable Memory memory,
                                     CacheConfig.@Nullable Durability durability) {
        CacheConfig d = CacheConfig.defaults(dir != null ? dir : Path.of("kura-data", "cache"));
        long max = maxSize != null ? maxSize.bytes() : d.maxSize();
        return new CacheConfig(d.dir(), max,
                maxEntries != null ? maxEntries : d.maxEntries(),
                maxItemSize != null ? maxItemSize.bytes() : Math.min(d.maxItemSize(), max),
                memory != null && memory.maxSize() != null ? memory.maxSize().bytes() : d.memoryMaxSize(),
                memory != null && memory.maxItemSize() != null ? memory.maxItemSize().bytes() : d.memoryMaxItemSize(),
                durability != null ? durability : d.durability());
    }

    /** All defaults. */
    public static CacheSection defaults() {
        return new CacheSection(null, null, null, null, null, null, null, null);
    }
}
