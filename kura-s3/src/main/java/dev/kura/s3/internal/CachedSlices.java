package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.FileSpans;
import dev.kura.cache.LentBytes;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * The bytes of a sliced object read across its committed slices, for {@link EntrySender}: a
 * request that spans several slices is served from the event loop like a one-slice request, each
 * slice opened asynchronously ({@link Cache#lookupAsync}) when the reader reaches it.
 *
 * <p>Why: such requests (whole GETs of large objects, ranges across a slice boundary) used to run
 * on a virtual thread that waited for every 256 KiB read and every socket write: per chunk two
 * virtual-thread park/unpark cycles and a timeout task scheduled and cancelled, about a tenth of
 * kura's CPU on 64 MiB hits (docs/SERVE.md). Here the event loop chains the reads as for any hit.
 *
 * <p>A slice that is not cached (evicted, never fetched, another version) fails the read with
 * {@link NotCached}; the caller then goes on from that byte on a virtual thread
 * ({@code SlicedObjects.finish}), which fills missing slices from the origin.
 *
 * <p>Thread-safety: one read in flight at a time (as {@link BodySource} requires).
 */
final class CachedSlices implements BodySource {

    /** The slice at a position is not in the cache: go on through the filling path. */
    static final class NotCached extends RuntimeException {
        NotCached(String key) {
            super("slice not cached: " + key, null, false, false);
        }
    }

    private final Cache cache;
    private final String cacheKey;
    /** The object's ETag; null for an origin that sends none (slice keys then carry no version). */
    private final @Nullable String etag;
    private final long sliceSize;
    // @GuardedBy("this"): the open slice, its index, the lookup of the slice being opened and its
    // index, and whether the source was closed (a lookup that completes after close closes its
    // entry at once)
    private @Nullable CacheEntry current;
    private long currentIndex = -1;
    private @Nullable CompletableFuture<CacheEntry> opening;
    private long openingIndex = -1;
    private boolean closed;

    CachedSlices(Cache cache, String cacheKey, @Nullable String etag, long sliceSize) {
        this.cache = cache;
        this.cacheKey = cacheKey;
        this.etag = etag;
        this.sliceSize = sliceSize;
    }

    @Override
    public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
        long i = Slices.of(position, sliceSize);
        long inSlice = position - Slices.start(sliceSize, i);
        // the slice's entry ends at the slice's end: the read stops there, the next one opens the next slice
        return slice(i).thenCompose(e -> e.readAsync(inSlice, dst));
    }

    /**
     * Reads on the calling thread when the slice is open or opens at once (its version in the
     * open-file cache) and its bytes are in the page cache ({@link CacheEntry#readIfCached});
     * otherwise -1, and the slice's lookup, if it started, is kept for the {@link #readAsync} that
     * follows.
     */
    @Override
    public int readIfCached(long position, ByteBuffer dst) throws IOException {
        CacheEntry e = openSlice(position);
        return e == null ? -1 : e.readIfCached(inSlice(position), dst);
    }

    /** As {@link #readIfCached}: within the slice that holds {@code position}. */
    @Override
    public @Nullable FileSpans fileSpans(long position, ByteBuffer scratch) throws IOException {
        CacheEntry e = openSlice(position);
        return e == null ? null : e.fileSpans(inSlice(position), scratch);
    }

    /**
     * Lends bytes from {@code position} when the slice holding it is open in the memory tier
     * ({@link CacheEntry#lend}): at most {@code length}, and never past the slice's end (the next
     * loan opens the next slice). Null when the slice is on disk or its lookup still runs; then
     * {@link #readIfCached} / {@link #readAsync}, which follow the same lookup.
     *
     * <p>Why: without it a sliced object's memory-tier slices were copied twice, into a buffer and
     * into the socket, where a one-entry object's go out as they are (on an 8 MiB object whose two
     * slices were in the memory tier, the copies were 37% of kura's CPU samples; docs/SERVE.md).
     */
    @Override
    public @Nullable LentBytes lend(long position, int length) {
        CacheEntry e = openSlice(position);
        if (e == null || !e.inMemory()) {
            return null;
        }
        long at = inSlice(position);
        long left = e.metadata().size() - at;
        return left <= 0 ? null : e.lend(at, (int) Math.min(length, left));
    }

    /**
     * The entry of the slice holding {@code position} when its lookup has completed (starting the
     * lookup if it had not started); null while it runs or when it failed.
     */
    private @Nullable CacheEntry openSlice(long position) {
        CompletableFuture<CacheEntry> f = slice(Slices.of(position, sliceSize));
        return f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
    }

    /** Offset of object byte {@code position} within its slice. */
    private long inSlice(long position) {
        return position - Slices.start(sliceSize, Slices.of(position, sliceSize));
    }

    /** The entry of slice {@code i}: the open one, the lookup already under way, or a new lookup. */
    private CompletableFuture<CacheEntry> slice(long i) {
        synchronized (this) {
            CacheEntry e = current;
            if (currentIndex == i && e != null) {
                return CompletableFuture.completedFuture(e);
            }
            CompletableFuture<CacheEntry> o = opening;
            if (openingIndex == i && o != null) {
                return o;
            }
        }
        release();
        synchronized (this) {
            openingIndex = i; // before the lookup: it may complete on this thread, at once
        }
        String key = Slices.key(cacheKey, etag, i);
        CompletableFuture<CacheEntry> f;
        try {
            f = cache.lookupAsync(key).thenApply(found -> {
                if (found.isEmpty()) {
                    throw new NotCached(key);
                }
                CacheEntry slice = found.get();
                synchronized (this) {
                    if (closed || openingIndex != i) {
                        slice.close(); // closed, or a read of another slice came meanwhile
                        throw new IllegalStateException("closed");
                    }
                    current = slice;
                    currentIndex = i;
                }
                return slice;
            });
        } catch (RuntimeException x) {
            return CompletableFuture.failedFuture(x);
        }
        synchronized (this) {
            if (openingIndex == i) {
                opening = f;
            }
        }
        return f;
    }

    private void release() {
        CacheEntry e;
        synchronized (this) {
            e = current;
            current = null;
            currentIndex = -1;
            opening = null;
            openingIndex = -1;
        }
        if (e != null) {
            e.close();
        }
    }

    @Override
    public boolean inMemory() {
        return false;
    }

    @Override
    public String key() {
        return cacheKey;
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        release();
    }
}
