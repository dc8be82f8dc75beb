package dev.kura.s3;

import dev.kura.cache.EntryMetadata;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * An object opened through {@link CachedBucket}: a committed cache entry, or a fill still being
 * written from the origin, read by position either way. A reader of a fill gets each byte as soon
 * as the fill has written it (kura-cache's {@link dev.kura.cache.PendingEntry}), so the first
 * client of an uncached object starts before the object has arrived.
 *
 * <p>Thread-safety: safe for concurrent use; reads asked for at the same time run one after the
 * other, in the order asked.
 */
public interface CachedObject extends AutoCloseable {

    /** Size in bytes, ETag, expiry and headers of the object. */
    EntryMetadata metadata();

    /**
     * Reads bytes at {@code position} into {@code dst}, advancing its position.
     *
     * @param position offset in the object in bytes, &gt;= 0
     * @return a future of the number of bytes read: at least 1 once the byte at {@code position}
     *     is available (fewer than {@code dst.remaining()} is normal); -1 at or past the end.
     *     Completes exceptionally with {@link dev.kura.cache.FillFailedException} when the fill
     *     failed before that byte, with {@link dev.kura.cache.CorruptEntryException} or an
     *     {@link java.io.IOException} on a corrupt block or a disk error
     */
    CompletableFuture<Integer> readAsync(long position, ByteBuffer dst);

    /** Releases the object (a fill others read goes on); idempotent. */
    @Override
    void close();
}
