package dev.kura.cache.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.FillFailedException;
import dev.kura.io.IoFile;
import org.jspecify.annotations.Nullable;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How far one fill has got, published by its writer for the {@link FillReader}s that follow it.
 *
 * <h2>What and why</h2>
 * The writer publishes a mark after each flush to the temporary file (or each copy into the
 * memory buffer): object bytes {@code [0, visible)} may be read, and blocks {@code [0,
 * wholeBlocks)} have their CRC32C in the file. Both only grow. Readers that want bytes beyond the
 * mark register a waiter; the writer completes waiters whenever the mark moves and when the fill
 * commits or fails. No thread polls and no reader ever blocks, which is what lets a follower run on
 * an event loop (issue 8 §2; nginx's {@code proxy_cache_lock} makes followers wait for the whole
 * object instead).
 *
 * <h2>Publication order</h2>
 * The writer stores {@code wholeBlocks}, then {@code visible} (volatile), then takes the monitor to
 * collect waiters; {@link #commit}/{@link #fail} store the state, then take the monitor. A reader
 * reads the state first, then the marks, and re-checks both under the monitor before it waits, so
 * a waiter is never left behind (the classic lost-wake-up is excluded by the monitor), and a reader
 * that sees {@code COMMITTED} sees {@code visible == size}.
 *
 * <h2>The read descriptor</h2>
 * For a fill into the disk tier, one read-only descriptor of the temporary file is shared by all
 * readers and reference-counted: the fill holds one reference until it ends ({@link #fillEnded}),
 * each reader one until
 * it closes. It stays valid after the file is renamed into place or unlinked (abort), so readers
 * never depend on the file's name.
 *
 * <p>Thread-safety: the {@code advance}/{@code commit}/{@code fail} methods are called by the one
 * writer thread; everything else is safe from any thread.
 */
final class FillProgress {
    /** The life of a fill as its readers see it. */
    enum State { WRITING, COMMITTED, FAILED }

    final String key;
    final EntryMetadata metadata;
    /** Non-null when readers read from the fill's memory buffer instead of the file. */
    final byte @Nullable [] memory;
    /** Read descriptor of the temporary file (disk source), else null. */
    private final @Nullable IoFile file;
    final int headerLength;
    final int blockSize;
    final @Nullable BlockBuffers buffers;
    private final AtomicInteger fileRefs = new AtomicInteger(1);
    private final AtomicInteger readers = new AtomicInteger();
    private final AtomicBoolean fillRefReleased = new AtomicBoolean();

    private volatile long wholeBlocks;
    private volatile long visible;
    private volatile State state = State.WRITING;
    private volatile @Nullable FillFailedException failure;
    private final CompletableFuture<Void> committed = new CompletableFuture<>();

    /** Reads waiting for bytes beyond {@code visible}. */
    private record Waiter(long position, CompletableFuture<Void> ready) {
    }

    @GuardedBy("this")
    private final List<Waiter> waiters = new ArrayList<>();

    private FillProgress(String key, EntryMetadata metadata, byte @Nullable [] memory, @Nullable IoFile file, int headerLength,
                         int blockSize, @Nullable BlockBuffers buffers) {
        this.key = key;
        this.metadata = metadata;
        this.memory = memory;
        this.file = file;
        this.headerLength = headerLength;
        this.blockSize = blockSize;
        this.buffers = buffers;
    }

    /** Readers read from {@code memory} (the fill's memory-tier buffer). */
    static FillProgress inMemory(String key, EntryMetadata md, byte[] memory) {
        return new FillProgress(key, md, memory, null, 0, 1, null);
    }

    /** Readers read entry-file blocks through {@code file}, a read descriptor the progress now owns. */
    static FillProgress onDisk(String key, EntryMetadata md, IoFile file, int headerLength, int blockSize,
                               BlockBuffers buffers) {
        return new FillProgress(key, md, null, file, headerLength, blockSize, buffers);
    }

    long size() {
        return metadata.size();
    }

    // ---- the writer's side --------------------------------------------------------------------

    /** True when some reader follows the fill: the writer then flushes after every write. */
    boolean hasReaders() {
        return readers.get() > 0;
    }

    /** Memory source: object bytes {@code [0, bytes)} are in the buffer. */
    void advanceMemory(long bytes) {
        publish(bytes, 0);
    }

    /** Disk source: file bytes {@code [0, fileOffset)} are written. */
    void advanceFile(long fileOffset) {
        long rel = fileOffset - headerLength;
        if (rel <= 0) {
            return;
        }
        long size = size();
        long blocks = EntryFormat.blockCount(size, blockSize);
        long stride = blockSize + (long) EntryFormat.CRC_SIZE;
        long full = rel / stride;
        long v = Math.min(size, full * blockSize + Math.min(rel % stride, blockSize));
        long w = rel >= size + EntryFormat.CRC_SIZE * blocks ? blocks : Math.min(full, blocks);
        publish(v, w);
    }

    private void publish(long v, long w) {
        if (w > wholeBlocks) {
            wholeBlocks = w;
        }
        if (v <= visible) {
            return;
        }
        visible = v;
        List<Waiter> ready = null;
        synchronized (this) {
            for (int i = waiters.size() - 1; i >= 0; i--) {
                Waiter x = waiters.get(i);
                if (x.position < v) {
                    if (ready == null) {
                        ready = new ArrayList<>();
                    }
                    ready.add(x);
                    waiters.remove(i);
                }
            }
        }
        wake(ready);
    }

    /** The fill is published: every byte is visible, readers past the end get -1. */
    void commit() {
        if (state != State.WRITING) {
            return;
        }
        state = State.COMMITTED;
        wake(drain());
        committed.complete(null);
    }

    /** The fill ended without committing: readers waiting for more bytes fail. */
    void fail(String why, @Nullable Throwable cause) {
        if (state != State.WRITING) {
            return;
        }
        failure = new FillFailedException("fill of " + key + " failed: " + why, cause);
        state = State.FAILED;
        wake(drain());
        committed.completeExceptionally(failure);
    }

    private synchronized List<Waiter> drain() {
        List<Waiter> all = List.copyOf(waiters);
        waiters.clear();
        return all;
    }

    private static void wake(@Nullable List<Waiter> ready) {
        if (ready == null) {
            return;
        }
        for (Waiter x : ready) {
            // a reader's continuation must never break the writer
            try {
                x.ready.complete(null);
            } catch (RuntimeException ignored) {
                // completing a future only runs the reader's own stages, which handle their errors
            }
        }
    }

    // ---- the readers' side --------------------------------------------------------------------

    State state() {
        return state;
    }

    long visible() {
        return visible;
    }

    long wholeBlocks() {
        return wholeBlocks;
    }

    @Nullable FillFailedException failure() {
        return failure;
    }

    CompletableFuture<Void> committedFuture() {
        return committed.copy();
    }

    /** The read descriptor of a fill on disk; only for those (readers of a fill in memory never ask). */
    IoFile file() {
        return Objects.requireNonNull(file, "a fill in memory has no file");
    }

    /**
     * A future that completes when the byte at {@code position} is visible or the fill has ended
     * (at once if that is already so). The caller looks again when it completes.
     */
    CompletableFuture<Void> awaitBeyond(long position) {
        synchronized (this) {
            if (position < visible || state != State.WRITING) {
                return CompletableFuture.completedFuture(null);
            }
            Waiter w = new Waiter(position, new CompletableFuture<>());
            waiters.add(w);
            return w.ready;
        }
    }

    /** Forgets a waiter whose reader left. */
    synchronized void cancel(CompletableFuture<Void> ready) {
        waiters.removeIf(w -> w.ready == ready);
    }

    /**
     * Registers a reader: takes a reference on the read descriptor.
     *
     * @return false when the fill has ended and its descriptor is already closed
     */
    boolean attach() {
        if (file != null) {
            int n;
            do {
                n = fileRefs.get();
                if (n == 0) {
                    return false;
                }
            } while (!fileRefs.compareAndSet(n, n + 1));
        }
        readers.incrementAndGet();
        return true;
    }

    /** A reader left (after its last read completed). */
    void detach() {
        readers.decrementAndGet();
        releaseFileRef();
    }

    /**
     * The fill has ended (after {@link #commit} or {@link #fail}, once its single-flight state is
     * settled): drops the fill's reference on the read descriptor. Idempotent.
     */
    void fillEnded() {
        if (fillRefReleased.compareAndSet(false, true)) {
            releaseFileRef();
        }
    }

    private void releaseFileRef() {
        if (file != null && fileRefs.decrementAndGet() == 0) {
            DiskStore.closeQuietly(file);
        }
    }
}
