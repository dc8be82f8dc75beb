package dev.kura.cache.internal;

import org.jspecify.annotations.Nullable;


/**
 * Chooses which disk entry to evict. Implementations keep their own order of entries and are
 * safe for concurrent use; {@link #onAccess} must be cheap because every hit calls it.
 */
interface EvictionPolicy {
    /** A new entry is in the index. */
    void onInsert(DiskEntry e);

    /** An entry was read. */
    void onAccess(DiskEntry e);

    /** An entry left the index (deleted, replaced, evicted, expired, corrupt). Idempotent. */
    void onRemove(DiskEntry e);

    /** The next entry to evict (still linked; the caller removes it), or null when empty. */
    @Nullable DiskEntry victim();

    /** Policy name for reports: {@code lru}, {@code sieve}. */
    String name();

    static EvictionPolicy create(String name) {
        return switch (name) {
            case "lru" -> new LruPolicy();
            case "sieve" -> new SievePolicy();
            default -> throw new IllegalArgumentException("unknown eviction policy " + name);
        };
    }
}
