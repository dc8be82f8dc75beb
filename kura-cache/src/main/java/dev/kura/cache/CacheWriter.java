package dev.kura.cache;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A streaming insert: write the object's bytes in order, then {@link #commit()} or {@link #abort()}.
 *
 * <p>Bytes go to a unique temporary file; {@code commit} checks that exactly
 * {@link EntryMetadata#size()} bytes were written, seals the file (checksums, footer; fsync when
 * {@code durability = fsync}) and publishes it by atomic rename. Only then does a lookup see it; {@link PendingEntry} readers
 * (followers of the fill) see each byte as soon as it is written.
 * {@code abort}, a failed write, or a commit with the wrong length removes the temporary file and
 * publishes nothing. Objects larger than {@code max_item_size} are refused at
 * {@link Cache#fill(String)} time by {@link Fill.Leader#begin} returning {@code null}.
 *
 * <p>Thread-safety: not thread-safe; one writer thread (or a sequence of them with happens-before,
 * e.g. Netty's event loop) at a time.
 */
public interface CacheWriter extends AutoCloseable {

    /**
     * Appends {@code src}'s remaining bytes, advancing its position.
     *
     * @throws IOException when the disk fails (ENOSPC, EIO...); the writer is then aborted, and the
     *     caller should keep serving its client from the origin
     */
    void write(ByteBuffer src) throws IOException;

    /** Bytes written so far. */
    long written();

    /**
     * A reader of this fill while it is written (the leader's own view; followers get theirs from
     * {@link Fill.Follower#pending()}). The caller closes it.
     *
     * @throws IllegalStateException when the writer has already committed or aborted
     */
    PendingEntry reader();

    /**
     * Publishes the entry.
     *
     * @return a handle on the committed version (the caller must close it)
     * @throws IOException when the length is wrong or the disk fails; nothing is published
     */
    CacheEntry commit() throws IOException;

    /** Discards everything written; idempotent, never throws. */
    void abort();

    /** Aborts unless committed. */
    @Override
    void close();
}
