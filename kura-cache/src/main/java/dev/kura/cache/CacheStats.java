package dev.kura.cache;

import java.util.Map;

/**
 * A snapshot of the cache's counters. Counters are totals since open; sizes are current.
 *
 * @param hits lookups served (fresh or stale) by any tier
 * @param misses lookups that found nothing usable
 * @param memoryHits hits served by the memory tier
 * @param diskHits hits served by the disk tier
 * @param evictions entries removed to stay within bounds (both tiers)
 * @param expirations entries removed because they expired
 * @param memoryBytes bytes held by the memory tier
 * @param memoryEntries entries held by the memory tier
 * @param diskBytes bytes of entry files in the disk tier, exactly as on disk
 * @param diskEntries entries in the disk tier
 * @param fillsInFlight fills started and not yet ended
 * @param errors errors by kind ({@code ENOSPC}, {@code EIO}, {@code EACCES}, {@code corrupt}, ...)
 * @param recoveredEntries entries brought back at the last open
 * @param recoveryNanos how long the last recovery took, in nanoseconds; -1 while it is running
 * @param diskReadsCached reads of disk-tier blocks served on the caller's thread from the page
 *     cache ({@link CacheEntry#readIfCached}), each one scatter read of up to 8 blocks
 * @param diskReadsAsync reads of disk-tier blocks through the io backend's asynchronous forms
 * @param promotionsSkipped disk hits that the memory tier would take but that were not promoted
 *     because the bound on promotions running at once was reached
 *
 * <p>Thread-safety: immutable.
 */
public record CacheStats(long hits, long misses, long memoryHits, long diskHits, long evictions,
                         long expirations, long memoryBytes, long memoryEntries, long diskBytes,
                         long diskEntries, long fillsInFlight, Map<String, Long> errors,
                         long recoveredEntries, long recoveryNanos, long diskReadsCached, long diskReadsAsync,
                         long promotionsSkipped) {
    public CacheStats {
        errors = Map.copyOf(errors);
    }
}
