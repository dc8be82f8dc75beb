package dev.kura.cache;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * A reader of a fill while it is being written: the streaming-follower side of single flight
 * (issue 8 §2). Bytes are readable as soon as the writer has written them, so a follower sends
 * its first byte while the leader is still fetching, and every reader goes at its own pace: the
 * fill runs at the origin's pace, readers at their clients'.
 *
 * <h2>Where the bytes come from</h2>
 * From the fill's temporary file on disk, through kura-io's asynchronous reads (or, for an object
 * small enough for the memory tier, from the fill's memory buffer). Nothing is buffered per
 * reader beyond one block in flight, so memory stays bounded whatever the readers' pace: a reader
 * far behind the writer reads from the file, not from a queue.
 *
 * <h2>Integrity of bytes not yet committed</h2>
 * A block whose CRC32C has been written (the block is whole) is read together with its CRC and
 * checked, exactly as a committed entry's block is. The writer's current, partial block has no CRC
 * yet: its bytes are returned as the writer wrote them, read back through the same descriptor
 * of a file no other writer touches (a unique {@code O_EXCL} temporary name). That is sound because
 * the kernel returns what was written to a file (read-after-write coherence of the page cache,
 * POSIX {@code write(2)}), and what the writer wrote is what the origin sent; once the block is
 * whole a later read of it is checked against its CRC. Only the bytes below the writer's published
 * mark are ever read, so a reader never sees bytes of a write that failed.
 *
 * <h2>Waiting</h2>
 * {@link #readAsync} never blocks and never polls: a read of bytes not yet written registers a
 * waiter that the writer completes when it publishes more bytes, commits or aborts. Callbacks
 * of the returned futures may therefore run on the writer's thread or on a kura-io completion
 * thread: keep them short and non-blocking.
 *
 * <p>Thread-safety: one read in flight at a time per reader (a second concurrent
 * {@code readAsync} fails with {@link IllegalStateException}); many readers of one fill may read
 * at different positions concurrently. {@link #close()} may be called from any thread.
 */
public interface PendingEntry extends AutoCloseable {

    /** Size, validators, expiry and headers of the object being filled (as given to {@code begin}). */
    EntryMetadata metadata();

    /**
     * Reads bytes of the object at {@code position} into {@code dst} (from its position to its
     * limit), advancing {@code dst}'s position.
     *
     * @param position offset in the object in bytes, &gt;= 0
     * @return a future of the number of bytes read: at least 1 as soon as the byte at
     *     {@code position} has been written (as many as are available, up to
     *     {@code dst.remaining()}); 0 when {@code dst} has no room; -1 when
     *     {@code position >= size} and the fill has committed. Completes exceptionally with
     *     {@link FillFailedException} when the fill ended (abort, failure) before that byte was
     *     written, with {@link CorruptEntryException} when a whole block fails its CRC32C, with
     *     an {@link java.io.IOException} on a disk error, with {@link IllegalStateException} when
     *     the reader is closed (also while waiting) or another read is in flight
     */
    CompletableFuture<Integer> readAsync(long position, ByteBuffer dst);

    /**
     * Completes when the fill has committed (the entry is published); completes exceptionally
     * with {@link FillFailedException} when it ended without committing.
     */
    CompletableFuture<Void> committed();

    /** Releases the reader (a waiting read fails); idempotent; never blocks on I/O in flight. */
    @Override
    void close();
}
