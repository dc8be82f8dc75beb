package dev.kura.io;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

/**
 * Several operations submitted together: on io_uring they go to the kernel in one
 * {@code io_uring_enter(2)} call; on NIO they are handed to the pool together.
 *
 * <p>Add operations, then call {@link #submit()}. Each add returns the future of that operation;
 * none starts before {@code submit()}. The operations are independent: they may run in any order
 * and one failing does not fail the others (no {@code IOSQE_IO_LINK}).
 *
 * <p>Thread-safety: not thread-safe; build and submit a batch on one thread. The futures may be
 * used from any thread. A batch is submitted once.
 */
public interface IoBatch {

    /** Adds a positional read; the future gives the bytes read (0 at end of file). */
    CompletableFuture<Integer> read(IoFile file, MemorySegment dst, long position);

    /** Adds a positional write; the future gives the bytes written. */
    CompletableFuture<Integer> write(IoFile file, MemorySegment src, long position);

    /** Adds an {@code fsync(2)} of {@code file}. */
    CompletableFuture<Void> fsync(IoFile file);

    /** Number of operations added so far. */
    int size();

    /**
     * Submits every operation added.
     *
     * @throws IllegalStateException if already submitted
     */
    void submit();

    /**
     * A batch that starts each operation through its file's own asynchronous form at
     * {@link #submit()}, with no kernel queue behind it: for {@link FileIo} decorators (fault
     * injection, checks) whose files the backend's own batch would not accept.
     *
     * <p>Thread-safety: as any batch, one thread fills and submits it.
     */
    static IoBatch ofAsyncForms() {
        return new dev.kura.io.internal.SimpleBatch();
    }
}
