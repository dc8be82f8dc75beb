package dev.kura.io.internal;

import org.jspecify.annotations.Nullable;
import dev.kura.io.Errno;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What every backend's {@link IoFile} shares: argument checks, the in-flight accounting that makes
 * {@link #close()} wait, the blocking forms, the {@code *Fully} loops and ByteBuffer adaptation.
 *
 * <p>A backend implements four primitives ({@link #startRead}, {@link #startWrite},
 * {@link #startSync}, {@link #closeDescriptor}) plus {@link #size()}. It never sees a closed file:
 * each primitive runs between {@link #enter()} and {@link #exit()}.
 *
 * <h2>Invariant kept here</h2>
 * {@code state} packs a closed bit (bit 62) and the count of operations in flight (bits 0..61).
 * An operation enters only while the closed bit is clear, and the descriptor is released only after
 * the closed bit is set and the count has dropped to zero. So no operation ever runs on a released
 * (and possibly reused) descriptor, and close returns only once every future has completed.
 */
public abstract class AbstractIoFile implements IoFile {
    private static final long CLOSED = 1L << 62;

    protected final Path path;
    protected final Set<OpenFlag> flags;
    private final AtomicLong state = new AtomicLong();
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    protected AbstractIoFile(Path path, Set<OpenFlag> flags) {
        this.path = path;
        this.flags = Set.copyOf(flags);
    }

    @Override
    public final Path path() {
        return path;
    }

    @Override
    public final Set<OpenFlag> flags() {
        return flags;
    }

    // ---- primitives for the backends ----------------------------------------------------------

    /** Starts a read of {@code dst.byteSize()} (at most Integer.MAX_VALUE) bytes; called between enter and exit. */
    protected abstract CompletableFuture<Integer> startRead(MemorySegment dst, long position);

    /** Starts a write of {@code src.byteSize()} (at most Integer.MAX_VALUE) bytes. */
    protected abstract CompletableFuture<Integer> startWrite(MemorySegment src, long position);

    /** Starts an fsync ({@code dataOnly=false}) or fdatasync ({@code dataOnly=true}). */
    protected abstract CompletableFuture<Void> startSync(boolean dataOnly);

    /** Releases the descriptor; called once, after every operation has completed. */
    protected abstract void closeDescriptor() throws IoException;

    /**
     * Hook for backends that can run an operation on the calling thread more cheaply than through
     * the asynchronous path (the NIO backend on a platform thread). Returns {@code null} to use
     * the asynchronous path and wait for it.
     */
    protected @Nullable Integer tryDirect(boolean write, MemorySegment buf, long position) throws IoException {
        return null;
    }

    // ---- in-flight accounting -----------------------------------------------------------------

    /** Registers an operation; false when the file is closed. */
    protected final boolean enter() {
        while (true) {
            long s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    /** Ends an operation registered by {@link #enter()}. */
    protected final void exit() {
        long s = state.decrementAndGet();
        if (s == CLOSED) {
            drained.complete(null);
        }
    }

    /** True once close has begun. */
    protected final boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    /** Number of operations in flight on this file. */
    public final long inFlight() {
        return state.get() & ~CLOSED;
    }

    protected final IoException closedError(String op) {
        return new IoException(Errno.EBADF, path, op);
    }

    private <T> CompletableFuture<T> guarded(String op, java.util.function.Supplier<CompletableFuture<T>> start) {
        if (!enter()) {
            return CompletableFuture.failedFuture(closedError(op));
        }
        CompletableFuture<T> f;
        try {
            f = start.get();
        } catch (RuntimeException e) {
            exit();
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<T> out = new OpFuture<>();
        f.whenComplete((r, e) -> {
            exit();
            if (e != null) {
                out.completeExceptionally(Futures.unwrap(e));
            } else {
                out.complete(r);
            }
        });
        return out;
    }

    /**
     * The argument checks every read and write makes before anything is submitted: a negative
     * position, a read into a read-only segment, O_DIRECT misalignment; null when all is well.
     */
    protected final @Nullable IoException checkArgs(String op, MemorySegment seg, long position) {
        if (position < 0) {
            return new IoException(Errno.EINVAL.value(), path, op, "negative file position " + position, null);
        }
        if (seg.isReadOnly() && op.equals("read")) {
            return new IoException(Errno.EINVAL.value(), path, op, "read into a read-only segment", null);
        }
        if (flags.contains(OpenFlag.DIRECT)) {
            if ((position & 511) != 0 || (seg.byteSize() & 511) != 0 || (seg.isNative() && (seg.address() & 511) != 0)) {
                return new IoException(Errno.EINVAL.value(), path, op,
                        "O_DIRECT needs offset, length and buffer address aligned to the logical block size"
                                + " (offset " + position + ", length " + seg.byteSize()
                                + (seg.isNative() ? ", address 0x" + Long.toHexString(seg.address()) : "") + ")", null);
            }
        }
        return null;
    }

    /**
     * The most bytes one transfer moves: Linux's {@code MAX_RW_COUNT} ({@code INT_MAX & PAGE_MASK},
     * include/linux/fs.h), which read(2)/write(2) cap at anyway. Page-aligned, so that a large
     * O_DIRECT transfer stays aligned, and small enough for {@code MemorySegment.asByteBuffer}
     * (which refuses Integer.MAX_VALUE).
     */
    static final long MAX_TRANSFER = 0x7ffff000L;

    private static MemorySegment clamp(MemorySegment seg) {
        return seg.byteSize() > MAX_TRANSFER ? seg.asSlice(0, MAX_TRANSFER) : seg;
    }

    // ---- asynchronous forms -------------------------------------------------------------------

    @Override
    public CompletableFuture<Integer> readAsync(MemorySegment dst, long position) {
        IoException bad = checkArgs("read", dst, position);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        if (dst.byteSize() == 0) {
            return guarded("read", () -> CompletableFuture.completedFuture(0));
        }
        return guarded("read", () -> startRead(clamp(dst), position));
    }

    @Override
    public CompletableFuture<Integer> writeAsync(MemorySegment src, long position) {
        IoException bad = checkArgs("write", src, position);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        if (src.byteSize() == 0) {
            return guarded("write", () -> CompletableFuture.completedFuture(0));
        }
        return guarded("write", () -> startWrite(clamp(src), position));
    }

    @Override
    public CompletableFuture<Integer> readAsync(ByteBuffer dst, long position) {
        return OpFuture.of(readAsync(MemorySegment.ofBuffer(dst), position).thenApply(n -> advance(dst, n)));
    }

    @Override
    public CompletableFuture<Integer> writeAsync(ByteBuffer src, long position) {
        return OpFuture.of(writeAsync(MemorySegment.ofBuffer(src), position).thenApply(n -> advance(src, n)));
    }

    private static int advance(ByteBuffer b, int n) {
        b.position(b.position() + n);
        return n;
    }

    @Override
    public CompletableFuture<Long> readFullyAsync(MemorySegment dst, long position) {
        return OpFuture.of(readFrom(dst, position, 0));
    }

    private CompletableFuture<Long> readFrom(MemorySegment dst, long position, long done) {
        if (done == dst.byteSize()) {
            return CompletableFuture.completedFuture(done);
        }
        return readAsync(dst.asSlice(done), position + done).thenCompose(n ->
                n == 0 ? CompletableFuture.completedFuture(done) : readFrom(dst, position, done + n));
    }

    @Override
    public CompletableFuture<Long> readFullyAsync(java.util.List<MemorySegment> dsts, long position) {
        if (dsts.size() > MAX_SEGMENTS) {
            return CompletableFuture.failedFuture(new IoException(Errno.EINVAL.value(), path, "read",
                    dsts.size() + " segments in one scatter read, at most " + MAX_SEGMENTS, null));
        }
        long total = 0;
        for (MemorySegment d : dsts) {
            IoException bad = checkArgs("read", d, position);
            if (bad != null) {
                return CompletableFuture.failedFuture(bad);
            }
            total += d.byteSize();
        }
        return OpFuture.of(readvFrom(dsts, position, 0, total));
    }

    private CompletableFuture<Long> readvFrom(java.util.List<MemorySegment> dsts, long position, long done, long total) {
        if (done == total) {
            return CompletableFuture.completedFuture(done);
        }
        java.util.List<MemorySegment> rest = after(dsts, done);
        return guarded("read", () -> startReadv(rest, position + done)).thenCompose(n ->
                n == 0 ? CompletableFuture.completedFuture(done) : readvFrom(dsts, position, done + n, total));
    }

    /** The parts of {@code dsts} after their first {@code skip} bytes, empty segments left out. */
    private static java.util.List<MemorySegment> after(java.util.List<MemorySegment> dsts, long skip) {
        java.util.List<MemorySegment> rest = new java.util.ArrayList<>(dsts.size());
        long left = skip;
        for (MemorySegment d : dsts) {
            if (left >= d.byteSize()) {
                left -= d.byteSize();
                continue;
            }
            rest.add(left > 0 ? d.asSlice(left) : d);
            left = 0;
        }
        return rest;
    }

    /**
     * Starts one scatter read into {@code dsts} (non-empty segments, checked) at {@code position};
     * completes with the bytes read, which may be fewer than asked (then the caller goes on after
     * them). This portable form reads the first segment only; a backend with a vectored read
     * overrides it.
     */
    protected CompletableFuture<Integer> startReadv(java.util.List<MemorySegment> dsts, long position) {
        return startRead(clamp(dsts.get(0)), position);
    }

    @Override
    public CompletableFuture<Void> writeFullyAsync(MemorySegment src, long position) {
        return OpFuture.of(writeFrom(src, position, 0));
    }

    private CompletableFuture<Void> writeFrom(MemorySegment src, long position, long done) {
        if (done == src.byteSize()) {
            return CompletableFuture.completedFuture(null);
        }
        return writeAsync(src.asSlice(done), position + done).thenCompose(n -> {
            if (n == 0) {
                return CompletableFuture.failedFuture(new IoException(Errno.EIO.value(), path, "write",
                        "write made no progress at offset " + (position + done), null));
            }
            return writeFrom(src, position, done + n);
        });
    }

    @Override
    public CompletableFuture<Void> fsyncAsync() {
        return guarded("fsync", () -> startSync(false));
    }

    @Override
    public CompletableFuture<Void> fdatasyncAsync() {
        return guarded("fdatasync", () -> startSync(true));
    }

    // ---- blocking forms -----------------------------------------------------------------------

    private int direct(boolean write, MemorySegment buf, long position) throws IoException {
        String op = write ? "write" : "read";
        IoException bad = checkArgs(op, buf, position);
        if (bad != null) {
            throw bad;
        }
        if (!Thread.currentThread().isVirtual() && buf.byteSize() > 0) {
            if (!enter()) {
                throw closedError(op);
            }
            try {
                Integer n = tryDirect(write, clamp(buf), position);
                if (n != null) {
                    return n;
                }
            } finally {
                exit();
            }
        }
        return Futures.await(write ? writeAsync(buf, position) : readAsync(buf, position));
    }

    @Override
    public int read(MemorySegment dst, long position) throws IoException {
        return direct(false, dst, position);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IoException {
        return advance(dst, direct(false, MemorySegment.ofBuffer(dst), position));
    }

    @Override
    public int write(MemorySegment src, long position) throws IoException {
        return direct(true, src, position);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IoException {
        return advance(src, direct(true, MemorySegment.ofBuffer(src), position));
    }

    @Override
    public long readFully(MemorySegment dst, long position) throws IoException {
        long done = 0;
        while (done < dst.byteSize()) {
            int n = read(dst.asSlice(done), position + done);
            if (n == 0) {
                break;
            }
            done += n;
        }
        return done;
    }

    @Override
    public void writeFully(MemorySegment src, long position) throws IoException {
        long done = 0;
        while (done < src.byteSize()) {
            int n = write(src.asSlice(done), position + done);
            if (n == 0) {
                throw new IoException(Errno.EIO.value(), path, "write",
                        "write made no progress at offset " + (position + done), null);
            }
            done += n;
        }
    }

    @Override
    public void fsync() throws IoException {
        Futures.await(fsyncAsync());
    }

    @Override
    public void fdatasync() throws IoException {
        Futures.await(fdatasyncAsync());
    }

    // ---- close --------------------------------------------------------------------------------

    /**
     * Sets the closed bit, waits (parking, so virtual threads are not pinned) for operations in
     * flight, then releases the descriptor. Concurrent closers all wait for the same outcome.
     */
    @Override
    public void close() throws IoException {
        long s;
        do {
            s = state.get();
            if ((s & CLOSED) != 0) {
                Futures.await(closed);
                return;
            }
        } while (!state.compareAndSet(s, s | CLOSED));
        if ((s & ~CLOSED) == 0) {
            drained.complete(null);
        }
        drained.join();
        try {
            closeDescriptor();
            closed.complete(null);
        } catch (IoException e) {
            closed.complete(null);
            throw e;
        } finally {
            onClosed();
        }
    }

    /** Called once after the descriptor is released, e.g. to drop the file from its backend's registry. */
    protected void onClosed() {
    }
}
