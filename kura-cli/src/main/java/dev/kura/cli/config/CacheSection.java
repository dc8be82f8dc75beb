package dev.kura.cli.config;

import dev.kura.cache.CacheConfig;
import dev.kura.config.DataSize;

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
 */
public record CacheSection(Path dir, DataSize maxSize, Long maxEntries, DataSize maxItemSize, Memory memory,
                           CacheConfig.Durability durability) {

    /** {@code cache.memory:}: the memory tier; {@code max-size: 0} turns it off. */
    public record Memory(DataSize maxSize, DataSize maxItemSize) {
    }

    /** Validated by {@link CacheConfig}'s constructor, whose messages name the {@code cache.*} key. */
    public CacheSection {
        build(dir, maxSize, maxEntries, maxItemSize, memory, durability);
    }

    /** The settings as kura-cache takes them, defaults filled in. */
    public CacheConfig toCacheConfig() {
        return build(dir, maxSize, maxEntries, maxItemSize, memory, durability);
    }

    // Static so that the compact constructor can validate its parameters (fields are unset there).
    private static CacheConfig build(Path dir, DataSize maxSize, Long maxEntries, DataSize maxItemSize, Memory memory,
                                     CacheConfig.Durability durability) {
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
        return new CacheSection(null, null, null, null, null, null);
    }
}
