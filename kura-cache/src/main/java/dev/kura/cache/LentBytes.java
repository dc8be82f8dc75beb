package dev.kura.cache;

import org.jspecify.annotations.Nullable;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Bytes of an in-memory cache entry lent to a writer without a copy ({@link CacheEntry#lend}).
 *
 * <p>The {@link #buffer} is a read-only direct buffer over the memory tier's own bytes; it is valid
 * until {@link #close} and must not be read after it. Closing returns the loan (the memory is freed
 * when the entry has left the memory tier and no loan or handle remains). Close exactly once, from
 * any thread, typically when the socket write that carries the buffer has completed or failed.
 */
public interface LentBytes extends AutoCloseable {

    /** The lent bytes, position 0 to limit; read-only, direct. */
    ByteBuffer buffer();

    /**
     * The memory file that holds the lent bytes, when the memory tier keeps this entry in one
     * (Linux, entries of 64 KiB or more): a writer may send bytes
     * {@code [fileOffset(), fileOffset() + buffer().remaining())} of it as a file region
     * ({@code sendfile(2)} / {@code splice(2)}), so that the kernel references the pages instead
     * of copying them. Null when the bytes are only memory. Valid until {@link #close}; shared:
     * never close it, never move its position (positional transfers only).
     */
    default @Nullable FileChannel file() {
        return null;
    }

    /** Offset in bytes in {@link #file} of the first lent byte; 0 when there is no file. */
    default long fileOffset() {
        return 0;
    }

    /** Returns the loan. Idempotent. */
    @Override
    void close();
}
