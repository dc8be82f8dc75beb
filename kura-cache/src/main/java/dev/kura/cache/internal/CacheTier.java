package dev.kura.cache.internal;

import dev.kura.cache.Tier;
import org.jspecify.annotations.Nullable;

import java.util.concurrent.CompletableFuture;

/**
 * What {@link TieredCache} asks of each of its tiers ({@link MemoryTier}, {@link DiskStore}):
 * open the current version of a key, blocking or not, and say how much it holds. Writing differs
 * by tier (a byte array versus a streamed, sealed and renamed file) and stays with each tier.
 *
 * <p>Versions: every handle a tier opens is a {@link VersionedEntry}; both tiers' copies of one
 * version carry the same write id, so cross-tier checks compare versions, never classes.
 *
 * <p>Locking: the disk tier owns the per-key lock ({@link DiskStore#atomically}); the memory tier
 * is changed only inside it, so the two never disagree about which version is current.
 *
 * <p>Thread-safety: implementations are safe for concurrent use.
 */
interface CacheTier {
    /** Which tier this is. */
    Tier tier();

    /** The key's current version, or null (a miss, or a fault, counted). May block on a disk. */
    @Nullable VersionedEntry open(String key);

    /** Asynchronous form of {@link #open}: never blocks the caller; completes with null on a miss. */
    CompletableFuture<? extends VersionedEntry> openAsync(String key);

    /** Bytes held (for the disk tier: bytes of entry files, exactly). */
    long bytes();

    /** Entries held. */
    long entries();

    /** Entries removed to stay within bounds since open. */
    long evictions();
}
