package dev.kura.cache;

import dev.kura.io.FileIo;

import java.io.IOException;
import java.util.Optional;

/**
 * A tiered object cache: a memory tier (Caffeine, W-TinyLFU, bounded by bytes) in front of a
 * persistent, crash-safe disk tier on kura-io.
 *
 * <p>Keys are strings (the S3 proxy uses {@code bucket/key}). Values are immutable objects with
 * metadata, written once by a streaming {@link CacheWriter} and read by range through a
 * {@link CacheEntry}. The disk tier survives restarts: {@link #open} brings back every committed
 * entry and drops anything torn, partial or corrupt.
 *
 * <p>A cache never makes its caller handle its own faults: a lookup that hits an I/O error or a
 * corrupt file is a miss (the fault is counted in {@link #stats()} and logged once per burst).
 *
 * <p>Thread-safety: safe for concurrent use from platform and virtual threads.
 */
public interface Cache extends AutoCloseable {

    /**
     * Opens (or creates) a cache in {@code config.dir()}, starting recovery of the entries already
     * there. The cache serves at once while recovery runs in the background.
     *
     * <p>Recovery loads the index snapshot a clean close left, or else scans the entry files
     * (header and trailer of each); it deletes temporary files, torn or corrupt files and orphans,
     * and makes {@link CacheStats#diskBytes()} exact. While it runs, a lookup of a key it has not
     * reached yet reads that key's file directly (with the same checks) and serves it, so a
     * committed entry is never a miss because of recovery; a put, delete or purge made meanwhile
     * takes precedence over what recovery finds later. The on-disk format is in
     * {@code docs/FORMAT.md}.
     *
     * @throws IOException when the directory cannot be created or locked (another process has it)
     */
    static Cache open(CacheConfig config, FileIo io) throws IOException {
        return dev.kura.cache.internal.TieredCache.open(config, io);
    }

    /**
     * Finds the entry for {@code key}, fresh or expired (check
     * {@link EntryMetadata#isExpired}); the caller closes the handle. Blocking: it may open and read
     * files on the caller's thread (and read a small entry whole to promote it to the memory
     * tier); call it from a virtual or worker thread, never an event loop ({@link #lookupAsync}).
     *
     * @return the entry, or empty on a miss (also on an I/O error or a corrupt entry)
     */
    Optional<CacheEntry> lookup(String key);

    /**
     * Asynchronous form of {@link #lookup}: never blocks the caller on a disk. A memory-tier hit
     * completes at once; a disk hit opens the file and reads its header (and metadata record)
     * through kura-io's asynchronous forms; during recovery, a key the scan has not reached yet is
     * probed on a virtual thread of the cache, not the caller's. A disk hit small enough for the
     * memory tier is promoted after it is served: when the handle is closed, its bytes are read
     * asynchronously (every block's CRC checked) and offered to the memory tier off the caller's
     * thread. The future's callbacks may run on a kura-io completion thread: hop to your own
     * executor (e.g. the channel's event loop) before doing real work.
     *
     * @return a future of the entry (the caller closes it), or of empty on a miss (also on an I/O
     *     error or a corrupt entry); never completes exceptionally except with
     *     {@link IllegalStateException} when the cache is closed
     */
    java.util.concurrent.CompletableFuture<Optional<CacheEntry>> lookupAsync(String key);

    /** Like {@link #lookup}, but an expired entry is a miss (its space is reclaimed). */
    Optional<CacheEntry> get(String key);

    /** Asks to fill {@code key}: see {@link Fill}. */
    Fill fill(String key);

    /**
     * Replaces the metadata of the current version of {@code key} if its ETag is still
     * {@code etag} (after a revalidation answered 304).
     *
     * @return false when the entry is gone or its ETag differs
     */
    boolean updateMetadata(String key, String etag, EntryMetadata metadata);

    /** Removes {@code key} from every tier; true if something was removed. */
    boolean delete(String key);

    /** Removes every key starting with {@code prefix}; returns how many. */
    long purgePrefix(String prefix);

    /** Removes everything. */
    void clear();

    /** Current counters. */
    CacheStats stats();

    /** True once recovery of the entries present at open has finished. */
    boolean recovered();

    /** Stops: waits for writers in flight to end, flushes what recovery needs, releases the directory. */
    @Override
    void close();
}
