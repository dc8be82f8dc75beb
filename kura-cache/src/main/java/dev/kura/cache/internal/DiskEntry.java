package dev.kura.cache.internal;

import org.jspecify.annotations.Nullable;


/**
 * One committed version of a key in the disk tier's index: what the index needs to find, account
 * and evict it without touching the disk. Metadata lives in the file's header and is read when a
 * handle opens, which keeps the index small (a million entries cost tens of MB, not hundreds).
 *
 * <p>Identity matters: the index maps a key to exactly one {@code DiskEntry}, and conditional
 * removals ({@code index.remove(key, entry)}) remove only the version they saw, never a newer one.
 *
 * <p>The {@code prev}/{@code next} links and {@code visited} bit belong to the eviction policy and
 * are guarded by it.
 */
final class DiskEntry {
    final String key;
    final String name;
    final long fileLength;
    final long objectSize;
    final long writeId;
    /**
     * Non-zero when a metadata record ({@code <name>.meta}, see {@link EntryFormat#encodeMetaRecord})
     * beside the file holds newer metadata than the file's header (a revalidation updated it); counts
     * the updates made since the index learnt of the version (recovery counts an adopted record
     * as one). Written under the key's lock; read without it (a reader that misses a just-made update serves
     * the header's older metadata, which at worst costs one extra revalidation).
     */
    volatile int metaUpdates;

    // eviction policy state
    @Nullable DiskEntry prev;
    @Nullable DiskEntry next;
    volatile boolean visited;
    boolean linked;

    DiskEntry(String key, String name, long fileLength, long objectSize, long writeId, boolean hasMeta) {
        this.key = key;
        this.name = name;
        this.fileLength = fileLength;
        this.objectSize = objectSize;
        this.writeId = writeId;
        this.metaUpdates = hasMeta ? 1 : 0;
    }

    @Override
    public String toString() {
        return "DiskEntry[" + key + ", " + name + ", " + fileLength + " B, id " + Long.toHexString(writeId) + "]";
    }
}
