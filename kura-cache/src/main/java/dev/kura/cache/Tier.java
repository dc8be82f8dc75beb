package dev.kura.cache;

/**
 * A tier of the cache: where a lookup found an entry (for {@code X-Cache}-style reporting and
 * metrics). How its bytes are read is a separate question: see {@link CacheEntry#inMemory()}.
 */
public enum Tier {
    /** The memory tier (Caffeine, bounded by bytes). */
    MEMORY,
    /** The disk tier (entry files on kura-io). */
    DISK
}
