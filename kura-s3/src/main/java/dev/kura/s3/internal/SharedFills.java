package dev.kura.s3.internal;

import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.cache.PendingEntry;
import dev.kura.s3.internal.shared.SharedTier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * Where the {@link FillCoordinator} meets the shared tier ({@link SharedTier}, {@code cache.shared}).
 *
 * <ul>
 *   <li>{@link #serve}: the leader of a miss's fill asks the shared tier before the origin. A hit is
 *       written to the local tiers as the leader's fill (so the key's followers and later requests
 *       are served from the local cache, as after an origin fill, with the shared value's expiry)
 *       and served, {@code X-Cache: SHARED}. Asking as the leader keeps single flight: concurrent
 *       misses of one key make one shared-tier lookup, and at most one origin request.</li>
 *   <li>{@link #offer}: after a whole, cacheable object came from the origin and was committed
 *       locally, it is read from the fill (a reader taken before the commit) and written to the
 *       shared tier on a worker thread, off the client's path.</li>
 * </ul>
 * Only ordinary (unsliced) entries up to {@code max-object-size} take part; a revalidation (a stale
 * entry at hand) goes to the origin, whose 304 is cheaper than a shared value's body.
 *
 * <p>Thread-safety: safe for concurrent use. {@link #serve} blocks up to the tier's timeout (call
 * it on a virtual thread).
 */
final class SharedFills {
    private static final Logger log = LoggerFactory.getLogger(SharedFills.class);

    private final @Nullable SharedTier tier;
    private final ExecutorService workers;

    /** @param tier the shared tier, or null when {@code cache.shared} is off (then this does nothing) */
    SharedFills(@Nullable SharedTier tier, ExecutorService workers) {
        this.tier = tier;
        this.workers = workers;
    }

    /**
     * Serves a miss of {@code t} from the shared tier if it holds the object: true when it was
     * served (the leader's fill is then ended), false when not (the leader's fill is untouched: go
     * to the origin).
     *
     * @param fc serves the committed entry, with its fallbacks
     */
    boolean serve(Exchange ex, FillCoordinator.Target t, Fill.Leader leader, FillCoordinator fc) {
        SharedTier st = tier;
        if (st == null) {
            return false;
        }
        Optional<SharedTier.Hit> got = st.get(t.cacheKey());
        if (got.isEmpty()) {
            return false;
        }
        EntryMetadata md = got.get().metadata();
        byte[] body = got.get().body();
        ex.cacheStatus = CacheStatus.SHARED;
        CacheEntry e = commit(ex, t, leader, md, body);
        if (e != null) {
            fc.serve(ex, t, e, md);
        } else {
            // The local cache did not take it (refused, disk failing): serve the verified bytes.
            Replies.source(ex, new Bytes(body, t.cacheKey()), md, () -> workers.execute(() -> fc.passThrough(ex, t)),
                    null);
        }
        return true;
    }

    /** Writes the shared value into the local tiers as the leader's fill; null when not taken. */
    private @Nullable CacheEntry commit(Exchange ex, FillCoordinator.Target t, Fill.Leader leader, EntryMetadata md,
                                        byte[] body) {
        CacheWriter w = null;
        try {
            w = leader.begin(md);
            if (w == null) {
                return null;
            }
            w.write(ByteBuffer.wrap(body));
            return w.commit();
        } catch (IOException | RuntimeException x) {
            log.warn("request {}: caching {} from the shared tier failed, serving it uncached: {}", ex.id,
                    t.cacheKey(), x.toString());
            if (w == null) {
                leader.cancel();
            }
            return null;
        } finally {
            if (w != null) {
                w.close();
            }
        }
    }

    /**
     * A reader of the origin fill {@code w} for {@link #offer}, taken before the fill commits; null
     * when the tier is off or does not take an object with {@code md} ({@link SharedTier#admits}).
     * (Reading the fill, rather than looking the entry up after it, leaves the local tiers' hit
     * counts alone and cannot find another version.)
     */
    @Nullable PendingEntry reader(EntryMetadata md, CacheWriter w) {
        SharedTier st = tier;
        if (st == null || !st.admits(md)) {
            return null;
        }
        try {
            return w.reader();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * After the origin fill of {@code cacheKey} with {@code md}: once it has committed locally,
     * writes the object (read from {@code fill}, a {@link #reader}) to the shared tier, on a worker
     * thread; closes {@code fill}. Nothing is written when the fill did not commit, or when
     * {@code fill} is null.
     */
    void offer(String cacheKey, EntryMetadata md, @Nullable PendingEntry fill) {
        SharedTier st = tier;
        if (st == null || fill == null) {
            return;
        }
        workers.execute(() -> {
            try (fill) {
                fill.committed().get(); // the fill's own thread has ended it by now: no real wait
                byte[] body = new byte[(int) md.size()];
                ByteBuffer b = ByteBuffer.wrap(body);
                while (b.hasRemaining()) {
                    if (fill.readAsync(b.position(), b).get() <= 0) {
                        return;
                    }
                }
                st.put(cacheKey, md, body);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | RuntimeException x) {
                log.debug("not offering {} to the shared tier: {}", cacheKey, x.toString());
            }
        });
    }

    /** A body from a byte array (a shared value the local cache did not take). */
    private record Bytes(byte[] body, String key) implements BodySource {
        @Override
        public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
            if (position >= body.length) {
                return CompletableFuture.completedFuture(-1);
            }
            int n = (int) Math.min(dst.remaining(), body.length - position);
            dst.put(body, (int) position, n);
            return CompletableFuture.completedFuture(n);
        }

        @Override
        public boolean inMemory() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
