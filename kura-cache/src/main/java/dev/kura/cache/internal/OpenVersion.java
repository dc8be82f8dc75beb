package dev.kura.cache.internal;

import dev.kura.cache.EntryMetadata;
import dev.kura.io.IoFile;
import org.jspecify.annotations.Nullable;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One committed version of a disk entry, opened once: its descriptor, decoded header, current
 * metadata and the head of the file read at open ({@code prefetch}: the whole file for small
 * entries, already checked). Every {@link DiskHandle} on the version and the {@link OpenFiles}
 * cache hold a reference; the descriptor is closed when the last one is released.
 *
 * <p>Everything but the reference count is immutable: a handle's reads are positional and its
 * views of {@code prefetch} are its own, so any number of handles share one open version.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class OpenVersion {
    final DiskEntry entry;
    final IoFile file;
    final EntryFormat.Header header;
    /** The version's metadata when opened: the header's, or a newer metadata record's. */
    final EntryMetadata metadata;
    /** {@link DiskEntry#metaUpdates} when {@link #metadata} was read. */
    final int metaSeen;
    /** Bytes [0, prefetch.limit()) of the file, read at open; never written after construction. */
    final ByteBuffer prefetch;
    /** Holders; 0 means the descriptor is closed (or being closed) and can no longer be retained. */
    private final AtomicInteger refs = new AtomicInteger(1);

    /** An open version with one reference, the caller's. */
    OpenVersion(DiskEntry entry, IoFile file, EntryFormat.Header header, @Nullable ByteBuffer prefetch,
                EntryMetadata metadata, int metaSeen) {
        this.entry = entry;
        this.file = file;
        this.header = header;
        this.metadata = metadata;
        this.metaSeen = metaSeen;
        this.prefetch = prefetch == null ? ByteBuffer.allocate(0) : prefetch;
    }

    /** True when this is still what a fresh open of {@code e} would find: same version, same metadata. */
    boolean matches(DiskEntry e) {
        return entry == e && e.metaUpdates == metaSeen;
    }

    /** Takes one more reference; false when the last one is already gone (the descriptor is closed). */
    boolean retain() {
        while (true) {
            int r = refs.get();
            if (r == 0) {
                return false;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /** Gives one reference back; the last closes the descriptor. */
    void release() {
        int r = refs.decrementAndGet();
        if (r == 0) {
            DiskStore.closeQuietly(file);
        } else if (r < 0) {
            throw new IllegalStateException("open version of " + entry.key + " released more often than retained");
        }
    }
}
