package dev.kura.cache.internal;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of one memory-tier entry, in native memory ({@code malloc}), reference-counted and
 * freed ({@code free}) when the last reference goes.
 *
 * <h2>Why native memory and not a {@code byte[]}</h2>
 * A memory hit was a copy of the heap array into a fresh direct buffer for the socket, and that copy
 * (and the page faults of the fresh buffers) was about half of kura's CPU for 1 MiB hits
 * (docs/SERVE.md "Where the time goes"). Bytes held in native memory go to the socket as they are:
 * the HTTP layer wraps a {@link #view} in a buffer and the kernel copies from it, so a hit costs no
 * user-space copy. The heap also stops carrying the memory tier (256 MiB by default) through every
 * old-generation collection.
 *
 * <h2>Why explicit freeing, not a GC-managed direct buffer</h2>
 * A {@code ByteBuffer.allocateDirect} or {@code Arena.ofAuto()} segment is freed when the collector
 * finds its owner unreachable. Memory-tier entries live long enough to reach the old generation,
 * which is collected rarely when the heap is small, so evicted entries would pile up off-heap until
 * the direct-memory limit forced a full collection: a pause on the hit path. A shared {@code Arena}
 * closed per entry frees at once, but each close is a handshake with every Java thread. {@code
 * malloc}/{@code free} cost well under a microsecond and free at once; the price is that the
 * references must be counted exactly, which this class does.
 *
 * <h2>References</h2>
 * One reference belongs to the memory tier while the entry is in it (released by Caffeine's removal
 * listener, whatever the cause); one to each open {@link MemoryEntry} handle; one to each
 * {@link #view} lent to a writer until the writer is done with it. {@link #retain()} fails once the
 * count reached 0 (the bytes are gone): the caller then treats the entry as absent. No byte is read
 * after the count reaches 0, because every reader holds a reference.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class NativeBytes {
    private static final MethodHandle MALLOC;
    private static final MethodHandle FREE;
    /** Bytes allocated and not yet freed, over all instances (a gauge, and a leak check in tests). */
    private static final AtomicLong OUTSTANDING = new AtomicLong();

    static {
        Linker linker = Linker.nativeLinker();
        MALLOC = linker.downcallHandle(linker.defaultLookup().findOrThrow("malloc"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        FREE = linker.downcallHandle(linker.defaultLookup().findOrThrow("free"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    }

    private final MemorySegment segment;
    private final long size;
    private final AtomicInteger refs = new AtomicInteger(1);

    private NativeBytes(MemorySegment segment, long size) {
        this.segment = segment;
        this.size = size;
    }

    /**
     * Allocates {@code size} bytes (uninitialised) with one reference, the caller's.
     *
     * @throws OutOfMemoryError when {@code malloc} returns NULL
     */
    static NativeBytes allocate(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        MemorySegment raw;
        try {
            raw = (MemorySegment) MALLOC.invokeExact(Math.max(1L, size));
        } catch (Throwable t) {
            throw new IllegalStateException("malloc failed", t);
        }
        if (raw.equals(MemorySegment.NULL)) {
            throw new OutOfMemoryError("malloc(" + size + ") returned NULL");
        }
        OUTSTANDING.addAndGet(size);
        return new NativeBytes(raw.reinterpret(size), size);
    }

    /** A copy of {@code data} in native memory, with one reference, the caller's. */
    static NativeBytes copyOf(byte[] data) {
        NativeBytes b = allocate(data.length);
        MemorySegment.copy(data, 0, b.segment, ValueLayout.JAVA_BYTE, 0, data.length);
        return b;
    }

    /** Makes sure {@code malloc} and {@code free} are bound (the class initialised); cheap after the first call. */
    static void link() {
        // the static initialiser did the work
    }

    /** Size in bytes. */
    long size() {
        return size;
    }

    /** Bytes allocated by all instances and not yet freed. */
    static long outstanding() {
        return OUTSTANDING.get();
    }

    /** Takes a reference; false when the bytes are already freed (treat the entry as absent). */
    boolean retain() {
        for (;;) {
            int n = refs.get();
            if (n <= 0) {
                return false;
            }
            if (refs.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Drops a reference; the last one frees the memory. */
    void release() {
        int n = refs.decrementAndGet();
        if (n == 0) {
            OUTSTANDING.addAndGet(-size);
            try {
                FREE.invokeExact(segment);
            } catch (Throwable t) {
                throw new IllegalStateException("free failed", t);
            }
        } else if (n < 0) {
            throw new IllegalStateException("native bytes released more often than retained");
        }
    }

    /**
     * A writable view of all the bytes, for filling them before the entry is published. Valid while
     * the caller holds a reference.
     */
    ByteBuffer writable() {
        return segment.asByteBuffer();
    }

    /**
     * A read-only direct view of bytes {@code [position, position + length)}. Valid only while the
     * caller holds a reference: reading it after the last release reads freed memory.
     */
    ByteBuffer view(long position, int length) {
        return segment.asSlice(position, length).asByteBuffer().asReadOnlyBuffer();
    }

    /** Copies bytes from {@code position} into {@code dst}, advancing it; returns the count. */
    int copyTo(long position, ByteBuffer dst) {
        if (position >= size) {
            return 0;
        }
        int n = (int) Math.min(dst.remaining(), size - position);
        dst.put(segment.asSlice(position, n).asByteBuffer());
        return n;
    }
}
