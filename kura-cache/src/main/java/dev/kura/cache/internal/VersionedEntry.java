package dev.kura.cache.internal;

import dev.kura.cache.CacheEntry;

/**
 * A {@link CacheEntry} of either tier, with the version it holds: the random 64-bit write id
 * given to a version when its fill began, shared by both tiers' copies of that version. Version
 * checks ("remove only if still this version", "promote only if still current") compare it,
 * instead of asking which class a handle is.
 */
interface VersionedEntry extends CacheEntry {
    /** The write id of the version this handle reads. */
    long version();
}
