package dev.kura.s3.internal;

import dev.kura.s3.FillConfig;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * Copies an origin body into the cache and to the client that asked for it.
 *
 * <p>The client gets the answer planned for it ({@link RequestPlanner.Plan}); a bodyless answer
 * (304, 412, 416, HEAD) is sent at once and the copy into the cache goes on alone. A client that
 * leaves does not stop the copy into the cache (the next request wants the entry). When the body
 * ends before the client's range does (a ranged origin GET of one slice), the caller continues the
 * response from the position returned.
 *
 * <p>Invariant: the cache sink commits an entry only when all of its bytes came; otherwise it is
 * aborted and nothing is published.
 *
 * <p>Runs on the fill's virtual thread; thread-safety: stateless apart from metrics.
 */
final class OriginStreamer {
    private static final Logger log = LoggerFactory.getLogger(OriginStreamer.class);
    private static final int ORIGIN_CHUNK = 64 * 1024;

    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "kura-fill-deadline");
                t.setDaemon(true);
                return t;
            });

    private final ProxyMetrics metrics;
    private final FillConfig fills;
    /** {@code serve.origin-bandwidth}: charged per chunk read from the origin; null when off. */
    private final dev.kura.s3.internal.limits.@org.jspecify.annotations.Nullable OriginShare share;

    /**
     * @param fills the fill deadline ({@code serve.fill.deadline} and {@code min-rate})
     * @param share the origin byte budget shared between buckets, or null when off
     */
    OriginStreamer(ProxyMetrics metrics, FillConfig fills,
                   dev.kura.s3.internal.limits.@org.jspecify.annotations.Nullable OriginShare share) {
        this.metrics = metrics;
        this.fills = fills;
        this.share = share;
    }

    /** Waits for the bucket's fair share of the origin budget for {@code n} bytes just read (when on). */
    private void pace(Exchange ex, int n) {
        var s = share;
        if (s != null && n > 0) {
            s.charge(ex.bucket, n);
        }
    }

    /**
     * The overall deadline of a fill of {@code length} bytes, in nanoseconds:
     * {@code serve.fill.deadline} plus the time the bytes take at {@code serve.fill.min-rate}
     * ({@link FillConfig#deadlineNanos}). (The idle deadline, the longest wait for the next byte, is
     * the origin's read timeout.) A dripping origin thus cannot hold a key's fill, and its
     * followers, forever.
     */
    long fillDeadlineNanos(long length) {
        return fills.deadlineNanos(length);
    }

    /**
     * Copies {@code body} into {@code cache} at the origin's pace, with no client attached: clients
     * read the fill through its readers, each at its own pace, so none can slow it. Past its
     * deadline ({@link #fillDeadlineNanos}) the origin stream is closed and the fill aborted.
     * Closes the body.
     */
    void fill(Exchange ex, OriginResponse.Body body, CacheSink cache, String cacheKey) {
        var watchdog = WATCHDOG.schedule(() -> {
            log.warn("request {}: fill of {} passed its deadline, aborting it", ex.id, cacheKey);
            body.close();
        }, fillDeadlineNanos(body.length()), java.util.concurrent.TimeUnit.NANOSECONDS);
        byte[] buf = new byte[ORIGIN_CHUNK];
        long pos = 0;
        boolean failed = false;
        try (body) {
            InputStream in = body.body();
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (IOException e) {
                    metrics.originError(ex.bucket, OriginClient.failure(e).kind().label());
                    log.warn("request {}: origin body of {} failed after {} bytes: {}", ex.id, cacheKey, pos, e.toString());
                    failed = true;
                    break;
                }
                if (n < 0) {
                    break;
                }
                pace(ex, n);
                if (!cache.write(ByteBuffer.wrap(buf, 0, n))) {
                    failed = true; // the cache gave up; readers of the fill are cut, the next request refetches
                    break;
                }
                pos += n;
            }
        } finally {
            watchdog.cancel(false);
            boolean whole = !failed && pos == body.length();
            if (!whole && !failed) {
                log.warn("request {}: origin sent {} bytes of {} for {}", ex.id, pos, body.length(), cacheKey);
            }
            cache.end(whole);
        }
    }

    /**
     * Streams {@code body} to {@code cache} (may be null: do not cache) and to the client of
     * {@code ex}, which gets the answer {@code p} (planned against the whole object's metadata).
     *
     * @return -1 when the client's response is finished here (sent whole, cut, or the client left),
     *     otherwise the object offset of the next byte the client still needs: the caller goes on
     *     from there (its head is sent)
     */
    long stream(Exchange ex, OriginResponse.Body body, RequestPlanner.Plan p, @Nullable CacheSink cache,
                String cacheKey) {
        InputStream in = body.body();
        ClientSink sink = null;
        if (p.hasBody()) {
            ex.sendHead(p.head());
            sink = new ClientSink(ex, p.first(), p.last());
        } else {
            Replies.bodyless(ex, p);
        }
        byte[] buf = new byte[ORIGIN_CHUNK];
        long pos = body.first();
        long end = body.first() + body.length();
        boolean originFailed = false;
        while (true) {
            int n;
            try {
                n = in.read(buf);
            } catch (IOException e) {
                metrics.originError(ex.bucket, OriginClient.failure(e).kind().label());
                log.warn("request {}: origin body of {} failed after {} bytes: {}", ex.id, cacheKey,
                        pos - body.first(), e.toString());
                originFailed = true;
                break;
            }
            if (n < 0) {
                break;
            }
            pace(ex, n);
            if (cache != null && !cache.write(ByteBuffer.wrap(buf, 0, n))) {
                cache = null;
            }
            if (sink != null && !sink.offer(buf, n, pos)) {
                sink = null; // client gone: keep filling the cache for the next one
            }
            pos += n;
            if (cache == null && (sink == null || sink.complete(pos))) {
                break;
            }
        }
        boolean whole = !originFailed && pos == end;
        if (!whole && !originFailed && cache != null) {
            log.warn("request {}: origin sent {} bytes of {} for {}", ex.id, pos - body.first(), body.length(), cacheKey);
        }
        if (cache != null) {
            cache.end(whole);
        }
        if (sink == null) {
            return -1;
        }
        if (sink.complete(pos)) {
            ex.end();
            return -1;
        }
        if (whole && pos == end && end < body.object().size()) {
            return pos; // the body was one slice; the client wants more
        }
        ex.abort();
        return -1;
    }
}
