package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * Where an origin body goes in the cache while it streams: one entry ({@link Whole}) or the slices
 * it covers ({@link Sliced}). A cache fault only stops caching; it never fails the stream.
 *
 * <p>Used by the one thread that reads the origin body.
 */
sealed interface CacheSink permits CacheSink.Whole, CacheSink.Sliced {
    Logger LOG = LoggerFactory.getLogger(CacheSink.class);

    /** Writes the next body bytes (all of {@code b}); false once this sink has stopped caching. */
    boolean write(ByteBuffer b);

    /** Ends the body: commits what is complete when {@code whole} (every byte came), aborts the rest. */
    void end(boolean whole);

    /** Commits or aborts {@code w}, then closes it; a failed commit is logged, never thrown. */
    private static void settle(CacheWriter w, boolean commit, ProxyMetrics metrics, String what) {
        try {
            if (commit) {
                w.commit().close();
            } else {
                w.abort();
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("cache commit of {} failed: {}", what, e.toString());
        } finally {
            w.close();
            metrics.fillsInFlight.decrementAndGet();
        }
    }

    /** One cache entry for the whole object, committed only when exactly its size came. */
    final class Whole implements CacheSink {
        private final ProxyMetrics metrics;
        private final String cacheKey;
        /** The open entry; null once committed or aborted. */
        private @Nullable CacheWriter w;

        Whole(CacheWriter w, ProxyMetrics metrics, String cacheKey) {
            this.w = w;
            this.metrics = metrics;
            this.cacheKey = cacheKey;
            metrics.fillsInFlight.incrementAndGet();
        }

        @Override
        public boolean write(ByteBuffer b) {
            if (w == null) {
                return false;
            }
            try {
                w.write(b);
                return true;
            } catch (IOException | RuntimeException e) {
                LOG.warn("cache write of {} failed, serving on without caching: {}", cacheKey, e.toString());
                close(false);
                return false;
            }
        }

        @Override
        public void end(boolean whole) {
            if (w != null) {
                close(whole);
            }
        }

        private void close(boolean commit) {
            CacheWriter open = w;
            w = null;
            if (open != null) {
                settle(open, commit, metrics, cacheKey);
            }
        }
    }

    /**
     * The slices a body covers, each its own entry and its own single-flight fill: a slice that is
     * cached already or being filled by another request is skipped, the others are written and
     * committed as soon as their last byte came. The body must start at a slice boundary.
     */
    final class Sliced implements CacheSink {
        private final Cache cache;
        private final ProxyMetrics metrics;
        private final String cacheKey;
        private final EntryMetadata object;
        private final long sliceSize;
        private long pos;
        private final long first;
        private final long end;
        private volatile long slice = -1;
        private volatile boolean ended;
        /** The open entry of the current slice; null between slices and for a slice this body does not fill. */
        private @Nullable CacheWriter w;
        private boolean failed;
        /** Completed as the body reaches each slice it covers, by slice index (or ends). */
        private final java.util.concurrent.ConcurrentHashMap<Long, java.util.concurrent.CompletableFuture<Void>> reached =
                new java.util.concurrent.ConcurrentHashMap<>();

        /**
         * @param first the object offset of the body's first byte, a multiple of {@code sliceSize}
         * @param end the object offset just past the body's last byte
         */
        Sliced(Cache cache, ProxyMetrics metrics, String cacheKey, EntryMetadata object, long sliceSize, long first,
               long end) {
            if (first % sliceSize != 0) {
                throw new IllegalArgumentException("a sliced body must start at a slice boundary, was " + first);
            }
            this.cache = cache;
            this.metrics = metrics;
            this.cacheKey = cacheKey;
            this.object = object;
            this.sliceSize = sliceSize;
            this.pos = first;
            this.first = first;
            this.end = end;
        }

        /**
         * True when this body will write slice {@code i} within {@code ahead} slices from the one
         * it writes now: a reader of slice {@code i} is better off following this body than
         * fetching the slice itself (one origin request instead of two).
         */
        boolean reaches(long i, long ahead) {
            long now = slice;
            return !ended && i >= Math.max(now, Slices.of(first, sliceSize)) && Slices.start(sliceSize, i) < end
                    && i - Math.max(now, Slices.of(first, sliceSize)) <= ahead;
        }

        @Override
        public boolean write(ByteBuffer b) {
            while (b.hasRemaining() && !failed) {
                long i = Slices.of(pos, sliceSize);
                if (i != slice) {
                    enter(i);
                }
                long end = Slices.start(sliceSize, i) + Slices.length(object.size(), sliceSize, i);
                int n = (int) Math.min(b.remaining(), end - pos);
                if (w != null) {
                    ByteBuffer part = b.slice(b.position(), n);
                    try {
                        w.write(part);
                    } catch (IOException | RuntimeException e) {
                        LOG.warn("cache write of slice {} of {} failed, serving on without caching: {}", i, cacheKey,
                                e.toString());
                        finish(false);
                        failed = true;
                    }
                }
                b.position(b.position() + n);
                pos += n;
                if (pos == end && w != null) {
                    finish(true);
                }
            }
            return !failed;
        }

        /** Starts slice {@code i}: as the leader of its fill, unless it is cached or being filled. */
        private void enter(long i) {
            slice = i;
            String key = Slices.key(cacheKey, object.etag(), i);
            try {
                Optional<CacheEntry> have = cache.lookup(key);
                if (have.isPresent()) {
                    have.get().close();
                } else if (cache.fill(key) instanceof Fill.Leader leader) {
                    try {
                        w = leader.begin(Slices.slice(object, sliceSize, i));
                    } catch (RuntimeException e) {
                        leader.cancel();
                        throw e;
                    }
                    if (w != null) {
                        metrics.fillsInFlight.incrementAndGet();
                    }
                }
            } catch (RuntimeException e) {
                LOG.warn("cache fill of slice {} of {} failed: {}", i, cacheKey, e.toString());
            }
            reached(i).complete(null);
        }

        private java.util.concurrent.CompletableFuture<Void> reached(long i) {
            return reached.computeIfAbsent(i, x -> new java.util.concurrent.CompletableFuture<>());
        }

        /**
         * Waits (at most {@code millis}) until this body has reached slice {@code i} (it then leads
         * the slice's fill, unless the slice was cached or filled by another request) or has ended.
         * A reader then finds the slice as usual: committed, or a fill to follow.
         */
        void awaitReached(long i, long millis) {
            try {
                reached(i).get(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // a stuck stream: the reader fetches the slice itself
            }
        }

        private void finish(boolean commit) {
            CacheWriter open = w;
            w = null;
            if (open != null) {
                settle(open, commit, metrics, "slice " + slice + " of " + cacheKey);
            }
        }

        @Override
        public void end(boolean whole) {
            if (w != null) {
                finish(false); // a slice still open did not get all its bytes
            }
            ended = true;
            // Slices the body never reached: their readers stop waiting and fetch them.
            reached.values().forEach(f -> f.complete(null));
        }
    }
}
