package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.Fill;
import dev.kura.cache.PendingEntry;
import dev.kura.s3.FillConfig;
import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Serves objects cached in slices ({@link Slices}): a response is the bytes of consecutive slices,
 * each taken from the cache or, when missing, fetched from the origin with a ranged GET guarded by
 * {@code If-Match: <ETag>} (a single-flight fill per slice, so concurrent misses on one slice make
 * one origin request while misses on different slices of one object run in parallel).
 *
 * <p>A response that lies inside one cached slice is served on the event loop by
 * {@link EntrySender}, as a whole-object hit is. Any other is served on a virtual thread, slice by
 * slice, with back-pressure from the client. When the object changed at the origin (a slice fetch
 * answers 412), or a slice cannot be had, the response is cut (the client sees a short body and a
 * closed connection, never wrong bytes) and the object's index and slices are dropped.
 *
 * <p>Read-ahead ({@code serve.fill.read-ahead}, issue 8 section 1). A <em>sequential</em> reader
 * (a whole-object GET, or an open-ended Range {@code bytes=a-}) that reaches slice {@code i} starts
 * background fills of the slices {@code i+1..i+n} of its response that nobody has or fetches, so
 * that it finds them cached or arriving instead of waiting for each origin round trip in turn. A
 * reader of a bounded Range (random access: a Parquet footer, a column chunk) triggers none. Each
 * read-ahead fill is the slice's ordinary single-flight fill, so a reader that gets there first
 * follows it. Bounds: at most {@code n} read-ahead fills per object version at a time, and
 * {@code serve.fill.read-ahead-total} across all objects; a slice past either bound is simply
 * fetched when its reader reaches it. The same {@code n} is how far ahead an origin stream of the
 * object (a whole GET's miss, {@link CacheSink.Sliced}) counts as "about to write" a slice: a
 * reader of such a slice follows the stream, and read-ahead skips it (one window notion, not two:
 * the stream is a sequential reader whose read-ahead is the stream itself).
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class SlicedObjects {
    private static final Logger log = LoggerFactory.getLogger(SlicedObjects.class);
    /** Rounds of "the slice's fill ended without an entry: try again" before the response is cut. */
    private static final int ROUNDS = 3;
    /** Origin streams filling an object's slices now, by version prefix ({@link Slices#versionPrefix}). */
    private final java.util.concurrent.ConcurrentHashMap<String, CacheSink.Sliced> streams =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final Cache cache;
    private final ProxyMetrics metrics;
    private final ExecutorService workers;
    private final OriginStreamer streamer;
    /**
     * Slices fetched ahead of a sequential reader ({@code serve.fill.read-ahead}); also how far
     * ahead of where it is an origin stream counts as about to write a slice (readers of that slice
     * follow the stream instead of fetching it).
     */
    private final int readAhead;
    /** Read-ahead fills in flight across all objects, at most {@code serve.fill.read-ahead-total}. */
    private final java.util.concurrent.Semaphore readAheadTotal;
    /** Read-ahead fills in flight per object version ({@link Slices#versionPrefix}); no entry at zero. */
    private final java.util.concurrent.ConcurrentHashMap<String, Integer> readingAhead =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** @param share {@code serve.origin-bandwidth}, or null when off */
    SlicedObjects(Cache cache, ProxyMetrics metrics, ExecutorService workers, FillConfig fills,
                  dev.kura.s3.internal.limits.@org.jspecify.annotations.Nullable OriginShare share) {
        this.cache = cache;
        this.metrics = metrics;
        this.workers = workers;
        this.streamer = new OriginStreamer(metrics, fills, share);
        this.readAhead = fills.readAhead();
        this.readAheadTotal = new java.util.concurrent.Semaphore(fills.readAheadTotal());
    }

    /**
     * Serves a request for an object whose index entry has metadata {@code indexMd}, as the
     * request's headers call for. May be called on the event loop.
     */
    void serve(Exchange ex, FillCoordinator.Target t, EntryMetadata indexMd) {
        EntryMetadata object = Slices.object(indexMd);
        long sliceSize = Slices.sliceSize(indexMd);
        RequestPlanner.Plan p = RequestPlanner.plan(ex.isHead(), ex.requestHeaders, object, ex.part);
        if (!p.hasBody()) {
            Replies.bodyless(ex, p);
            return;
        }
        long i = Slices.of(p.first(), sliceSize);
        Runnable slow = () -> workers.execute(() -> {
            ex.sendHead(p.head());
            finish(ex, t, object, sliceSize, p.first(), p.last());
        });
        if (Slices.of(p.last(), sliceSize) != i) {
            // Across slices: from the event loop too, slice after slice while they are cached; from
            // the first one that is not (or a failed read), on a virtual thread that fills it.
            EntrySender.send(ex, new CachedSlices(cache, t.cacheKey(), object.etag(), sliceSize), p.head(),
                    p.first(), p.last(), slow,
                    (from, last) -> workers.execute(() -> finish(ex, t, object, sliceSize, from, last)));
            return;
        }
        // Inside one slice: served from the event loop when the slice is cached (looked up
        // asynchronously: the event loop never waits on the disk).
        String key = Slices.key(t.cacheKey(), object.etag(), i);
        java.util.concurrent.CompletableFuture<Optional<CacheEntry>> f;
        try {
            f = cache.lookupAsync(key);
        } catch (RuntimeException e) {
            f = java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        f.exceptionally(e -> Optional.empty()).thenAccept(slice -> ex.ch.eventLoop().execute(() -> {
            if (slice.isEmpty()) {
                slow.run();
                return;
            }
            long base = Slices.start(sliceSize, i);
            EntrySender.send(ex, BodySource.of(slice.get()), p.head(), p.first() - base, p.last() - base,
                    () -> workers.execute(() -> {
                        ex.cacheStatus = CacheStatus.MISS;
                        ex.sendHead(p.head());
                        finish(ex, t, object, sliceSize, p.first(), p.last());
                    }), (from, last) -> workers.execute(() -> resume(ex, t, object.etag(), base + from, p.last())));
        }));
    }

    /**
     * Sends the client bytes {@code from..last} of the object, slice by slice, then ends the
     * response (its head is already sent). Blocks: runs on a virtual thread.
     */
    void finish(Exchange ex, FillCoordinator.Target t, EntryMetadata object, long sliceSize, long from, long last) {
        ClientSink sink = new ClientSink(ex, from, last);
        long idle = OriginClient.total(t.bucket()).toMillis() + 1_000;
        long pos = from;
        boolean sequential = readAhead > 0
                && sequential(ex.requestHeaders.get(io.netty.handler.codec.http.HttpHeaderNames.RANGE));
        try {
            while (pos <= last) {
                long i = Slices.of(pos, sliceSize);
                BodySource slice = slice(ex, t, object, sliceSize, i);
                if (slice == null) {
                    ex.abort();
                    return;
                }
                if (sequential) {
                    readAhead(ex, t, object, sliceSize, i, Slices.of(last, sliceSize));
                }
                try (slice) {
                    long base = Slices.start(sliceSize, i);
                    long end = Math.min(last, base + Slices.length(object.size(), sliceSize, i) - 1);
                    while (pos <= end) {
                        int n = (int) Math.min(EntrySender.CHUNK, end - pos + 1);
                        ByteBuf buf = ex.ch.alloc().directBuffer(n);
                        int got = read(slice, pos - base, buf, n, idle);
                        if (got <= 0) {
                            log.warn("request {}: slice {} of {} could not be read at {}, going on from the origin",
                                    ex.id, i, t.cacheKey(), pos);
                            resume(ex, t, object.etag(), pos, last);
                            return;
                        }
                        if (!sink.send(buf)) {
                            return;
                        }
                        pos += got;
                    }
                }
            }
            ex.end();
        } catch (RuntimeException e) {
            Replies.internalError(ex, e);
            if (!ex.finished()) {
                ex.abort();
            }
        }
    }

    /** Reads up to {@code n} bytes into {@code buf}; the count, or -1 (buf released) on failure. */
    private static int read(BodySource s, long at, ByteBuf buf, int n, long idleMillis) {
        ByteBuffer dst = buf.nioBuffer(0, n);
        try {
            Integer r = s.readAsync(at, dst).get(idleMillis, TimeUnit.MILLISECONDS);
            if (r == null || r <= 0) {
                buf.release();
                return -1;
            }
            buf.writerIndex(r);
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.debug("read of {} at {} failed: {}", s.key(), at, e.toString());
        }
        buf.release();
        return -1;
    }

    /**
     * Slice {@code i}: committed from the cache, or a fill of it read as it grows (started here
     * when nobody fills it); null when it cannot be had (the object changed, the origin failed).
     */
    private @Nullable BodySource slice(Exchange ex, FillCoordinator.Target t, EntryMetadata object, long sliceSize,
                                       long i) {
        String key = Slices.key(t.cacheKey(), object.etag(), i);
        long wait = OriginClient.total(t.bucket()).toMillis() + 1_000;
        for (int round = 0; round < ROUNDS; round++) {
            Optional<CacheEntry> have = lookup(key);
            if (have.isPresent()) {
                return BodySource.of(have.get());
            }
            CacheSink.Sliced stream = streams.get(Slices.versionPrefix(t.cacheKey(), object.etag()));
            if (stream != null && stream.reaches(i, readAhead)) {
                stream.awaitReached(i, wait);
                have = lookup(key);
                if (have.isPresent()) {
                    return BodySource.of(have.get());
                }
            }
            Fill fill;
            try {
                fill = cache.fill(key);
            } catch (RuntimeException e) {
                log.warn("request {}: cache fill of {} failed: {}", ex.id, key, e.toString());
                return null;
            }
            if (fill instanceof Fill.Leader leader) {
                CompletableFuture<BodySource> begun = new CompletableFuture<>();
                workers.execute(() -> fetch(ex, t, object, sliceSize, i, leader, begun));
                return await(begun, wait);
            }
            PendingEntry p = await(((Fill.Follower) fill).pending(), wait);
            if (p != null) {
                return BodySource.of(p, key);
            }
            // the slice's fill ended without beginning: try again (one of us leads the next round)
        }
        return null;
    }

    /**
     * True for a request that reads an object sequentially: no Range header (a whole GET) or one
     * open-ended range {@code bytes=a-}. A bounded range ({@code bytes=a-b}), a suffix range
     * ({@code bytes=-n}, a footer read) or several ranges are random access.
     */
    static boolean sequential(String range) {
        if (range == null) {
            return true;
        }
        String h = range.trim();
        return Slices.firstByte(h) >= 0 && h.endsWith("-");
    }

    /**
     * Starts background fills of the slices after {@code i}, up to {@code i + readAhead} and
     * {@code lastSlice}, that are neither cached nor being fetched nor about to be written by an
     * origin stream of the object; within the per-object and global bounds. Never blocks on the
     * origin (the fills run on their own virtual threads); costs a cache lookup per candidate.
     */
    private void readAhead(Exchange ex, FillCoordinator.Target t, EntryMetadata object, long sliceSize, long i,
                           long lastSlice) {
        String version = Slices.versionPrefix(t.cacheKey(), object.etag());
        for (long j = i + 1; j <= Math.min(i + readAhead, lastSlice); j++) {
            CacheSink.Sliced stream = streams.get(version);
            if (stream != null && stream.reaches(j, readAhead)) {
                continue; // the stream writes it soon: readers will follow it
            }
            String key = Slices.key(t.cacheKey(), object.etag(), j);
            Fill fill;
            try {
                fill = cache.fill(key);
            } catch (RuntimeException e) {
                log.debug("read-ahead of {}: cache fill failed: {}", key, e.toString());
                return;
            }
            if (!(fill instanceof Fill.Leader leader)) {
                continue; // being fetched already (by a reader or an earlier read-ahead)
            }
            // Looked up after taking the lead, so a slice committed just now is not fetched again.
            Optional<CacheEntry> have = lookup(key);
            if (have.isPresent()) {
                have.get().close();
                leader.cancel();
                continue;
            }
            if (!takeReadAhead(version)) {
                leader.cancel();
                return; // at a bound: the reader fetches the rest when it gets there
            }
            long slice = j;
            metrics.readAheads.incrementAndGet();
            workers.execute(() -> {
                try {
                    fetch(ex, t, object, sliceSize, slice, leader, null);
                } catch (RuntimeException e) {
                    log.warn("request {}: read-ahead of slice {} of {} failed: {}", ex.id, slice, t.cacheKey(),
                            e.toString());
                } finally {
                    releaseReadAhead(version);
                }
            });
        }
    }

    /** Takes a read-ahead permit for the object {@code version}: false at the per-object or global bound. */
    private boolean takeReadAhead(String version) {
        if (!readAheadTotal.tryAcquire()) {
            return false;
        }
        boolean[] took = {false};
        readingAhead.compute(version, (k, n) -> {
            int now = n == null ? 0 : n;
            if (now >= readAhead) {
                return n;
            }
            took[0] = true;
            return now + 1;
        });
        if (!took[0]) {
            readAheadTotal.release();
        }
        return took[0];
    }

    private void releaseReadAhead(String version) {
        readingAhead.computeIfPresent(version, (k, n) -> n <= 1 ? null : n - 1);
        readAheadTotal.release();
    }

    /** Read-ahead fills running now, across all objects (tests and metrics). */
    int readAheadsInFlight() {
        return readingAhead.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** The value of {@code f}, or null when it failed or took longer than {@code millis}. Blocks. */
    static <T> @Nullable T await(CompletableFuture<T> f, long millis) {
        try {
            return f.get(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return null;
        }
    }

    /**
     * The leader of slice {@code i}'s fill, on its own virtual thread: one ranged GET with
     * If-Match, written at the origin's pace; {@code begun} gets a reader of the fill as soon as it
     * has begun (or the origin stream itself, uncached, when the cache refuses the slice), or null
     * when the slice cannot be had. A read-ahead fill passes no {@code begun} (null): nobody reads
     * it from here; readers find it through the cache.
     */
    private void fetch(Exchange ex, FillCoordinator.Target t, EntryMetadata object, long sliceSize, long i,
                       Fill.Leader leader, @Nullable CompletableFuture<@Nullable BodySource> begunOrNull) {
        CompletableFuture<BodySource> begun = begunOrNull != null ? begunOrNull : new CompletableFuture<>();
        if (begunOrNull == null) {
            // No reader: whatever a completion hands out is closed at once (a fill reader, or the
            // origin stream of a slice the cache refused, which nobody then needs).
            begun.thenAccept(s -> {
                if (s != null) {
                    s.close();
                }
            });
        }
        long first = Slices.start(sliceSize, i);
        long length = Slices.length(object.size(), sliceSize, i);
        String key = Slices.key(t.cacheKey(), object.etag(), i);
        OriginRequest rq = new OriginRequest(t.key(), t.versionId(), null, object.etag(), first, first + length - 1);
        long t0 = System.nanoTime();
        OriginResponse r;
        try {
            r = t.origin().get(rq);
        } catch (RuntimeException e) {
            leader.cancel();
            begun.complete(null);
            throw e;
        }
        switch (r) {
            case OriginResponse.Body body -> {
                metrics.origin(t.name(), "ok", System.nanoTime() - t0);
                if (body.first() != first || body.length() != length || !java.util.Objects.equals(object.etag(), body.object().etag())) {
                    body.close();
                    leader.cancel();
                    log.warn("request {}: origin answered bytes {}+{} of {} for slice {} of {}: dropping the object",
                            ex.id, body.first(), body.length(), body.object().etag(), i, t.cacheKey());
                    dropObject(t.cacheKey()); // before the reader cuts its client (see the 412 case)
                    begun.complete(null);
                    return;
                }
                CacheWriter w;
                try {
                    w = leader.begin(Slices.slice(object, sliceSize, i));
                } catch (RuntimeException e) {
                    leader.cancel();
                    w = null;
                }
                if (w == null) {
                    begun.complete(BodySource.ofStream(body, key)); // the cache refused: serve uncached
                    return;
                }
                CacheSink.Whole sink = new CacheSink.Whole(w, metrics, key);
                begun.complete(BodySource.of(w.reader(), key));
                streamer.fill(ex, body, sink, key);
            }
            case OriginResponse.Failed f -> {
                leader.cancel();
                metrics.origin(t.name(), "error", System.nanoTime() - t0);
                metrics.originError(t.name(), f.failure().kind().label());
                if (f.failure().kind() == OriginFailure.Kind.PRECONDITION_FAILED
                        || f.failure().kind() == OriginFailure.Kind.NOT_FOUND) {
                    log.info("request {}: {} changed at the origin while being read ({}): cutting the response",
                            ex.id, t.cacheKey(), f.failure().message());
                    // Dropped before the reader cuts its client: a client that retries at once
                    // must not find the old version's index again and be cut a second time.
                    dropObject(t.cacheKey());
                } else {
                    log.warn("request {}: slice {} of {}: {}", ex.id, i, t.cacheKey(), f.failure().message());
                }
                begun.complete(null);
            }
            case OriginResponse.NotModified nm -> {
                leader.cancel();
                begun.complete(null);
            }
        }
    }

    /**
     * Streams bytes {@code from..last} of version {@code etag} of an object from the origin,
     * uncached, to a client whose head (and the bytes before {@code from}) were sent; a ranged GET
     * guarded by {@code If-Match}, so a changed object cuts the response instead of mixing versions.
     * Blocks: runs on a virtual thread.
     */
    void resume(Exchange ex, FillCoordinator.Target t, @Nullable String etag, long from, long last) {
        OriginResponse r = t.origin().get(new OriginRequest(t.key(), t.versionId(), null, etag, from, last));
        if (!(r instanceof OriginResponse.Body b) || b.first() != from) {
            if (r instanceof OriginResponse.Body b) {
                b.close();
            }
            ex.abort();
            return;
        }
        try (b) {
            ClientSink sink = new ClientSink(ex, from, last);
            byte[] buf = new byte[64 * 1024];
            long pos = from;
            int n;
            while ((n = b.body().read(buf)) >= 0) {
                if (!sink.offer(buf, n, pos)) {
                    return;
                }
                pos += n;
            }
            if (sink.complete(pos)) {
                ex.end();
            } else {
                ex.abort();
            }
        } catch (java.io.IOException e) {
            log.warn("request {}: origin body of {} failed: {}", ex.id, t.cacheKey(), e.toString());
            ex.abort();
        }
    }

    /**
     * Runs {@code fill}, the origin stream writing {@code sink}, while readers of the slices it is
     * about to write follow it instead of fetching them; {@code client} (which reads those slices)
     * starts once readers can find the stream.
     */
    void streaming(String cacheKey, @Nullable String etag, CacheSink.Sliced sink, Runnable client, Runnable fill) {
        String k = Slices.versionPrefix(cacheKey, etag);
        streams.put(k, sink);
        try {
            client.run();
            fill.run();
        } finally {
            streams.remove(k, sink);
        }
    }

    /** Drops an object's index entry and every slice of every version. */
    void dropObject(String cacheKey) {
        try {
            cache.delete(cacheKey);
            cache.purgePrefix(Slices.allVersionsPrefix(cacheKey));
        } catch (RuntimeException e) {
            log.warn("dropping {} from the cache failed: {}", cacheKey, e.toString());
        }
    }

    private Optional<CacheEntry> lookup(String key) {
        try {
            return cache.lookup(key);
        } catch (RuntimeException e) {
            log.warn("cache lookup of {} failed: {}", key, e.toString());
            return Optional.empty();
        }
    }

    OriginStreamer streamer() {
        return streamer;
    }
}
