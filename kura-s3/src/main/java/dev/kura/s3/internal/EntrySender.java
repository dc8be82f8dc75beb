package dev.kura.s3.internal;

import dev.kura.cache.FileSpans;
import dev.kura.cache.LentBytes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Streams bytes {@code first..last} of a {@link BodySource} (a cache entry, or a fill being
 * written) to a client, from the channel's event loop.
 *
 * <p>Why this shape: an object is never loaded whole, and the event loop never waits on the disk
 * or on a fill. Each step reads one chunk (at most {@link #CHUNK} bytes) into a pooled direct
 * buffer, from the page cache on the event loop when the kernel has the blocks there
 * ({@link BodySource#readIfCached}: a copy that never waits for the device, where a ring round
 * trip would queue the step behind every other connection's), else with an asynchronous read, and
 * writes what it got (an entry of the memory tier is not read:
 * its native bytes are lent and written as they are, {@link BodySource#lend}, no copy); for a
 * fill being written a read completes as soon as some bytes are there, so a follower sends bytes
 * as the fill writes them. The next read starts when the channel is writable again (or at once
 * while it is), so a slow client holds at most Netty's write-buffer high-water mark plus one chunk,
 * and never slows the fill or other clients. A body that fits in one chunk goes out with its head
 * in a single write.
 *
 * <p>Writes are queued and flushed only when the sender stops (the channel is not writable, a read
 * must wait for the ring or a fill, the response ends), so a response whose bytes are at hand
 * reaches the socket in as few system calls as the transport makes of it.
 *
 * <p>With {@code serve.zero-copy: all} on plain HTTP, a disk-tier chunk whose blocks are in the page
 * cache is checked against its CRC32Cs and then sent as file regions ({@link BodySource#fileSpans}:
 * {@code sendfile(2)} on epoll and NIO, {@code splice(2)} on io_uring), so the kernel sends
 * page-cache pages instead of copying the bytes into the socket buffer under the socket's lock
 * (docs/SERVE.md, "Zero-copy disk hits", for what that does to the tail and the throughput). With
 * {@code memory} or {@code all}, a memory-tier chunk of 64 KiB or more that the tier keeps in a
 * memory file goes out the same way, as a region of that file ({@link LentBytes#file}; no check: the tier's bytes were checked when
 * they entered it).
 *
 * <p>A failed read (I/O error, corrupt block, failed fill) after the head was sent can only cut
 * the response: the connection is closed, so the client sees a short body and never wrong bytes.
 */
final class EntrySender {
    static final int CHUNK = 256 * 1024;
    /** File-region bytes queued and not yet written at most, before the sender waits: 1 MiB. */
    static final long REGION_WINDOW = 1024 * 1024;
    /** Lent chunks shorter than this (bytes) are copied into the socket even with zero-copy sends on. */
    static final int REGION_MIN = 64 * 1024;

    /** Finishes a response whose head and first bytes were sent, from object byte {@code from} to {@code last}. */
    @FunctionalInterface
    interface Resume {
        void from(long from, long last);
    }
    private static final Logger log = LoggerFactory.getLogger(EntrySender.class);

    private final Exchange ex;
    private final BodySource source;
    private final HttpResponse head;
    private long pos;
    private final long last;
    private final Runnable fallback;
    private final @Nullable Resume resume;
    /** Whether disk-tier bytes may go out as checked file regions: {@code serve.zero-copy: all}, plain HTTP. */
    private final boolean diskRegions;
    /** Whether memory-tier bytes may go out as regions of memory files: {@code serve.zero-copy} not off, plain HTTP. */
    private final boolean memoryRegions;
    /** File-region bytes queued and not yet written (Netty's water mark does not count regions). */
    private long regionBytes;

    private EntrySender(Exchange ex, BodySource source, HttpResponse head, long first, long last, Runnable fallback,
                        @Nullable Resume resume) {
        this.ex = ex;
        this.source = source;
        this.head = head;
        this.pos = first;
        this.last = last;
        this.fallback = fallback;
        this.resume = resume;
        ServeState state = ex.state;
        dev.kura.s3.ZeroCopy mode = state != null ? state.config.zeroCopy() : dev.kura.s3.ZeroCopy.OFF;
        // every mode but off sends memory regions; the pipeline is looked at only then
        this.memoryRegions = mode.memory() && ex.takesFileRegions();
        this.diskRegions = memoryRegions && mode.disk();
    }

    /**
     * Sends {@code head} and then bytes first..last (inclusive, first &lt;= last) of {@code source};
     * closes the source. When the first read fails (nothing has been sent yet) it runs
     * {@code fallback} instead, which fetches from the origin: a cache fault does not fail a request.
     * When a later read fails (a corrupt block, a fill that failed), {@code resume} gets the object
     * offset of the next byte the client needs and finishes the response (from the origin); when
     * {@code resume} is null the response is cut.
     */
    static void send(Exchange ex, BodySource source, HttpResponse head, long first, long last, Runnable fallback,
                     @Nullable Resume resume) {
        EntrySender s = new EntrySender(ex, source, head, first, last, fallback, resume);
        if (ex.ch.eventLoop().inEventLoop()) {
            s.startOnLoop();
        } else {
            ex.ch.eventLoop().execute(s::startOnLoop);
        }
    }

    private void startOnLoop() {
        long len = last - pos + 1;
        if (len <= CHUNK && sendLentWhole((int) len)) {
            return;
        }
        if (len <= CHUNK) {
            // The whole body in one buffer, sent with the head in one write and one flush.
            int n = (int) len;
            ByteBuf buf = ex.ch.alloc().directBuffer(n);
            read(buf, buf.nioBuffer(0, n), pos, true, () -> whenSettled(() -> {
                DefaultFullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                        head.status(), buf, head.headers(), EmptyHttpHeaders.INSTANCE);
                source.close();
                ex.sendFull(full);
            }), fallback);
            return;
        }
        LentBytes lent = lendNext();
        if (lent != null) {
            ex.sendHead(head);
            writeLent(lent);
            return;
        }
        int n = CHUNK;
        ByteBuf buf = ex.ch.alloc().directBuffer(n);
        if (sendSpans(buf, n, true, fallback)) {
            return;
        }
        read(buf, buf.nioBuffer(0, n), pos, false, () -> {
            ex.sendHead(head);
            write(buf);
        }, fallback);
    }

    /**
     * A body of {@code n <= CHUNK} bytes held in the memory tier: the head and the tier's own bytes
     * go out in one write, no copy (the loan is returned when the write has completed or failed).
     * False when the source cannot lend, or not all {@code n} bytes at once.
     */
    private boolean sendLentWhole(int n) {
        LentBytes lent = source.lend(pos, n);
        if (lent == null) {
            return false;
        }
        if (lent.buffer().remaining() < n) {
            // a sliced object's loan stops at its slice's end: the read path crosses the boundary
            lent.close();
            return false;
        }
        if (asRegion(lent)) {
            whenSettled(() -> {
                ex.sendHead(head);
                writeLent(lent);
            });
            return true;
        }
        whenSettled(() -> {
            DefaultFullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    head.status(), Unpooled.wrappedBuffer(lent.buffer()), head.headers(), EmptyHttpHeaders.INSTANCE);
            source.close();
            ex.sendFull(full).addListener(f -> lent.close());
        });
        return true;
    }

    /**
     * Queues a lent chunk: as a region of the memory tier's memory file when {@link #asRegion} says
     * so (the kernel references the pages, no copy into the socket buffer), else as a buffer over
     * the tier's bytes (the kernel copies them). The loan is returned when Netty is done with it.
     */
    private void writeLent(LentBytes lent) {
        int n = lent.buffer().remaining();
        pos += n;
        java.nio.channels.FileChannel file = lent.file();
        ChannelFuture f;
        if (file != null && asRegion(lent)) {
            ex.cork(); // full segments only, as for disk regions
            regionBytes += n;
            f = ex.regionQueued(new SpanRegion(file, lent.fileOffset(), n));
            f.addListener(x -> {
                regionBytes -= n;
                lent.close();
            });
        } else {
            f = ex.chunkQueued(Unpooled.wrappedBuffer(lent.buffer()));
            f.addListener(x -> lent.close());
        }
        queued(f);
    }

    /**
     * Lends the next bytes from {@link #pos}: up to {@link #REGION_WINDOW} when they go out as one
     * region of a memory file (one {@code sendfile(2)} for a 1 MiB hit, as nginx makes), else up to
     * {@link #CHUNK}; null when the source cannot lend (a disk or fill source).
     */
    private @Nullable LentBytes lendNext() {
        long rest = last - pos + 1;
        if (memoryRegions && rest > CHUNK) {
            LentBytes big = source.lend(pos, (int) Math.min(REGION_WINDOW, rest));
            if (big == null) {
                return null;
            }
            if (asRegion(big)) {
                return big;
            }
            big.close(); // plain memory: buffers of CHUNK bytes, under Netty's water mark
        }
        return source.lend(pos, (int) Math.min(CHUNK, rest));
    }

    /**
     * Whether a lent chunk goes out as a file region: {@code serve.zero-copy} memory or all, the memory tier keeps the
     * entry in a memory file, and the chunk is at least {@link #REGION_MIN} bytes (below that the
     * copy costs less than the region's extra system calls).
     */
    private boolean asRegion(LentBytes lent) {
        return memoryRegions && lent.file() != null && lent.buffer().remaining() >= REGION_MIN;
    }

    private void write(ByteBuf buf) {
        pos += buf.readableBytes();
        queued(ex.chunkQueued(buf));
    }

    /**
     * Sends up to {@code n} bytes from {@link #pos} as file regions when the source can give them
     * checked and the channel can carry them ({@link BodySource#fileSpans}), using {@code buf}
     * (capacity &gt;= n) for the check; {@code withHead} sends the response head first. True when it
     * took the step over (and released {@code buf}): regions queued, or the check failed and
     * {@code failed} ran. False when the bytes must be read (and copied) instead, into {@code buf}.
     */
    private boolean sendSpans(ByteBuf buf, int n, boolean withHead, Runnable failed) {
        if (!diskRegions) {
            return false;
        }
        FileSpans spans;
        try {
            spans = source.fileSpans(pos, buf.nioBuffer(0, n));
        } catch (java.io.IOException | RuntimeException e) {
            fail(buf, e, failed);
            return true;
        }
        if (spans == null) {
            return false;
        }
        buf.release();
        ex.cork(); // full segments only, until the response ends or waits on a read
        if (withHead) {
            ex.sendHead(head);
        }
        long bytes = spans.bytes();
        pos += bytes;
        regionBytes += bytes;
        ChannelFuture f = ex.regionQueued(new SpanRegion(spans.channel(), spans.fileOffset(0), spans.length(0)));
        for (int i = 1; i < spans.count(); i++) {
            f = ex.regionQueued(new SpanRegion(spans.channel(), spans.fileOffset(i), spans.length(i)));
        }
        f.addListener(x -> {
            regionBytes -= bytes;
            spans.close();
        });
        queued(f);
        return true;
    }

    /**
     * After a chunk was queued: the next step at once while the channel takes more (Netty's
     * write-buffer water mark for buffers; {@link #REGION_WINDOW} for file regions, which Netty
     * does not count), else flush and go on when this chunk is written. Bytes are flushed only when
     * the sender stops (here, before an asynchronous read, at the end), so a response whose bytes
     * are at hand goes to the socket in as few writes as the transport makes of it.
     */
    private void queued(ChannelFuture f) {
        if (ex.ch.isWritable() && regionBytes < REGION_WINDOW) {
            next();
        } else {
            ex.flush();
            f.addListener(x -> next());
        }
    }

    private void next() {
        if (!ex.ch.isActive()) {
            source.close();
            ex.abort();
            return;
        }
        if (pos > last) {
            if (!source.settled().isDone()) {
                ex.flush(); // the last bytes go out while the fill settles
                ex.uncork();
            }
            whenSettled(() -> {
                source.close();
                ex.end();
            });
            return;
        }
        LentBytes lent = lendNext();
        if (lent != null) {
            writeLent(lent);
            return;
        }
        int n = (int) Math.min(CHUNK, last - pos + 1);
        Runnable failed = () -> {
            ex.uncork(); // the rest comes from the origin, at its pace
            if (resume != null) {
                resume.from(pos, last);
            } else {
                ex.abort();
            }
        };
        ByteBuf buf = ex.ch.alloc().directBuffer(n);
        if (sendSpans(buf, n, false, failed)) {
            return;
        }
        read(buf, buf.nioBuffer(0, n), pos, false, () -> write(buf), failed);
    }

    /**
     * A span of an entry file (or of a memory-tier file) shared by every region cut from it:
     * releasing the region must not close the channel ({@link DefaultFileRegion} would), the spans'
     * or the loan's owner does.
     */
    private static final class SpanRegion extends DefaultFileRegion {
        SpanRegion(java.nio.channels.FileChannel file, long position, long count) {
            super(file, position, count);
        }

        @Override
        protected void deallocate() {
            // the channel belongs to the entry's open version (FileSpans#close gives it back)
        }
    }

    /**
     * Runs {@code action} on the event loop once the source is settled: at once when it already is
     * (a committed entry, the common case of a hit) and this is the event loop, else as a task.
     */
    private void whenSettled(Runnable action) {
        CompletableFuture<Void> settled = source.settled();
        if (settled.isDone() && ex.ch.eventLoop().inEventLoop()) {
            action.run();
        } else {
            settled.whenComplete((x, err) -> ex.ch.eventLoop().execute(action));
        }
    }

    /**
     * Reads into {@code dst} (a view of {@code buf}) from object offset {@code at}, then runs
     * {@code done} on the event loop with {@code buf}'s writer index set to the bytes read. With
     * {@code full} it reads until {@code dst} is full; otherwise it stops at the first bytes.
     */
    private void read(ByteBuf buf, ByteBuffer dst, long at, boolean full, Runnable done, Runnable failed) {
        if (ex.ch.eventLoop().inEventLoop()) {
            // Bytes in the page cache are copied here, at once; only the rest goes to the ring.
            int n;
            try {
                n = source.readIfCached(at + dst.position(), dst);
            } catch (java.io.IOException | RuntimeException e) {
                fail(buf, e, failed);
                return;
            }
            if (n > 0 && (!full || !dst.hasRemaining())) {
                buf.writerIndex(dst.position());
                done.run();
                return;
            }
        }
        ex.flush(); // what is queued goes out while the read is under way
        ex.uncork();
        source.readAsync(at + dst.position(), dst).whenComplete((r, err) -> {
            Runnable next = () -> {
                if (err != null || r == null || r <= 0) {
                    fail(buf, err != null ? err : new java.io.EOFException("body shorter than its metadata"), failed);
                } else if (full && dst.hasRemaining()) {
                    read(buf, dst, at, true, done, failed);
                } else {
                    buf.writerIndex(dst.position());
                    done.run();
                }
            };
            if (ex.ch.eventLoop().inEventLoop()) {
                next.run();
            } else {
                ex.ch.eventLoop().execute(next);
            }
        });
    }

    private void fail(ByteBuf buf, Throwable e, Runnable failed) {
        buf.release();
        source.close();
        Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof CachedSlices.NotCached) {
            // not a fault: the rest of the object is not cached, and the caller fetches it
            log.debug("request {}: {} at byte {}", ex.id, cause.getMessage(), pos);
        } else {
            log.warn("request {}: cache read of {} failed at byte {}: {}", ex.id, source.key(), pos, e.toString());
        }
        failed.run();
    }
}
