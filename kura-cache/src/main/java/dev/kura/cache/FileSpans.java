package dev.kura.cache;

import java.nio.channels.FileChannel;

/**
 * Object bytes of a disk-tier version, checked against their CRC32C just now, given as spans of the
 * entry file so that a writer can send them without copying them through user space
 * ({@code sendfile(2)} / {@code splice(2)}, Netty's {@code DefaultFileRegion}); see
 * {@link CacheEntry#fileSpans}.
 *
 * <p>Why spans and not one region: the entry file interleaves each block's data with its CRC32C
 * (docs/FORMAT.md, "Blocks"), so the object bytes of a range are one file span per block touched.
 *
 * <p>The {@link #channel} is open until {@link #close}: the spans hold a reference on the version's
 * open file, so they stay readable after the key is overwritten, deleted or evicted (the unlinked
 * file stays open). The channel is shared: never close it, never move its position (only
 * positional transfers). Close the spans exactly once, when the last write carrying them has
 * completed or failed.
 *
 * <p>What the check covers: every block of the spans was read from the page cache and matched its
 * CRC32C during {@link CacheEntry#fileSpans}; the send then reads the same page-cache pages. Bytes
 * the kernel evicts and reads back from the device in the microseconds between the two are not
 * checked again.
 *
 * <p>Thread-safety: immutable except {@link #close}, which may run on any thread.
 */
public interface FileSpans extends AutoCloseable {

    /** The entry file, open for positional reads. Shared: do not close it. */
    FileChannel channel();

    /** Number of spans, &gt;= 1. */
    int count();

    /** File offset in bytes of span {@code i}, 0 &lt;= i &lt; {@link #count}. */
    long fileOffset(int i);

    /** Length in bytes of span {@code i}, &gt;= 1. */
    int length(int i);

    /** Object bytes the spans carry: the sum of their lengths. */
    long bytes();

    /** Gives back the reference on the open file. Idempotent. */
    @Override
    void close();
}
