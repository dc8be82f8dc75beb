package dev.kura.cache.internal;

import dev.kura.cache.CorruptEntryException;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.PendingEntry;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import org.jspecify.annotations.Nullable;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link PendingEntry} over a fill in progress ({@link FillProgress}).
 *
 * <p>A read takes the state, then the published marks; reads what is below the mark (whole blocks
 * with their CRC32C, checked; the writer's partial block as written), or waits for the writer to
 * move the mark. Disk reads go through kura-io's asynchronous forms into pooled direct buffers,
 * one block at a time, so a reader holds at most one block of memory however far behind the
 * writer it is.
 *
 * <p>Close protocol: the descriptor reference is released by whichever comes last of
 * {@link #close()} and the completion of the read in flight, so the descriptor is never closed
 * under a read and {@code close()} never waits.
 *
 * <p>Thread-safety: see {@link PendingEntry}.
 */
final class FillReader implements PendingEntry {
    private final FillProgress p;
    private final AtomicBoolean busy = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile boolean closed;
    private volatile @Nullable CompletableFuture<Void> waiting;

    private FillReader(FillProgress p) {
        this.p = p;
    }

    /** A reader of {@code p}, or null when the fill has ended and its file is already released. */
    static @Nullable FillReader attach(FillProgress p) {
        return p.attach() ? new FillReader(p) : null;
    }

    @Override
    public EntryMetadata metadata() {
        return p.metadata;
    }

    @Override
    public CompletableFuture<Void> committed() {
        return p.committedFuture();
    }

    @Override
    public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("pending entry reader is closed"));
        }
        if (position < 0) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("negative position " + position));
        }
        if (!busy.compareAndSet(false, true)) {
            return CompletableFuture.failedFuture(new IllegalStateException("a read is already in flight on this reader"));
        }
        CompletableFuture<Integer> r;
        try {
            r = attempt(position, dst);
        } catch (RuntimeException e) {
            r = CompletableFuture.failedFuture(e);
        }
        return r.whenComplete((n, e) -> {
            busy.set(false);
            if (closed) {
                release();
            }
        });
    }

    private CompletableFuture<Integer> attempt(long pos, ByteBuffer dst) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("pending entry reader is closed"));
        }
        if (!dst.hasRemaining()) {
            return CompletableFuture.completedFuture(0);
        }
        FillProgress.State s = p.state();       // state first: COMMITTED implies visible == size
        long v = p.visible();
        if (pos < v) {
            return p.memory != null ? CompletableFuture.completedFuture(copyFromMemory(pos, dst, v))
                    : readFile(pos, dst, v, p.wholeBlocks(), 0);
        }
        if (s == FillProgress.State.COMMITTED) {
            return CompletableFuture.completedFuture(-1);
        }
        if (s == FillProgress.State.FAILED) {
            return CompletableFuture.failedFuture(p.failure());
        }
        CompletableFuture<Void> w = p.awaitBeyond(pos);
        waiting = w;
        if (closed) {
            // close() may have run before `waiting` was set: wake this read so that it fails now
            p.cancel(w);
            w.complete(null);
        }
        return w.thenCompose(x -> {
            waiting = null;
            return attempt(pos, dst);
        });
    }

    private int copyFromMemory(long pos, ByteBuffer dst, long v) {
        int n = (int) Math.min(dst.remaining(), v - pos);
        dst.put(p.memory, (int) pos, n);
        return n;
    }

    /** Reads from {@code pos} while below the mark {@code v} and {@code dst} has room. */
    private CompletableFuture<Integer> readFile(long pos, ByteBuffer dst, long v, long whole, int done) {
        if (!dst.hasRemaining() || pos >= v) {
            return CompletableFuture.completedFuture(done);
        }
        IoFile f = p.file();
        int bs = p.blockSize;
        long bi = pos / bs;
        int inBlock = (int) (pos - bi * bs);
        long blockOff = EntryFormat.blockOffset(p.headerLength, bs, bi);
        if (bi >= whole) {
            // the writer's partial block: exactly the bytes below the mark, as written
            int n = (int) Math.min(dst.remaining(), v - pos);
            ByteBuffer part = dst.slice(dst.position(), n);
            return f.readAsync(part, blockOff + inBlock).handle((got, ex) -> {
                if (ex != null) {
                    return CompletableFuture.<Integer>failedFuture(unwrap(ex));
                }
                if (got <= 0) {
                    return CompletableFuture.<Integer>failedFuture(
                            new CorruptEntryException("fill of " + p.key + ": temporary file shorter than written"));
                }
                dst.position(dst.position() + got);
                return CompletableFuture.completedFuture(done + got);
            }).thenCompose(x -> x);
        }
        int blen = (int) Math.min(bs, p.size() - bi * bs);
        ByteBuffer raw = Objects.requireNonNull(p.buffers, "a fill on disk").acquire(blen + EntryFormat.CRC_SIZE);
        return f.readFullyAsync(MemorySegment.ofBuffer(raw), blockOff).handle((got, ex) -> {
            // the read has completed either way: the kernel is done with raw
            try {
                if (ex != null) {
                    return CompletableFuture.<Integer>failedFuture(unwrap(ex));
                }
                if (got != blen + EntryFormat.CRC_SIZE) {
                    return CompletableFuture.<Integer>failedFuture(new CorruptEntryException(
                            "fill of " + p.key + ": short block " + bi));
                }
                if (EntryFormat.crc(raw, 0, blen) != raw.getInt(blen)) {
                    return CompletableFuture.<Integer>failedFuture(new CorruptEntryException(
                            "fill of " + p.key + ": CRC32C mismatch in block " + bi));
                }
                int n = Math.min(blen - inBlock, dst.remaining());
                dst.put(raw.slice(inBlock, n));
                return readFile(pos + n, dst, v, whole, done + n);
            } finally {
                p.buffers.release(raw);
            }
        }).thenCompose(x -> x);
    }

    private static Throwable unwrap(Throwable ex) {
        Throwable c = ex instanceof CompletionException && ex.getCause() != null ? ex.getCause() : ex;
        return c instanceof IoException || c instanceof RuntimeException || c instanceof java.io.IOException
                ? c : new java.io.IOException(c);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        CompletableFuture<Void> w = waiting;
        if (w != null) {
            p.cancel(w);
            // wakes the waiting read, which then sees closed and fails; the release follows it
            w.complete(null);
        }
        if (!busy.get()) {
            release();
        }
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            p.detach();
        }
    }
}
