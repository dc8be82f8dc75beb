package dev.kura.cache.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The disk tier's open-file cache: recently opened versions ({@link OpenVersion}), kept open so
 * that a disk hit on a hot entry costs its data reads only, not an {@code open(2)}, a header read,
 * a header decode and a {@code close(2)}. It is nginx's {@code open_file_cache} for kura's entry
 * files; on the random-range row of bench/serve.sh (256 KiB ranges of a 1 GiB object in 4 MiB
 * slices) the open and header read were two of a hit's three ring round trips.
 *
 * <h2>Design</h2>
 * A Caffeine cache, bounded by count ({@link #DEFAULT_MAX} versions, so descriptors), of the key's
 * version as opened. It never decides what is current: the index does. A lookup hands out the
 * cached version only if it {@link OpenVersion#matches} the index's entry (same version object,
 * same metadata-update count); anything else is a miss and the fresh open replaces it. So a stale
 * open version can be found but never served.
 *
 * <p>Disk space is the reason stale versions must also leave promptly: a descriptor keeps an
 * unlinked file's blocks allocated. {@link DiskStore} calls {@link #invalidate} wherever an entry
 * leaves the index (replace, remove, evict, corrupt); {@link #offer} re-checks the index after
 * inserting, so an open that raced with a removal does not linger. Entries also expire
 * {@link #DEFAULT_VALID} after they were opened, like nginx's {@code open_file_cache_valid}, so a
 * file changed from outside kura (not something kura supports, but an operator may do it) is
 * looked at again within that time; every block read is checked against its CRC32C in any case.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class OpenFiles {
    /** Versions kept open (descriptors): enough for the slices a hot working set reads. */
    static final int DEFAULT_MAX = 1024;
    /** How long an open version is handed out before it is opened again. */
    static final Duration DEFAULT_VALID = Duration.ofSeconds(10);

    private final @Nullable Cache<String, OpenVersion> cache;
    private final LongAdder hits = new LongAdder();

    /** @param max versions kept open; 0 turns the cache off */
    OpenFiles(int max, Duration valid) {
        if (max <= 0) {
            this.cache = null;
            return;
        }
        this.cache = Caffeine.newBuilder()
                .maximumSize(max)
                .expireAfterWrite(valid)
                .executor(Runnable::run)
                .removalListener((@Nullable String k, @Nullable OpenVersion v, RemovalCause c) -> {
                    if (v != null) {
                        v.release(); // the cache's reference
                    }
                })
                .build();
    }

    /**
     * The open version of {@code e}, with a reference taken for the caller, or null when none is
     * cached (or the cached one is of another version or older metadata).
     */
    @Nullable OpenVersion acquire(DiskEntry e) {
        if (cache == null) {
            return null;
        }
        OpenVersion v = cache.getIfPresent(e.key);
        if (v != null && v.matches(e) && v.retain()) {
            hits.increment();
            return v;
        }
        return null;
    }

    /**
     * Keeps {@code v} (just opened; the caller keeps its own reference) for later lookups, if
     * it is still the index's current version with current metadata.
     *
     * @param index the disk tier's index, re-read after the insert
     */
    void offer(OpenVersion v, ConcurrentMap<String, DiskEntry> index) {
        if (cache == null || !v.retain()) {
            return;
        }
        cache.put(v.entry.key, v);
        // A removal between the caller's open and this put has already invalidated the key: drop
        // what was just put (only it, not a newer one another thread put since).
        if (index.get(v.entry.key) != v.entry || !v.matches(v.entry)) {
            cache.asMap().remove(v.entry.key, v);
        }
    }

    /** Drops the key's open version; its descriptor closes once the handles reading it close. */
    void invalidate(String key) {
        if (cache != null) {
            cache.invalidate(key);
        }
    }

    /** Drops every open version (at close of the store). */
    void invalidateAll() {
        if (cache != null) {
            cache.invalidateAll();
            cache.cleanUp();
        }
    }

    /** Lookups that found a matching open version. */
    long hits() {
        return hits.sum();
    }
}
