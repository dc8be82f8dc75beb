package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import org.jspecify.annotations.Nullable;

import java.nio.ByteBuffer;
import java.util.Optional;
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
    // @GuardedBy("this"): the open slice, its index, and whether the source was closed (a lookup
    // that completes after close closes its entry at once)
    private @Nullable CacheEntry current;
    private long currentIndex = -1;
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
        CacheEntry e;
        synchronized (this) {
            e = currentIndex == i ? current : null;
        }
        if (e != null) {
            // the slice's entry ends at the slice's end: the read stops there, the next one opens the next slice
            return e.readAsync(inSlice, dst);
        }
        release();
        String key = Slices.key(cacheKey, etag, i);
        CompletableFuture<Optional<CacheEntry>> open;
        try {
            open = cache.lookupAsync(key);
        } catch (RuntimeException x) {
            return CompletableFuture.failedFuture(x);
        }
        return open.thenCompose(found -> {
            if (found.isEmpty()) {
                return CompletableFuture.failedFuture(new NotCached(key));
            }
            CacheEntry slice = found.get();
            synchronized (this) {
                if (closed) {
                    slice.close();
                    return CompletableFuture.failedFuture(new IllegalStateException("closed"));
                }
                current = slice;
                currentIndex = i;
            }
            return slice.readAsync(inSlice, dst);
        });
    }

    private synchronized void release() {
        CacheEntry e = current;
        current = null;
        currentIndex = -1;
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
