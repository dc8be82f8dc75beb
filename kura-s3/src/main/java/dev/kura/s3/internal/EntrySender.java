package dev.kura.s3.internal;

import dev.kura.cache.CacheEntry;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;

/**
 * Streams bytes {@code first..last} of a cache entry to a client, from the channel's event loop.
 *
 * <p>Why this shape: an object is never loaded whole. Each step reads one chunk (at most
 * {@link #CHUNK} bytes) into a pooled direct buffer, with {@link CacheEntry#readAsync} for the
 * disk tier (the event loop never waits on the disk) and a plain copy for the memory tier, and
 * writes it. The next read starts when the channel is writable again (or at once while it is), so
 * a slow client holds at most Netty's write-buffer high-water mark plus one chunk. A body that fits
 * in one chunk goes out with its head in a single write.
 *
 * <p>A failed read (I/O error, corrupt block) after the head was sent can only cut the response:
 * the connection is closed, so the client sees a short body and never wrong bytes.
 */
final class EntrySender {
    static final int CHUNK = 256 * 1024;
    private static final Logger log = LoggerFactory.getLogger(EntrySender.class);

    private final Exchange ex;
    private final CacheEntry entry;
    private final HttpResponse head;
    private long pos;
    private final long last;
    private final boolean memory;

    private final Runnable fallback;

    private EntrySender(Exchange ex, CacheEntry entry, HttpResponse head, long first, long last, Runnable fallback) {
        this.ex = ex;
        this.entry = entry;
        this.head = head;
        this.pos = first;
        this.last = last;
        this.memory = entry.inMemory();
        this.fallback = fallback;
    }

    /**
     * Sends {@code head} and then bytes first..last (inclusive, first &lt;= last) of {@code entry};
     * closes the entry. When the first read fails (nothing has been sent yet) it runs
     * {@code fallback} instead, which fetches from the origin: a cache fault does not fail a request.
     */
    static void send(Exchange ex, CacheEntry entry, HttpResponse head, long first, long last, Runnable fallback) {
        EntrySender s = new EntrySender(ex, entry, head, first, last, fallback);
        if (ex.ch.eventLoop().inEventLoop()) {
            s.startOnLoop();
        } else {
            ex.ch.eventLoop().execute(s::startOnLoop);
        }
    }

    private void startOnLoop() {
        long len = last - pos + 1;
        int n = (int) Math.min(CHUNK, len);
        ByteBuf buf = ex.ch.alloc().directBuffer(n);
        read(buf, n, () -> {
            if (len <= CHUNK) {
                DefaultFullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                        head.status(), buf, head.headers(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
                entry.close();
                ex.sendFull(full);
                return;
            }
            ex.sendHead(head);
            pos += n;
            ChannelFuture f = ex.chunk(buf);
            if (ex.ch.isWritable()) {
                next();
            } else {
                f.addListener(x -> next());
            }
        }, fallback);
    }

    private void next() {
        if (!ex.ch.isActive()) {
            entry.close();
            ex.abort();
            return;
        }
        if (pos > last) {
            entry.close();
            ex.end();
            return;
        }
        int n = (int) Math.min(CHUNK, last - pos + 1);
        ByteBuf buf = ex.ch.alloc().directBuffer(n);
        read(buf, n, () -> {
            pos += n;
            ChannelFuture f = ex.chunk(buf);
            if (ex.ch.isWritable()) {
                next();
            } else {
                f.addListener(x -> next());
            }
        }, ex::abort);
    }

    /** Fills {@code buf} with {@code n} bytes at {@code pos}, then runs {@code done} on the event loop. */
    private void read(ByteBuf buf, int n, Runnable done, Runnable failed) {
        ByteBuffer dst = buf.nioBuffer(0, n);
        long at = pos;
        if (memory) {
            try {
                while (dst.hasRemaining()) {
                    int r = entry.read(at + dst.position(), dst);
                    if (r <= 0) {
                        throw new java.io.EOFException("entry shorter than its metadata");
                    }
                }
                buf.writerIndex(n);
                done.run();
            } catch (Exception e) {
                fail(buf, e, failed);
            }
            return;
        }
        readAsync(buf, dst, at, n, done, failed);
    }

    private void readAsync(ByteBuf buf, ByteBuffer dst, long at, int n, Runnable done, Runnable failed) {
        entry.readAsync(at + dst.position(), dst).whenComplete((r, err) -> ex.ch.eventLoop().execute(() -> {
            if (err != null || r == null || r <= 0) {
                fail(buf, err != null ? err : new java.io.EOFException("entry shorter than its metadata"), failed);
            } else if (dst.hasRemaining()) {
                readAsync(buf, dst, at, n, done, failed);
            } else {
                buf.writerIndex(n);
                done.run();
            }
        }));
    }

    private void fail(ByteBuf buf, Throwable e, Runnable failed) {
        buf.release();
        entry.close();
        log.warn("request {}: cache read of {} failed at byte {}: {}", ex.id, entry.key(), pos, e.toString());
        failed.run();
    }
}
