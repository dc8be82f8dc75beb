package dev.kura.io.internal.uring;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.io.Backend;
import dev.kura.io.BackendInfo;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoBatch;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import dev.kura.io.internal.Futures;
import dev.kura.io.internal.Kernel;
import dev.kura.io.internal.OpFuture;
import dev.kura.io.internal.OpenFlags;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The io_uring backend: {@code io.rings} rings ({@link Ring}), each with its own platform thread,
 * reached through the FFM API with no native library (see {@code io_uring(7)}).
 *
 * <p>Operations are spread over the rings round-robin, so that the copies of page-cache hits,
 * which the kernel does inline on the submitting ring thread, run on several cores. An operation
 * submitted by a ring thread (from a completion callback) stays on that ring. Opening, closing and
 * {@code fstat} also go through the rings (IORING_OP_OPENAT, CLOSE, STATX), so a virtual thread
 * never blocks in a system call that could pin its carrier.
 *
 * <h2>Closing</h2>
 * {@link #close()} closes every open file, which waits for its operations; if that takes
 * longer than {@link #CLOSE_GRACE_MILLIS} (an operation that could wait forever, such as a read of
 * a FIFO) it asks every ring to cancel what it has in the kernel (IORING_OP_ASYNC_CANCEL) and
 * waits for the cancelled CQEs. Then it stops the rings, each of which waits for the CQE of
 * everything it submitted before unmapping, and only then frees the bounce buffers.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public final class UringFileIo implements FileIo {
    /** How long {@link #close()} lets operations in flight finish before cancelling them. */
    static final long CLOSE_GRACE_MILLIS = 1000;

    private final IoConfig config;
    private final Ring[] rings;
    private final BufferPool pool = new BufferPool();
    private final BackendInfo info;
    private final Set<UringIoFile> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    /** Free registered-file slots, a stack: {@code freeFileSlots[0 .. freeFileTop)}. */
    @GuardedBy("this")
    private final int[] freeFileSlots;
    @GuardedBy("this")
    private int freeFileTop;

    /**
     * Starts {@code config.rings()} rings.
     *
     * @param probe a passing probe of this kernel (its features and opcodes go into {@link #info()})
     * @param reason why io_uring was chosen, for {@link BackendInfo#reason()}
     * @throws IoException the errno of the ring set-up that failed (ENOMEM: RLIMIT_MEMLOCK too
     *     low for the rings or fixed buffers; EINVAL: SQPOLL CPU out of range; EPERM: ...)
     */
    public UringFileIo(IoConfig config, Probe probe, String reason) throws IoException {
        this.config = config;
        this.rings = new Ring[config.rings()];
        int id = System.identityHashCode(this) & 0xffff;
        try {
            for (int i = 0; i < rings.length; i++) {
                rings[i] = new Ring(i, "kura-uring-" + Integer.toHexString(id) + "-" + i, config.queueDepth(),
                        config.sqPoll(), config.sqPollCpu(), config.fixedBuffers(), config.fixedBufferSize(),
                        config.registeredFiles(), pool);
            }
        } catch (IoException | RuntimeException | Error e) {
            for (Ring r : rings) {
                if (r != null) {
                    r.stop();
                }
            }
            pool.close();
            throw e;
        }
        freeFileSlots = new int[config.registeredFiles()];
        for (int i = 0; i < freeFileSlots.length; i++) {
            freeFileSlots[i] = freeFileSlots.length - 1 - i;
        }
        freeFileTop = freeFileSlots.length;
        Ring r0 = rings[0];
        List<String> features = new ArrayList<>(Uapi.featureNames(r0.features));
        this.info = new BackendInfo(Backend.IO_URING, config.backend(), reason, Kernel.release(), features,
                probe.supported(), probe.missing(), rings.length, r0.sqEntries);
    }

    @Override
    public Backend backend() {
        return Backend.IO_URING;
    }

    @Override
    public BackendInfo info() {
        return info;
    }

    BufferPool pool() {
        return pool;
    }

    int queueDepth() {
        return config.queueDepth();
    }

    /** The ring for the next operation: the caller's own ring on a ring thread, else round-robin. */
    Ring pickRing() {
        if (Thread.currentThread() instanceof Ring.RingThread t) {
            Ring r = t.ring;
            if (r.index < rings.length && rings[r.index] == r) {
                return r;
            }
        }
        return rings[(next.getAndIncrement() & 0x7fffffff) % rings.length];
    }

    private static int openFlags(Set<OpenFlag> flags) {
        int f = flags.contains(OpenFlag.READ) && flags.contains(OpenFlag.WRITE) ? Native.O_RDWR
                : flags.contains(OpenFlag.WRITE) ? Native.O_WRONLY : Native.O_RDONLY;
        if (flags.contains(OpenFlag.CREATE) || flags.contains(OpenFlag.CREATE_NEW)) {
            f |= Native.O_CREAT;
        }
        if (flags.contains(OpenFlag.CREATE_NEW)) {
            f |= Native.O_EXCL;
        }
        if (flags.contains(OpenFlag.TRUNCATE)) {
            f |= Native.O_TRUNC;
        }
        if (flags.contains(OpenFlag.DIRECT)) {
            f |= Native.O_DIRECT;
        }
        return f | Native.O_CLOEXEC;
    }

    /**
     * Blocking open through IORING_OP_OPENAT.
     *
     * @throws IllegalStateException on a ring thread (from a completion callback), where waiting
     *     for the CQE would wait for itself; use {@link #openAsync} there
     */
    @Override
    public IoFile open(Path path, OpenFlag... flags) throws IoException {
        OpenFlags.of(flags);
        if (Thread.currentThread() instanceof Ring.RingThread t) {
            throw new IllegalStateException("blocking open on io_uring ring thread " + t.getName()
                    + " (from a completion callback) would deadlock; use openAsync");
        }
        return Futures.await(openAsync(path, flags));
    }

    @Override
    public CompletableFuture<IoFile> openAsync(Path path, OpenFlag... flags) {
        Set<OpenFlag> set;
        try {
            set = OpenFlags.of(flags);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (closing.get()) {
            return CompletableFuture.failedFuture(
                    new IoException(Errno.EBADF.value(), path, "open", "file I/O backend is closed", null));
        }
        byte[] name = path.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8);
        for (byte b : name) {
            if (b == 0) {
                return CompletableFuture.failedFuture(
                        new IoException(Errno.EINVAL.value(), path, "open", "path contains a NUL byte", null));
            }
        }
        Ring ring = pickRing();
        Op op = new Op(Uapi.IORING_OP_OPENAT, Op.Kind.FD, "open", path);
        op.permitOf = ring.acquirePermit(1);
        MemorySegment buf;
        try {
            buf = pool.acquire(name.length + 1L);
        } catch (OutOfMemoryError e) {
            op.releaseResources(ring);
            return CompletableFuture.failedFuture(new IoException(Errno.ENOMEM, path, "open"));
        }
        MemorySegment.copy(name, 0, buf, ValueLayout.JAVA_BYTE, 0, name.length);
        buf.set(ValueLayout.JAVA_BYTE, name.length, (byte) 0);
        op.bounce = buf;
        op.bouncePool = pool;
        op.fd = Native.AT_FDCWD;
        op.addr = buf.address();
        op.len = 0644;
        op.opFlags = openFlags(set);
        ring.enqueue(op);
        // Not cancellable: a cancelled open would leave its descriptor with nobody to close it.
        return OpFuture.of(op.<Integer>result().thenApply(fd -> {
            try {
                return adopt(path, set, fd);
            } catch (IoException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }));
    }

    private IoFile adopt(Path path, Set<OpenFlag> set, int fd) throws IoException {
        int slot = takeFileSlot();
        if (slot >= 0) {
            try {
                for (Ring r : rings) {
                    r.updateRegisteredFile(slot, fd);
                }
            } catch (IoException e) {
                try {
                    clearSlot(slot);
                } catch (IoException ignored) {
                    // the slot is given back below either way; the fd is closed next
                }
                giveFileSlot(slot);
                closeQuietly(fd);
                throw new IoException(e.errnoValue(), path, "open", e.getMessage(), e);
            }
        }
        UringIoFile f = new UringIoFile(this, path, set, fd, slot);
        open.add(f);
        if (closing.get()) {
            // The backend began closing while this open was in flight: nobody will close the file.
            open.remove(f);
            try {
                f.close();
            } catch (IoException ignored) {
                // the descriptor is released regardless
            }
            throw new IoException(Errno.EBADF.value(), path, "open", "file I/O backend is closed", null);
        }
        return f;
    }

    private synchronized int takeFileSlot() {
        return freeFileTop == 0 ? -1 : freeFileSlots[--freeFileTop];
    }

    private synchronized void giveFileSlot(int slot) {
        freeFileSlots[freeFileTop++] = slot;
    }

    private void clearSlot(int slot) throws IoException {
        IoException first = null;
        for (Ring r : rings) {
            try {
                r.updateRegisteredFile(slot, -1);
            } catch (IoException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Empties a file's registered slot on every ring and frees it; called after its ops are done. */
    void unregisterFile(int slot) throws IoException {
        try {
            clearSlot(slot);
        } finally {
            giveFileSlot(slot);
        }
    }

    private static void closeQuietly(int fd) {
        try (Arena a = Arena.ofConfined()) {
            Native.close(Native.newCapture(a), fd);
        }
    }

    /**
     * Closes a descriptor with IORING_OP_CLOSE, or with {@code close(2)} directly on a ring thread
     * (which must not wait for its own ring) or once the rings are gone.
     */
    void closeFd(int fd, Path path) throws IoException {
        if (Thread.currentThread() instanceof Ring.RingThread || closed.isDone()) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment cap = Native.newCapture(a);
                if (Native.close(cap, fd) != 0) {
                    throw new IoException(Native.errno(cap), path, "close", null, null);
                }
            }
            return;
        }
        Ring ring = pickRing();
        Op op = new Op(Uapi.IORING_OP_CLOSE, Op.Kind.COUNT, "close", path);
        op.permitOf = ring.acquirePermit(1);
        op.fd = fd;
        ring.enqueue(op);
        try {
            Futures.await(op.result());
        } catch (IoException e) {
            if (e.errno() == Errno.EBADF && ring.stopping()) {
                closeQuietly(fd); // the ring was stopping: the CLOSE never reached the kernel
                return;
            }
            throw e;
        }
    }

    void forget(UringIoFile f) {
        open.remove(f);
    }

    @Override
    public IoBatch batch() {
        return new UringBatch(this);
    }

    /** Counters of every ring, for tests and benchmarks. */
    public List<String> ringStats() {
        List<String> out = new ArrayList<>();
        for (Ring r : rings) {
            out.add(r.stats().toString());
        }
        return out;
    }

    Ring[] rings() {
        return rings;
    }

    /** Native bytes held by the bounce-buffer pool (pooled or lent to operations). */
    public long nativeBytes() {
        return pool.liveBytes();
    }

    /** Number of native allocations made for bounce buffers so far. */
    public long nativeAllocations() {
        return pool.allocations();
    }

    /** Bounce buffers lent to operations and not yet given back. */
    public long buffersLent() {
        return pool.outstanding();
    }

    /** Thread ids of the ring threads. */
    public long[] ringThreadIds() {
        long[] ids = new long[rings.length];
        for (int i = 0; i < rings.length; i++) {
            ids[i] = rings[i].threadId();
        }
        return ids;
    }

    /**
     * Closes every file (waiting for its operations, then cancelling what is left after
     * {@link #CLOSE_GRACE_MILLIS}), stops the rings and frees the bounce buffers. Idempotent.
     *
     * @throws IllegalStateException when called on one of this backend's ring threads (from a
     *     completion callback), where it would wait for CQEs that only that thread can reap
     */
    @Override
    public void close() {
        if (Thread.currentThread() instanceof Ring.RingThread t && t.ring.index < rings.length
                && rings[t.ring.index] == t.ring) {
            throw new IllegalStateException("closing the io_uring backend on its own ring thread "
                    + t.getName() + " (from a completion callback) would deadlock");
        }
        if (!closing.compareAndSet(false, true)) {
            closed.join();
            return;
        }
        try {
            List<CompletableFuture<Void>> closes = new ArrayList<>();
            for (UringIoFile f : List.copyOf(open)) {
                CompletableFuture<Void> done = new CompletableFuture<>();
                closes.add(done);
                Thread.ofVirtual().name("kura-uring-close").start(() -> {
                    try {
                        f.close();
                    } catch (IoException | RuntimeException ignored) {
                        // the descriptor is gone either way; the backend is shutting down
                    } finally {
                        done.complete(null);
                    }
                });
            }
            CompletableFuture<Void> all = CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new));
            try {
                all.get(CLOSE_GRACE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // Something in flight is taking long, maybe forever (a read of a FIFO): cancel
                // what the rings have in the kernel; the files' closes then see the CQEs.
                for (Ring r : rings) {
                    r.cancelInFlight();
                }
                all.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                for (Ring r : rings) {
                    r.cancelInFlight();
                }
                all.join();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e);
            }
            for (Ring r : rings) {
                r.stop();
            }
            pool.close();
        } finally {
            closed.complete(null);
        }
    }
}
