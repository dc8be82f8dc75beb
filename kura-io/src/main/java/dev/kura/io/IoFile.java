package dev.kura.io;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * An open file of a {@link FileIo}: positional reads and writes, fsync, size, close.
 *
 * <h2>Two forms of every operation</h2>
 * Each operation comes in an asynchronous form ({@code readAsync}, ...) returning a
 * {@link CompletableFuture}, and a blocking form ({@code read}, ...). The blocking form is safe on
 * virtual threads: it waits by parking, so it never pins a carrier thread (the io_uring backend
 * blocks in {@code io_uring_enter(2)} only on its own platform ring threads).
 *
 * <h2>Buffers</h2>
 * Data moves between the file and a {@link MemorySegment} (any segment; a native one avoids a copy
 * on io_uring) or a {@link ByteBuffer} (its bytes from position to limit; the position advances by
 * the count transferred, as {@link java.nio.channels.FileChannel#read(ByteBuffer, long)} does).
 * <b>The caller must not free, reuse or read a buffer until the operation's future has
 * completed</b>, whatever the outcome: the kernel may write into it until then. kura-io keeps its
 * side of this: a future completes only after the kernel has let go of the buffer, even when the
 * operation was cancelled or the file closed. For that reason a submitted operation cannot be
 * cancelled: {@code cancel} on its future returns false and the future completes with the
 * operation's outcome.
 *
 * <h2>Short transfers and end of file</h2>
 * {@code read} may transfer fewer bytes than asked (see {@code pread(2)}); it returns 0 at or past
 * end of file, which is never an error. {@code readFully} loops until the buffer is full or end of
 * file; {@code writeFully} loops until every byte is written.
 *
 * <h2>Errors</h2>
 * Every failure is an {@link IoException} naming the errno and path: thrown by the blocking form,
 * completing the future exceptionally in the asynchronous form. An operation on a closed file fails
 * with {@link Errno#EBADF}. {@link OpenFlag#DIRECT} with a misaligned buffer, length or offset
 * fails with {@link Errno#EINVAL}.
 *
 * <h2>Thread-safety</h2>
 * Safe for concurrent use: any number of threads may have operations in flight on one file.
 * Dependent stages of a returned future that are not {@code *Async} may run on a backend thread
 * (an io_uring ring thread or a NIO pool thread): keep them short and non-blocking.
 */
public interface IoFile extends AutoCloseable {

    /** The path this file was opened with. */
    Path path();

    /** The flags this file was opened with. */
    Set<OpenFlag> flags();

    /**
     * The file's current size in bytes ({@code fstat(2)} {@code st_size}).
     *
     * @throws IoException EBADF when closed, EIO
     */
    long size() throws IoException;

    /**
     * Reads up to {@code dst.byteSize()} bytes at {@code position}.
     *
     * @param dst where the bytes go; at most {@link Integer#MAX_VALUE} bytes are read at once
     * @param position file offset in bytes, &gt;= 0 (offsets beyond 4 GiB are fine)
     * @return a future of the number of bytes read, 0 at or past end of file
     */
    CompletableFuture<Integer> readAsync(MemorySegment dst, long position);

    /** Reads into {@code dst}'s remaining bytes at {@code position}; see {@link #readAsync(MemorySegment, long)}. */
    CompletableFuture<Integer> readAsync(ByteBuffer dst, long position);

    /**
     * Writes up to {@code src.byteSize()} bytes at {@code position}.
     *
     * @return a future of the number of bytes written (may be short, see {@code pwrite(2)})
     */
    CompletableFuture<Integer> writeAsync(MemorySegment src, long position);

    /** Writes {@code src}'s remaining bytes at {@code position}; see {@link #writeAsync(MemorySegment, long)}. */
    CompletableFuture<Integer> writeAsync(ByteBuffer src, long position);

    /**
     * Reads until {@code dst} is full or end of file, looping over short reads.
     *
     * @return a future of the number of bytes read: {@code dst.byteSize()} unless end of file came first
     */
    CompletableFuture<Long> readFullyAsync(MemorySegment dst, long position);

    /**
     * Scatter read ({@code preadv(2)}; io_uring's {@code IORING_OP_READV}): fills {@code dsts} in
     * order with the file's bytes from {@code position} on, looping over short reads, until every
     * segment is full or end of file. One system call or SQE for all of them where the backend
     * has a vectored read and the segments are native memory; one read per segment otherwise.
     *
     * @param dsts where the bytes go, in file order; at most {@link #MAX_SEGMENTS} segments, none
     *     read-only; none of them may be touched until the future completes
     * @param position file offset in bytes, &gt;= 0
     * @return a future of the number of bytes read: the segments' total size unless end of file came first
     */
    CompletableFuture<Long> readFullyAsync(java.util.List<MemorySegment> dsts, long position);

    /** The most segments one scatter read takes: Linux's {@code UIO_MAXIOV} (include/uapi/linux/uio.h). */
    int MAX_SEGMENTS = 1024;

    /** Writes every byte of {@code src} at {@code position}, looping over short writes. */
    CompletableFuture<Void> writeFullyAsync(MemorySegment src, long position);

    /** Flushes data and metadata to the device ({@code fsync(2)}). An EIO here means the data is lost. */
    CompletableFuture<Void> fsyncAsync();

    /** Flushes data and the metadata needed to read it back ({@code fdatasync(2)}). */
    CompletableFuture<Void> fdatasyncAsync();

    /** Blocking form of {@link #readAsync(MemorySegment, long)}. @throws IoException on failure */
    int read(MemorySegment dst, long position) throws IoException;

    /**
     * Reads what the page cache already holds at {@code position}, on the calling thread, without
     * ever waiting for the device: {@code preadv2(2)} with {@code RWF_NOWAIT} (Linux 4.14+). For a
     * caller on an event loop whose files are usually cached, this is a copy instead of a hop to
     * a backend thread and back; when it answers -1, the caller uses {@link #readAsync}.
     *
     * <p>The default is the scatter form {@link #readIfCached(java.util.List, long)} over
     * {@code dst} alone, so a backend implements only that one; it answers -1 on the NIO backend
     * and for files opened with {@link OpenFlag#DIRECT}.
     *
     * @param dst where the bytes go (a native segment; a heap segment answers -1)
     * @param position file offset in bytes, &gt;= 0
     * @return bytes read, possibly fewer than asked (only the cached part), 0 at or past end of
     *     file; -1 when none of the range could be read without blocking ({@code EAGAIN}) or the
     *     backend cannot tell
     * @throws IoException EBADF when closed, EIO and the like
     */
    default int readIfCached(MemorySegment dst, long position) throws IoException {
        return (int) readIfCached(java.util.List.of(dst.asSlice(0, Math.min(dst.byteSize(), Integer.MAX_VALUE))), position);
    }

    /**
     * The scatter form of {@link #readIfCached(MemorySegment, long)}: one {@code preadv2(2)} with
     * {@code RWF_NOWAIT} that fills {@code dsts} in order from {@code position}, as
     * {@link #readFullyAsync(java.util.List, long)} would, but only from the page cache and on the
     * calling thread.
     *
     * <p>The default answers -1.
     *
     * @param dsts native segments, at most {@link #MAX_SEGMENTS}; a heap segment among them answers -1
     * @param position file offset in bytes, &gt;= 0
     * @return bytes read (possibly fewer than the segments hold: only the cached prefix), 0 at or past
     *     end of file; -1 when nothing could be read without blocking or the backend cannot tell
     * @throws IoException EBADF when closed, EIO and the like
     */
    default long readIfCached(java.util.List<MemorySegment> dsts, long position) throws IoException {
        return -1;
    }

    /** Blocking form of {@link #readAsync(ByteBuffer, long)}. @throws IoException on failure */
    int read(ByteBuffer dst, long position) throws IoException;

    /** Blocking form of {@link #writeAsync(MemorySegment, long)}. @throws IoException on failure */
    int write(MemorySegment src, long position) throws IoException;

    /** Blocking form of {@link #writeAsync(ByteBuffer, long)}. @throws IoException on failure */
    int write(ByteBuffer src, long position) throws IoException;

    /** Blocking form of {@link #readFullyAsync}. @throws IoException on failure */
    long readFully(MemorySegment dst, long position) throws IoException;

    /** Blocking form of {@link #writeFullyAsync}. @throws IoException on failure */
    void writeFully(MemorySegment src, long position) throws IoException;

    /** Blocking form of {@link #fsyncAsync()}. @throws IoException on failure */
    void fsync() throws IoException;

    /** Blocking form of {@link #fdatasyncAsync()}. @throws IoException on failure */
    void fdatasync() throws IoException;

    /**
     * Closes the file. Operations in flight are waited for (their futures complete first); new
     * operations fail with EBADF. Closing twice is a no-op.
     *
     * @throws IoException if {@code close(2)} fails (the descriptor is released regardless)
     */
    @Override
    void close() throws IoException;
}
