package dev.kura.cache.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small pool of direct buffers, each room for a few blocks with their CRC32Cs
 * ({@link DiskHandle#BLOCKS_PER_READ}), for the reads of {@link DiskHandle}.
 *
 * <p>Why: a block read into a fresh heap buffer cost a 64 KiB allocation per block (gigabytes per
 * second of garbage when serving large hits) and, on io_uring, a copy through a bounce buffer,
 * because the kernel cannot write into the Java heap. A direct buffer is filled by the kernel in
 * place and checksummed where it lies.
 *
 * <p>Invariant: a buffer is released only after the read into it has completed (its future is
 * done) and its bytes have been copied out; nothing keeps a reference to a released buffer.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class BlockBuffers {
    private final int capacity;
    private final int max;
    private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pooled = new AtomicInteger();

    /** @param capacity bytes per buffer (a few blocks and their CRCs); @param max buffers kept when idle */
    BlockBuffers(int capacity, int max) {
        this.capacity = capacity;
        this.max = max;
    }

    /** A cleared buffer with room for {@code bytes}; direct when the pool's size fits. */
    ByteBuffer acquire(int bytes) {
        if (bytes > capacity) {
            return ByteBuffer.allocate(bytes);
        }
        ByteBuffer b = free.poll();
        if (b == null) {
            return ByteBuffer.allocateDirect(capacity).limit(bytes);
        }
        pooled.decrementAndGet();
        return b.clear().limit(bytes);
    }

    /** Returns a buffer from {@link #acquire}; heap buffers and those beyond the bound are dropped. */
    void release(ByteBuffer b) {
        if (b.isDirect() && b.capacity() == capacity && pooled.incrementAndGet() <= max) {
            free.offer(b);
        } else if (b.isDirect() && b.capacity() == capacity) {
            pooled.decrementAndGet();
        }
    }
}
