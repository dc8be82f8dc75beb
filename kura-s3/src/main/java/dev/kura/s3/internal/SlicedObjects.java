package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import io.netty.buffer.ByteBuf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
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
 * <p>Thread-safety: safe for concurrent use.
 */
final class SlicedObjects {
    private static final Logger log = LoggerFactory.getLogger(SlicedObjects.class);
    /** Rounds of "the slice's fill ended without an entry: try again" before the response is cut. */
    private static final int ROUNDS = 3;

    private final Cache cache;
    private final ProxyMetrics metrics;
    private final ExecutorService workers;
    private final OriginStreamer streamer;

    SlicedObjects(Cache cache, ProxyMetrics metrics, ExecutorService workers) {
        this.cache = cache;
        this.metrics = metrics;
        this.workers = workers;
        this.streamer = new OriginStreamer(metrics);
    }

    /**
     * Serves a request for an object whose index entry is {@code index} (closed here), as the
     * request's headers call for. May be called on the event loop.
     */
    void serve(Exchange ex, FillCoordinator.Target t, CacheEntry index, EntryMetadata indexMd) {
        index.close();
        EntryMetadata object = Slices.object(indexMd);
        long sliceSize = Slices.sliceSize(indexMd);
        RequestPlanner.Plan p = RequestPlanner.plan(ex.isHead(), ex.requestHeaders, object);
        if (!p.hasBody()) {
            Replies.bodyless(ex, p);
            return;
        }
        long i = Slices.of(p.first(), sliceSize);
        if (Slices.of(p.last(), sliceSize) == i) {
            Optional<CacheEntry> slice = lookup(Slices.key(t.cacheKey(), object.etag(), i));
            if (slice.isPresent()) {
                long base = Slices.start(sliceSize, i);
                EntrySender.send(ex, slice.get(), p.head(), p.first() - base, p.last() - base,
                        () -> workers.execute(() -> {
                            ex.cacheStatus = CacheStatus.MISS;
                            ex.sendHead(p.head());
                            finish(ex, t, object, sliceSize, p.first(), p.last());
                        }));
                return;
            }
        }
        workers.execute(() -> {
            ex.sendHead(p.head());
            finish(ex, t, object, sliceSize, p.first(), p.last());
        });
    }

    /**
     * Sends the client bytes {@code from..last} of the object, slice by slice, then ends the
     * response (its head is already sent). Blocks: runs on a virtual thread.
     */
    void finish(Exchange ex, FillCoordinator.Target t, EntryMetadata object, long sliceSize, long from, long last) {
        ClientSink sink = new ClientSink(ex, from, last);
        long pos = from;
        try {
            while (pos <= last) {
                long i = Slices.of(pos, sliceSize);
                CacheEntry slice = slice(ex, t, object, sliceSize, i);
                if (slice == null) {
                    ex.abort();
                    return;
                }
                try (slice) {
                    long base = Slices.start(sliceSize, i);
                    long end = Math.min(last, base + slice.metadata().size() - 1);
                    while (pos <= end) {
                        int n = (int) Math.min(EntrySender.CHUNK, end - pos + 1);
                        ByteBuf buf = ex.ch.alloc().directBuffer(n);
                        if (!readFully(slice, pos - base, buf, n)) {
                            log.warn("request {}: slice {} of {} could not be read", ex.id, i, t.cacheKey());
                            ex.abort();
                            return;
                        }
                        if (!sink.send(buf)) {
                            return;
                        }
                        pos += n;
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

    private static boolean readFully(CacheEntry e, long at, ByteBuf buf, int n) {
        ByteBuffer dst = buf.nioBuffer(0, n);
        try {
            while (dst.hasRemaining()) {
                if (e.read(at + dst.position(), dst) <= 0) {
                    buf.release();
                    return false;
                }
            }
        } catch (IOException | RuntimeException x) {
            buf.release();
            return false;
        }
        buf.writerIndex(n);
        return true;
    }

    /** Slice {@code i} from the cache, filled from the origin when missing; null when it cannot be had. */
    private CacheEntry slice(Exchange ex, FillCoordinator.Target t, EntryMetadata object, long sliceSize, long i) {
        String key = Slices.key(t.cacheKey(), object.etag(), i);
        for (int round = 0; round < ROUNDS; round++) {
            Optional<CacheEntry> have = lookup(key);
            if (have.isPresent()) {
                return have.get();
            }
            Fill fill;
            try {
                fill = cache.fill(key);
            } catch (RuntimeException e) {
                log.warn("request {}: cache fill of {} failed: {}", ex.id, key, e.toString());
                return null;
            }
            if (fill instanceof Fill.Leader leader) {
                return fetch(ex, t, object, sliceSize, i, leader);
            }
            try {
                Optional<CacheEntry> done = ((Fill.Follower) fill).result()
                        .get(Math.max(60_000, 4 * OriginClient.total(t.bucket()).toMillis()), TimeUnit.MILLISECONDS);
                if (done.isPresent()) {
                    return done.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // the slice's leader failed or is stuck: try again (one of us leads the next round)
            }
        }
        return null;
    }

    /** The leader of slice {@code i}'s fill: one ranged GET with If-Match, written whole, then served. */
    private CacheEntry fetch(Exchange ex, FillCoordinator.Target t, EntryMetadata object, long sliceSize, long i,
                             Fill.Leader leader) {
        long first = Slices.start(sliceSize, i);
        long length = Slices.length(object.size(), sliceSize, i);
        OriginRequest rq = new OriginRequest(t.key(), t.versionId(), null, object.etag(), first, first + length - 1);
        long t0 = System.nanoTime();
        OriginResponse r;
        try {
            r = t.origin().get(rq);
        } catch (RuntimeException e) {
            leader.cancel();
            throw e;
        }
        switch (r) {
            case OriginResponse.Body body -> {
                metrics.origin(t.name(), "ok", System.nanoTime() - t0);
                try (body) {
                    if (body.first() != first || body.length() != length || !object.etag().equals(body.object().etag())) {
                        leader.cancel();
                        log.warn("request {}: origin answered bytes {}+{} of {} for slice {} of {}: dropping the object",
                                ex.id, body.first(), body.length(), body.object().etag(), i, t.cacheKey());
                        dropObject(t.cacheKey());
                        return null;
                    }
                    var w = leader.begin(Slices.slice(object, sliceSize, i));
                    try (w) {
                        byte[] buf = new byte[64 * 1024];
                        int n;
                        while ((n = body.body().read(buf)) >= 0) {
                            w.write(ByteBuffer.wrap(buf, 0, n));
                        }
                        if (w.written() != length) {
                            w.abort();
                            return null;
                        }
                        return w.commit();
                    }
                } catch (IOException | RuntimeException e) {
                    log.warn("request {}: fetching slice {} of {} failed: {}", ex.id, i, t.cacheKey(), e.toString());
                    leader.cancel();
                    return null;
                }
            }
            case OriginResponse.Failed f -> {
                leader.cancel();
                metrics.origin(t.name(), "error", System.nanoTime() - t0);
                metrics.originError(t.name(), f.failure().kind().label());
                if (f.failure().kind() == OriginFailure.Kind.PRECONDITION_FAILED
                        || f.failure().kind() == OriginFailure.Kind.NOT_FOUND) {
                    log.info("request {}: {} changed at the origin while being read ({}): cutting the response",
                            ex.id, t.cacheKey(), f.failure().message());
                    dropObject(t.cacheKey());
                } else {
                    log.warn("request {}: slice {} of {}: {}", ex.id, i, t.cacheKey(), f.failure().message());
                }
                return null;
            }
            case OriginResponse.NotModified nm -> {
                leader.cancel();
                return null;
            }
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
