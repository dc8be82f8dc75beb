package dev.kura.cache.internal;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

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
 * <h2>Memory files, for sends without a copy</h2>
 * Bytes of {@link #FILE_MIN} or more are held, on Linux, in a memory file ({@code memfd_create(2)},
 * mapped shared with {@code mmap(2)}) instead of {@code malloc}'d memory, as long as fewer than
 * {@link #MAX_FILES} such files are open (4,096, fewer under a low descriptor limit). The mapping
 * is read and written like any native memory; the file ({@link #file}) lets a writer hand the same
 * pages to the socket with {@code sendfile(2)} or {@code splice(2)} (Netty's file regions,
 * {@code serve.zero-copy: memory}): the kernel references the pages instead of copying the bytes
 * into the socket buffer under the socket's lock, as nginx's {@code sendfile} does from the page
 * cache (docs/SERVE.md, "Zero-copy memory hits"). A page handed to the socket stays referenced by
 * the kernel after the file is closed and unmapped, and the bytes never change once published, so
 * freeing an entry while a send is in flight is safe. The cap bounds the descriptors the tier
 * holds (one per file); past it, or where memory files cannot be made, bytes are {@code malloc}'d
 * and sends copy.
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
    /** Smallest size in bytes held in a memory file: below it a send is dominated by per-request work. */
    static final long FILE_MIN = 64 * 1024;
    /**
     * Memory files open at most (one descriptor each): 4,096 (256 MiB of tier at {@link #FILE_MIN}),
     * or a quarter of the process's descriptor limit when that is lower, so that sockets and the
     * disk tier's open files always keep most of the descriptors.
     */
    static final int MAX_FILES = maxFiles();
    private static final MethodHandle MALLOC;
    private static final MethodHandle FREE;
    /** Bytes allocated and not yet freed, over all instances (a gauge, and a leak check in tests). */
    private static final AtomicLong OUTSTANDING = new AtomicLong();
    /** Memory files open now. */
    private static final AtomicInteger FILES = new AtomicInteger();

    static {
        Linker linker = Linker.nativeLinker();
        MALLOC = linker.downcallHandle(linker.defaultLookup().findOrThrow("malloc"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        FREE = linker.downcallHandle(linker.defaultLookup().findOrThrow("free"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    }

    private final MemorySegment segment;
    private final long size;
    /** The memory file whose shared mapping {@link #segment} is, or null for {@code malloc}'d bytes. */
    private final @Nullable FileChannel file;
    private final AtomicInteger refs = new AtomicInteger(1);

    private NativeBytes(MemorySegment segment, long size, @Nullable FileChannel file) {
        this.segment = segment;
        this.size = size;
        this.file = file;
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
        if (size >= FILE_MIN && MemoryFiles.AVAILABLE) {
            NativeBytes b = inMemoryFile(size);
            if (b != null) {
                return b;
            }
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
        return new NativeBytes(raw.reinterpret(size), size, null);
    }

    private static int maxFiles() {
        long limit = java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix ? unix.getMaxFileDescriptorCount() : 0;
        return (int) Math.min(4096, limit / 4);
    }

    /** {@code size} bytes in a new memory file, or null past {@link #MAX_FILES} or when one cannot be made. */
    private static @Nullable NativeBytes inMemoryFile(long size) {
        if (FILES.incrementAndGet() > MAX_FILES) {
            FILES.decrementAndGet();
            return null;
        }
        MemoryFiles.Mapped m;
        try {
            m = MemoryFiles.create(size);
        } catch (IOException | RuntimeException e) {
            FILES.decrementAndGet();
            MemoryFiles.failed(e);
            return null;
        }
        OUTSTANDING.addAndGet(size);
        return new NativeBytes(m.segment(), size, m.file());
    }

    /** A copy of {@code data} in native memory, with one reference, the caller's. */
    static NativeBytes copyOf(byte[] data) {
        NativeBytes b = allocate(data.length);
        MemorySegment.copy(data, 0, b.segment, ValueLayout.JAVA_BYTE, 0, data.length);
        return b;
    }

    /**
     * Binds {@code malloc} and {@code free} (the class initialised) and the memory-file calls, and
     * makes and frees one memory file, so that the first fill's commit does not pay for linking
     * (binding a downcall costs tens of milliseconds on a cold JVM: a commit that late turned the
     * next requests for the object into followers of a fill whose bytes were all sent). Cheap
     * after the first call.
     */
    static void link() {
        if (MemoryFiles.AVAILABLE && FILES.get() == 0) {
            NativeBytes b = inMemoryFile(FILE_MIN);
            if (b != null) {
                b.release();
            }
        }
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
            if (file != null) {
                FILES.decrementAndGet();
                MemoryFiles.close(segment, file);
                return;
            }
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
     * The memory file holding these bytes at offset 0, for a send that hands its pages to the socket
     * ({@code sendfile(2)}, {@code splice(2)}), or null when they are {@code malloc}'d. Valid while
     * the caller holds a reference; shared: never close it or move its position.
     */
    @Nullable FileChannel file() {
        return file;
    }

    /** Memory files open now, over all instances. */
    static int files() {
        return FILES.get();
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
