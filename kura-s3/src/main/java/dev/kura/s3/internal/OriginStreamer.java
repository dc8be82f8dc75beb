package dev.kura.s3.internal;

import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * Copies an origin body to the cache writer and to the client that asked for it.
 *
 * <p>The client gets the answer {@link RequestPlanner#plan} gives for the body's metadata; a
 * bodyless answer (304, 412, 416, HEAD) is sent at once and the copy into the cache goes on alone.
 * A client that leaves does not stop the copy into the cache (the next request wants the entry).
 *
 * <p>Invariant: the writer is committed only when exactly {@code md.size()} bytes came; otherwise it
 * is aborted and nothing is published.
 *
 * <p>Runs on the fill's virtual thread; thread-safety: stateless apart from metrics.
 */
final class OriginStreamer {
    private static final Logger log = LoggerFactory.getLogger(OriginStreamer.class);
    private static final int ORIGIN_CHUNK = 64 * 1024;

    private final ProxyMetrics metrics;

    OriginStreamer(ProxyMetrics metrics) {
        this.metrics = metrics;
    }

    /**
     * Streams {@code body} (a whole object) to {@code w} (may be null: do not cache) and to the
     * client of {@code ex}.
     */
    void stream(Exchange ex, OriginResponse.Body body, EntryMetadata md, CacheWriter w, String cacheKey) {
        InputStream in = body.body();
        RequestPlanner.Plan p = RequestPlanner.plan(ex.isHead(), ex.requestHeaders, md);
        ClientSink sink = null;
        if (p.hasBody()) {
            ex.sendHead(p.head());
            sink = new ClientSink(ex, p.first(), p.last());
        } else {
            Replies.bodyless(ex, p);
        }
        if (w != null) {
            metrics.fillsInFlight.incrementAndGet();
        }
        byte[] buf = new byte[ORIGIN_CHUNK];
        long pos = 0;
        boolean originFailed = false;
        try {
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (IOException e) {
                    metrics.originError(ex.bucket, OriginClient.failure(e).kind().label());
                    log.warn("request {}: origin body of {} failed after {} bytes: {}", ex.id, cacheKey, pos, e.toString());
                    originFailed = true;
                    break;
                }
                if (n < 0) {
                    break;
                }
                if (w != null) {
                    try {
                        w.write(ByteBuffer.wrap(buf, 0, n));
                    } catch (IOException | RuntimeException e) {
                        log.warn("request {}: cache write of {} failed, serving on without caching: {}",
                                ex.id, cacheKey, e.toString());
                        w.abort();
                        w.close();
                        w = null;
                        metrics.fillsInFlight.decrementAndGet();
                    }
                }
                if (sink != null && !sink.offer(buf, n, pos)) {
                    sink = null; // client gone: keep filling the cache for the next one
                }
                pos += n;
                if (w == null && (sink == null || sink.complete(pos))) {
                    break;
                }
            }
            boolean whole = !originFailed && pos == md.size();
            if (w != null) {
                if (whole) {
                    try {
                        w.commit().close();
                    } catch (IOException | RuntimeException e) {
                        log.warn("request {}: cache commit of {} failed: {}", ex.id, cacheKey, e.toString());
                    }
                } else {
                    if (!originFailed) {
                        log.warn("request {}: origin sent {} bytes of {} for {}", ex.id, pos, md.size(), cacheKey);
                    }
                    w.abort();
                }
            }
            if (sink != null) {
                if (sink.complete(pos)) {
                    ex.end();
                } else {
                    ex.abort();
                }
            }
        } finally {
            if (w != null) {
                w.close();
                metrics.fillsInFlight.decrementAndGet();
            }
        }
    }

    /** Sends the client its range of the origin stream, with back-pressure. Used from one virtual thread. */
    private static final class ClientSink {
        private static final long STALL_MILLIS = 60_000;
        private final Exchange ex;
        private final long first;
        private final long last;

        ClientSink(Exchange ex, long first, long last) {
            this.ex = ex;
            this.first = first;
            this.last = last;
        }

        /** Offers bytes at object offset {@code pos}; false when the client is gone. */
        boolean offer(byte[] b, int n, long pos) {
            if (!ex.ch.isActive()) {
                ex.abort(); // ends the exchange (metrics, access log, in-flight count)
                return false;
            }
            long s = Math.max(pos, first);
            long e = Math.min(pos + n - 1, last);
            if (s > e) {
                return true;
            }
            int len = (int) (e - s + 1);
            ByteBuf out = ex.ch.alloc().directBuffer(len);
            out.writeBytes(b, (int) (s - pos), len);
            ChannelFuture f = ex.chunk(out);
            if (!ex.ch.isWritable()) {
                if (!f.awaitUninterruptibly(STALL_MILLIS) || !f.isSuccess()) {
                    ex.abort();
                    return false;
                }
            }
            return true;
        }

        boolean complete(long pos) {
            return pos > last;
        }
    }
}
