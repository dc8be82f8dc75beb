package dev.kura.cache;

import java.nio.ByteBuffer;

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

    /** Returns the loan. Idempotent. */
    @Override
    void close();
}
