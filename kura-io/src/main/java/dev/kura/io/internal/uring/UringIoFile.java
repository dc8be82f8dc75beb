package dev.kura.io.internal.uring;

import org.jspecify.annotations.Nullable;
import dev.kura.io.Errno;
import dev.kura.io.IoException;
import dev.kura.io.OpenFlag;
import dev.kura.io.internal.AbstractIoFile;
import dev.kura.io.internal.Futures;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A file of the {@link UringFileIo} backend: a descriptor, and optionally a slot in every ring's
 * registered-file table (then SQEs carry {@code IOSQE_FIXED_FILE} and the kernel skips the
 * per-op file-table lookup and reference count).
 *
 * <p>Each operation goes to a ring chosen by {@link UringFileIo#pickRing()}. A native segment is
 * handed to the kernel as is; a heap segment goes through a native bounce buffer owned by the op
 * until its CQE: a free fixed buffer of that ring (READ_FIXED/WRITE_FIXED) when there is one,
 * else one from the {@link BufferPool}.
 *
 * <p>Thread-safety: safe for concurrent use (see {@link AbstractIoFile}).
 */
final class UringIoFile extends AbstractIoFile {
    private final UringFileIo io;
    private final int fd;
    /** Slot in every ring's registered-file table, or -1. */
    private final int fileSlot;

    UringIoFile(UringFileIo io, Path path, Set<OpenFlag> flags, int fd, int fileSlot) {
        super(path, flags);
        this.io = io;
        this.fd = fd;
        this.fileSlot = fileSlot;
    }

    int fileSlot() {
        return fileSlot;
    }

    UringFileIo io() {
        return io;
    }

    /** An op on this file (its registered slot when it has one, else its descriptor) holding {@code permit}. */
    private Op newOp(int opcode, String name, @Nullable Ring permit) {
        Op op = new Op(opcode, Op.Kind.COUNT, name, path);
        op.permitOf = permit;
        if (fileSlot >= 0) {
            op.fd = fileSlot;
            op.sqeFlags = Uapi.IOSQE_FIXED_FILE;
        } else {
            op.fd = fd;
        }
        return op;
    }

    /**
     * Builds the op of a read or write, taking its bounce buffer; the caller has taken the
     * admission permit and enqueues the op.
     */
    Op prepareRw(Ring ring, @Nullable Ring permit, boolean write, MemorySegment seg, long position) {
        Op op = newOp(write ? Uapi.IORING_OP_WRITE : Uapi.IORING_OP_READ, write ? "write" : "read", permit);
        op.off = position;
        int len = (int) seg.byteSize();
        op.len = len;
        if (seg.isNative()) {
            op.addr = seg.address();
            return op;
        }
        MemorySegment b;
        int fixed = ring.acquireFixed(len);
        try {
            if (fixed >= 0) {
                b = ring.fixedBuffer(fixed);
                op.fixedIndex = fixed;
                op.bufIndex = fixed;
                op.opcode = write ? Uapi.IORING_OP_WRITE_FIXED : Uapi.IORING_OP_READ_FIXED;
            } else {
                b = io.pool().acquire(len);
                op.bouncePool = io.pool();
            }
            op.bounce = b;
            op.addr = b.address();
            if (write) {
                MemorySegment.copy(seg, 0, b, 0, len);
            } else {
                op.copyOutTo = seg;
            }
        } catch (RuntimeException | Error e) {
            op.releaseResources(ring);
            throw e;
        }
        return op;
    }

    Op prepareSync(@Nullable Ring permit, boolean dataOnly) {
        Op op = newOp(Uapi.IORING_OP_FSYNC, dataOnly ? "fdatasync" : "fsync", permit);
        op.opFlags = dataOnly ? Uapi.IORING_FSYNC_DATASYNC : 0;
        return op;
    }

    private CompletableFuture<Integer> rw(boolean write, MemorySegment seg, long position) {
        Ring ring = io.pickRing();
        Op op = prepareRw(ring, ring.acquirePermit(1), write, seg, position);
        ring.enqueue(op);
        return op.result();
    }

    @Override
    protected CompletableFuture<Integer> startRead(MemorySegment dst, long position) {
        return rw(false, dst, position);
    }

    @Override
    protected CompletableFuture<Integer> startWrite(MemorySegment src, long position) {
        return rw(true, src, position);
    }

    /** {@code struct iovec} (include/uapi/linux/uio.h): iov_base u64, iov_len u64. */
    private static final int IOVEC_SIZE = 16;

    /**
     * One {@code IORING_OP_READV} SQE for all of {@code dsts} when they are native memory (the
     * kernel writes into them directly; the iovec array is a pooled native buffer the op owns
     * until its CQE); the portable one-segment form for heap segments.
     */
    @Override
    protected CompletableFuture<Integer> startReadv(java.util.List<MemorySegment> dsts, long position) {
        long total = 0;
        for (MemorySegment d : dsts) {
            if (!d.isNative()) {
                return super.startReadv(dsts, position);
            }
            total += d.byteSize();
        }
        if (dsts.size() == 1 || total > Integer.MAX_VALUE) {
            return super.startReadv(dsts, position);
        }
        Ring ring = io.pickRing();
        Op op = newOp(Uapi.IORING_OP_READV, "read", ring.acquirePermit(1));
        MemorySegment iov = io.pool().acquire(dsts.size() * IOVEC_SIZE);
        op.bounce = iov;
        op.bouncePool = io.pool();
        for (int i = 0; i < dsts.size(); i++) {
            iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, (long) i * IOVEC_SIZE, dsts.get(i).address());
            iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, (long) i * IOVEC_SIZE + 8, dsts.get(i).byteSize());
        }
        op.off = position;
        op.addr = iov.address();
        op.len = dsts.size();
        ring.enqueue(op);
        return op.result();
    }

    @Override
    protected CompletableFuture<Void> startSync(boolean dataOnly) {
        Ring ring = io.pickRing();
        Op op = prepareSync(ring.acquirePermit(1), dataOnly);
        ring.enqueue(op);
        return op.result().thenApply(x -> null);
    }

    /**
     * Refuses a blocking call on a ring thread (from a completion callback): the thread would wait
     * for a CQE that only it can reap, and the ring would hang for good.
     *
     * @throws IllegalStateException on a ring thread
     */
    private static void refuseOnRingThread(String op) {
        if (Thread.currentThread() instanceof Ring.RingThread) {
            throw new IllegalStateException("blocking " + op + " on io_uring ring thread "
                    + Thread.currentThread().getName() + " (from a completion callback) would deadlock;"
                    + " use the asynchronous form or a *Async stage");
        }
    }

    /** Not a shortcut here (every operation goes through a ring), only the ring-thread guard. */
    @Override
    protected @Nullable Integer tryDirect(boolean write, MemorySegment buf, long position) {
        refuseOnRingThread(write ? "write" : "read");
        return null;
    }

    @Override
    public void fsync() throws IoException {
        refuseOnRingThread("fsync");
        super.fsync();
    }

    @Override
    public void fdatasync() throws IoException {
        refuseOnRingThread("fdatasync");
        super.fdatasync();
    }

    /** How {@link #readIfCached} reads this file, found on its first call. */
    private enum CachedRead {
        /** Not tried yet. */
        UNKNOWN,
        /** {@code preadv2} with {@code RWF_NOWAIT}: the kernel says EAGAIN rather than wait. */
        NOWAIT,
        /**
         * A tmpfs file, whose file system refuses RWF_NOWAIT (EOPNOTSUPP, Linux 6.18) but has no
         * device to wait for: its pages are memory (unless swapped out), so a plain {@code pread}.
         */
        MEMORY,
        /** Neither: every call answers -1 and the caller reads asynchronously. */
        NONE
    }

    /** Racy but idempotent: two threads finding the mode at once find the same one. */
    private volatile CachedRead cachedRead = CachedRead.UNKNOWN;

    /**
     * {@code preadv2(fd, iov, n, position, RWF_NOWAIT)} on the calling thread: no ring, no hop
     * (a plain {@code preadv2} for a tmpfs file, see {@link CachedRead#MEMORY}). The one-segment
     * form is IoFile's default over this one.
     */
    @Override
    public long readIfCached(java.util.List<MemorySegment> dsts, long position) throws IoException {
        if (dsts.isEmpty() || dsts.size() > MAX_SEGMENTS) {
            throw new IoException(Errno.EINVAL.value(), path, "read", null, null);
        }
        for (MemorySegment d : dsts) {
            IoException bad = checkArgs("read", d, position);
            if (bad != null) {
                throw bad;
            }
        }
        return preadv2(dsts, position);
    }

    /**
     * {@code preadv2(fd, iov, n, position, RWF_NOWAIT)} over {@code dsts}, or -1 when the mode, a
     * heap or DIRECT read, or an empty read rules it out. The iovec array and the errno capture live
     * in a confined arena of the call (small native allocations, far cheaper than the two thread
     * wake-ups of a ring round trip).
     */
    private long preadv2(java.util.List<MemorySegment> dsts, long position) throws IoException {
        CachedRead mode = cachedRead;
        if (mode == CachedRead.NONE || flags().contains(OpenFlag.DIRECT)) {
            return -1;
        }
        long total = 0;
        for (MemorySegment d : dsts) {
            if (!d.isNative()) {
                return -1;
            }
            total += d.byteSize();
        }
        if (total == 0) {
            return -1;
        }
        if (!enter()) {
            throw closedError("read");
        }
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment capture = Native.newCapture(arena);
            MemorySegment iov = arena.allocate(16L * dsts.size(), 8);
            int n = 0;
            for (MemorySegment d : dsts) {
                iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, 16L * n, d.address());
                iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, 16L * n + 8, d.byteSize());
                n++;
            }
            // On 64-bit kernels the offset is the low word (pos_l); pos_h is ignored.
            long got = Native.syscall(capture, Native.SYS_PREADV2, fd, iov.address(), n, position, 0,
                    mode == CachedRead.MEMORY ? 0 : Native.RWF_NOWAIT);
            if (got >= 0) {
                if (mode == CachedRead.UNKNOWN) {
                    cachedRead = CachedRead.NOWAIT;
                }
                return got;
            }
            int errno = Native.errno(capture);
            if (errno == Errno.EAGAIN.value()) {
                return -1;
            }
            if (errno == Errno.EOPNOTSUPP.value() || errno == Errno.ENOSYS.value() || errno == Errno.EINVAL.value()) {
                if (mode == CachedRead.UNKNOWN && onTmpfs(arena)) {
                    cachedRead = CachedRead.MEMORY;
                    got = Native.syscall(capture, Native.SYS_PREADV2, fd, iov.address(), n, position, 0, 0);
                    if (got >= 0) {
                        return got;
                    }
                    throw new IoException(Native.errno(capture), path, "read", null, null);
                }
                cachedRead = CachedRead.NONE;
                return -1;
            }
            throw new IoException(errno, path, "read", null, null);
        } finally {
            exit();
        }
    }

    /** {@code fstatfs(fd)} says tmpfs; false when it cannot tell. */
    private boolean onTmpfs(java.lang.foreign.Arena arena) {
        MemorySegment st = arena.allocate(Native.STATFS_SIZE, 8);
        long r = Native.syscall(Native.newCapture(arena), Native.SYS_FSTATFS, fd, st.address(), 0, 0, 0, 0);
        return r == 0 && st.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0) == Native.TMPFS_MAGIC;
    }

    /** {@code statx(fd, "", AT_EMPTY_PATH, STATX_SIZE)} through the ring; the path and the struct share one buffer. */
    @Override
    public long size() throws IoException {
        refuseOnRingThread("size");
        if (!enter()) {
            throw closedError("fstat");
        }
        try {
            Ring ring = io.pickRing();
            Op op = new Op(Uapi.IORING_OP_STATX, Op.Kind.STATX_SIZE, "fstat", path);
            op.permitOf = ring.acquirePermit(1);
            MemorySegment b = io.pool().acquire(256 + Uapi.STATX_STRUCT_SIZE);
            b.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 0);
            op.bounce = b;
            op.bouncePool = io.pool();
            op.fd = fd;
            op.addr = b.address();
            op.len = Uapi.STATX_SIZE_MASK;
            op.off = b.address() + 256;
            op.opFlags = Native.AT_EMPTY_PATH;
            ring.enqueue(op);
            return Futures.<Long>await(op.result());
        } finally {
            exit();
        }
    }

    /** Argument checks of {@link AbstractIoFile} for operations that enter through a batch. */
    @Nullable IoException checkBatchArgs(String op, MemorySegment seg, long position) {
        return checkArgs(op, seg, position);
    }

    boolean batchEnter() {
        return enter();
    }

    void batchExit() {
        exit();
    }

    IoException batchClosedError(String op) {
        return closedError(op);
    }

    /**
     * As {@link AbstractIoFile#close()}, except on a ring thread while operations are in flight:
     * waiting there could wait for a CQE only that thread can reap, so it is refused.
     *
     * @throws IllegalStateException on a ring thread with operations of this file in flight
     */
    @Override
    public void close() throws IoException {
        if (inFlight() > 0 && !isClosed()) {
            refuseOnRingThread("close with operations in flight");
        }
        super.close();
    }

    @Override
    protected void closeDescriptor() throws IoException {
        IoException first = null;
        if (fileSlot >= 0) {
            try {
                io.unregisterFile(fileSlot);
            } catch (IoException e) {
                first = e;
            }
        }
        try {
            io.closeFd(fd, path);
        } catch (IoException e) {
            if (first == null) {
                first = e;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    protected void onClosed() {
        io.forget(this);
    }
}
