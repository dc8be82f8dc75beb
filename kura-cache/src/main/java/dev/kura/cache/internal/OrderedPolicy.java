package dev.kura.cache.internal;

import java.util.function.Consumer;

/** A policy that can list its entries from the next to evict to the last (for the snapshot). */
interface OrderedPolicy {
    /** Visits linked entries, oldest (first to go) first. Holds the policy's lock meanwhile. */
    void forEachOldestFirst(Consumer<DiskEntry> action);
}
