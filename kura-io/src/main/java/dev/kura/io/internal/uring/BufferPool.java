package dev.kura.io.internal.uring;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Native bounce buffers for operations whose caller passed a heap segment or heap ByteBuffer (the
 * kernel needs an address that stays put), and for the small arguments of OPENAT and STATX.
 *
 * <p>Buffers are 4096-byte aligned, so that a bounce buffer also satisfies O_DIRECT, and come in
 * power-of-two size classes from 4 KiB to 1 MiB, each kept on a bounded free list: after warm-up a
 * steady load allocates no native memory at all (the test of "no native memory grows over
 * millions of operations" reads {@link #allocations()} and {@link #liveBytes()}). Larger requests
 * are allocated and freed per use.
 *
 * <h2>Invariant</h2>
 * A buffer is {@link #release released} only by the ring thread after the CQE of the operation
 * that owns it, or by the submitter before the operation was queued: never while the kernel may
 * still write into it. {@link #close()} runs after every ring has stopped.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class BufferPool {
    static final int MIN_SHIFT = 12;
    static final int MAX_SHIFT = 20;
    private static final long POOLED_BYTES_PER_CLASS = 8L << 20;

    private final ArrayDeque<MemorySegment>[] free;
    private final int[] cap;
    private final AtomicLong live = new AtomicLong();
    private final AtomicLong allocations = new AtomicLong();
    private final AtomicLong outstanding = new AtomicLong();
    private volatile boolean closed;

    @SuppressWarnings("unchecked")
    BufferPool() {
        int n = MAX_SHIFT - MIN_SHIFT + 1;
        free = new ArrayDeque[n];
        cap = new int[n];
        for (int i = 0; i < n; i++) {
            free[i] = new ArrayDeque<>();
            cap[i] = (int) Math.max(8, POOLED_BYTES_PER_CLASS >> (MIN_SHIFT + i));
        }
    }

    private static int sizeClass(long size) {
        int shift = Math.max(MIN_SHIFT, 64 - Long.numberOfLeadingZeros(size - 1));
        return shift - MIN_SHIFT;
    }

    /**
     * A buffer of at least {@code size} bytes (its {@code byteSize()} may be larger), 4096-aligned.
     *
     * @throws OutOfMemoryError when {@code aligned_alloc} fails
     */
    MemorySegment acquire(long size) {
        int c = sizeClass(size);
        if (c < free.length) {
            MemorySegment s;
            synchronized (free[c]) {
                s = free[c].pollFirst();
            }
            outstanding.incrementAndGet();
            return s != null ? s : allocate(1L << (MIN_SHIFT + c));
        }
        outstanding.incrementAndGet();
        return allocate((size + 4095) & ~4095L);
    }

    private MemorySegment allocate(long bytes) {
        long a = Native.alignedAlloc(4096, bytes);
        if (a == 0) {
            outstanding.decrementAndGet();
            throw new OutOfMemoryError("aligned_alloc of " + bytes + " bytes for an io_uring bounce buffer failed");
        }
        allocations.incrementAndGet();
        live.addAndGet(bytes);
        return MemorySegment.ofAddress(a).reinterpret(bytes);
    }

    /** Returns a buffer from {@link #acquire}; it must no longer be reachable by the kernel. */
    void release(MemorySegment s) {
        outstanding.decrementAndGet();
        int c = sizeClass(s.byteSize());
        if (c < free.length && !closed) {
            synchronized (free[c]) {
                if (free[c].size() < cap[c] && !closed) {
                    free[c].addFirst(s);
                    return;
                }
            }
        }
        freeNative(s);
    }

    private void freeNative(MemorySegment s) {
        live.addAndGet(-s.byteSize());
        Native.free(s.address());
    }

    /** Frees every pooled buffer; called once every ring has stopped. */
    void close() {
        closed = true;
        for (ArrayDeque<MemorySegment> q : free) {
            synchronized (q) {
                for (MemorySegment s; (s = q.pollFirst()) != null; ) {
                    freeNative(s);
                }
            }
        }
    }

    /** Bytes of native memory allocated and not yet freed (pooled or handed out). */
    long liveBytes() {
        return live.get();
    }

    /** Number of {@code aligned_alloc} calls so far. */
    long allocations() {
        return allocations.get();
    }

    /** Buffers handed out and not yet released. */
    long outstanding() {
        return outstanding.get();
    }
}
