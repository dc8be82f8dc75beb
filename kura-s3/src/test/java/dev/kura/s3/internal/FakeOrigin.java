package dev.kura.s3.internal;

import dev.kura.s3.internal.api.ListPage;
import dev.kura.s3.internal.api.ListQuery;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.io.InputStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * An in-memory {@link Origin} for fast tests of the proxy's decisions: objects are byte arrays,
 * and every request can be slowed, failed or cut on purpose (the role MockWebServer plays for
 * OkHttp). It counts the requests it answers, per key.
 *
 * <p>Thread-safety: safe for concurrent use; faults are set before the requests they affect.
 */
final class FakeOrigin implements Origin {

    /**
     * One stored object.
     *
     * @param partEnds for an object "uploaded in parts" ({@link #putParts}), the end (exclusive) of
     *     each part in order; empty for a single PUT
     */
    record StoredObject(byte[] bytes, String etag, Instant lastModified, String cacheControl, long[] partEnds) {
        StoredObject(byte[] bytes, String etag, Instant lastModified, String cacheControl) {
            this(bytes, etag, lastModified, cacheControl, new long[0]);
        }
    }

    private final Map<String, StoredObject> objects = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> gets = new ConcurrentHashMap<>();
    final AtomicInteger rangedGets = new AtomicInteger();
    /** Every GET as "key first-last" (or "key whole"), in arrival order, for assertion messages. */
    final java.util.List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Body bytes sent so far, all requests together. */
    final java.util.concurrent.atomic.AtomicLong bytesSent = new java.util.concurrent.atomic.AtomicLong();
    private final AtomicInteger versions = new AtomicInteger();
    /** Time before the response head, in milliseconds. */
    volatile long headDelayMillis;
    /** Body pace: bytes per second, 0 for as fast as the reader reads. */
    volatile long bytesPerSecond;
    /** When set, every GET fails this way. */
    volatile OriginFailure failure;
    /** When >= 0, body streams end with an IOException after this many bytes. */
    volatile long cutAfter = -1;
    /** GETs being answered now: from the request until its body is read to the end or closed. */
    final AtomicInteger inFlight = new AtomicInteger();
    /** The most GETs ever in flight at once. */
    final AtomicInteger maxInFlight = new AtomicInteger();
    /** Bodies closed by the proxy before their last byte (an aborted fill, a client that left). */
    final AtomicInteger closedEarly = new AtomicInteger();
    /** System.nanoTime() of the first body closed before its last byte; 0 while none. */
    volatile long firstClosedEarlyAt;

    /** Stores {@code bytes} under {@code key} with a new ETag; returns the ETag. */
    String put(String key, byte[] bytes, String cacheControl) {
        String etag = "\"v" + versions.incrementAndGet() + "-" + bytes.length + "\"";
        objects.put(key, new StoredObject(bytes, etag, Instant.now().truncatedTo(ChronoUnit.SECONDS), cacheControl));
        return etag;
    }

    /**
     * Stores {@code bytes} under {@code key} as an object uploaded in parts of {@code partSize}
     * bytes (the last one shorter), with an S3-style multipart ETag {@code "<hex>-N"}; returns it.
     */
    String putParts(String key, byte[] bytes, long partSize, String cacheControl) {
        int n = (int) Math.max(1, (bytes.length + partSize - 1) / partSize);
        long[] ends = new long[n];
        for (int i = 0; i < n; i++) {
            ends[i] = Math.min(bytes.length, (i + 1) * partSize);
        }
        String etag = "\"" + String.format("%032x", versions.incrementAndGet()) + "-" + n + "\"";
        objects.put(key, new StoredObject(bytes, etag, Instant.now().truncatedTo(ChronoUnit.SECONDS), cacheControl,
                ends));
        return etag;
    }

    /**
     * Stores {@code bytes} under {@code key} as a single PUT with an S3-style ETag (32 hex digits,
     * no {@code -N}); returns it.
     */
    String putSingle(String key, byte[] bytes, String cacheControl) {
        String etag = "\"" + String.format("%032x", 1_000_000L + versions.incrementAndGet()) + "\"";
        objects.put(key, new StoredObject(bytes, etag, Instant.now().truncatedTo(ChronoUnit.SECONDS), cacheControl));
        return etag;
    }

    /** HEADs with partNumber answered so far, all keys together. */
    final AtomicInteger partHeads = new AtomicInteger();
    /** When true, HEAD with partNumber is answered as a plain HEAD (as an origin that ignores it). */
    volatile boolean ignorePartNumber;

    /** GETs answered so far for {@code key}, whole or ranged, 304s included. */
    int gets(String key) {
        AtomicInteger n = gets.get(key);
        return n == null ? 0 : n.get();
    }

    @Override
    public OriginResponse get(OriginRequest rq) {
        gets.computeIfAbsent(rq.key(), k -> new AtomicInteger()).incrementAndGet();
        log.add(rq.key() + (rq.ranged() ? " " + rq.first() + "-" + rq.last() : " whole")
                + (rq.ifMatch() != null ? " If-Match" : "") + (rq.ifNoneMatch() != null ? " If-None-Match" : ""));
        if (rq.ranged()) {
            rangedGets.incrementAndGet();
        }
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        OriginResponse r = answer(rq);
        if (!(r instanceof OriginResponse.Body)) {
            inFlight.decrementAndGet();
        }
        return r;
    }

    private OriginResponse answer(OriginRequest rq) {
        sleep(headDelayMillis);
        OriginFailure f = failure;
        if (f != null) {
            return new OriginResponse.Failed(f);
        }
        StoredObject o = objects.get(rq.key());
        if (o == null) {
            return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.NOT_FOUND, 404, "NoSuchKey",
                    "origin answered 404 NoSuchKey"));
        }
        if (rq.ifMatch() != null && !rq.ifMatch().equals(o.etag())) {
            return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.PRECONDITION_FAILED, 412,
                    "PreconditionFailed", "origin answered 412 PreconditionFailed"));
        }
        if (rq.ifNoneMatch() != null && rq.ifNoneMatch().equals(o.etag())) {
            return new OriginResponse.NotModified(o.cacheControl(), null);
        }
        long first = 0;
        long last = o.bytes().length - 1L;
        if (rq.ranged()) {
            if (rq.first() >= o.bytes().length) {
                return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.INVALID_RANGE, 416,
                        "InvalidRange", "origin answered 416 InvalidRange"));
            }
            first = rq.first();
            last = Math.min(rq.last(), last);
        }
        long length = last - first + 1;
        return new OriginResponse.Body(object(o), first, length, new Paced(o.bytes(), (int) first, (int) length));
    }

    /** HEADs answered so far, all keys together. */
    final AtomicInteger heads = new AtomicInteger();

    @Override
    public OriginResponse head(String key, String versionId) {
        heads.incrementAndGet();
        StoredObject o = objects.get(key);
        if (o == null) {
            return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.NOT_FOUND, 404, "NoSuchKey",
                    "origin answered 404 NoSuchKey"));
        }
        return new OriginResponse.Body(object(o), 0, 0, InputStream.nullInputStream());
    }

    /**
     * HeadObject with partNumber as S3 answers it: part N of a multipart object is its range with
     * the parts count; part 1 of a single PUT is the whole object without a count; any other part
     * is 416 InvalidPartNumber.
     */
    @Override
    public OriginResponse headPart(String key, String versionId, int partNumber) {
        partHeads.incrementAndGet();
        log.add(key + " HEAD partNumber=" + partNumber);
        OriginFailure f = failure;
        if (f != null) {
            return new OriginResponse.Failed(f);
        }
        StoredObject o = objects.get(key);
        if (o == null) {
            return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.NOT_FOUND, 404, "NoSuchKey",
                    "origin answered 404 NoSuchKey"));
        }
        if (ignorePartNumber) {
            return new OriginResponse.Body(object(o), 0, 0, InputStream.nullInputStream());
        }
        long[] ends = o.partEnds();
        int count = Math.max(1, ends.length);
        if (partNumber > count) {
            return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.INVALID_RANGE, 416,
                    "InvalidPartNumber", "origin answered 416 InvalidPartNumber"));
        }
        long first = ends.length == 0 ? 0 : partNumber == 1 ? 0 : ends[partNumber - 2];
        long end = ends.length == 0 ? o.bytes().length : ends[partNumber - 1];
        return new OriginResponse.Body(object(o), first, end - first, InputStream.nullInputStream(), ends.length);
    }

    private static OriginObject object(StoredObject o) {
        return new OriginObject(o.bytes().length, "application/octet-stream", o.etag(), o.lastModified(),
                o.cacheControl(), null, null, null, null, Map.of());
    }

    /** ListObjects (v1 or v2) over the stored keys: prefix, start-after/marker and max-keys; no delimiter. */
    @Override
    public ListPage list(ListQuery q) {
        String after = q.marker() != null ? q.marker() : q.startAfter();
        List<String> keys = new ArrayList<>(new TreeMap<>(objects).keySet());
        List<ListPage.ObjectSummary> out = new ArrayList<>();
        boolean truncated = false;
        for (String k : keys) {
            if ((q.prefix() != null && !k.startsWith(q.prefix())) || (after != null && k.compareTo(after) <= 0)) {
                continue;
            }
            if (out.size() == q.maxKeys()) {
                truncated = true;
                break;
            }
            StoredObject o = objects.get(k);
            out.add(new ListPage.ObjectSummary(k, o.lastModified(), o.etag(), o.bytes().length, "STANDARD", null, null));
        }
        return new ListPage(out, List.of(), truncated, truncated ? out.getLast().key() : null);
    }

    @Override
    public boolean reachable() {
        return failure == null;
    }

    @Override
    public void close() {
    }

    private static void sleep(long millis) {
        if (millis > 0) {
            LockSupport.parkNanos(millis * 1_000_000);
        }
    }

    /**
     * A body that obeys {@link #bytesPerSecond} and {@link #cutAfter}, read in at most 16 KiB steps.
     * Closing it early makes a blocked or later read fail, as closing a real HTTP body aborts its
     * connection.
     */
    private final class Paced extends InputStream {
        private final byte[] src;
        private int pos;
        private final int end;
        private long sent;
        private volatile boolean closed;
        private boolean counted;

        @Override
        public void close() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
                if (pos < end) {
                    if (closedEarly.getAndIncrement() == 0) {
                        firstClosedEarlyAt = System.nanoTime();
                    }
                }
                done();
            }
        }

        /** Counts this GET out of {@link #inFlight}, once. */
        private synchronized void done() {
            if (!counted) {
                counted = true;
                inFlight.decrementAndGet();
            }
        }

        Paced(byte[] src, int first, int length) {
            this.src = src;
            this.pos = first;
            this.end = first + length;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException("stream closed");
            }
            if (pos >= end) {
                done();
                return -1;
            }
            long cut = cutAfter;
            if (cut >= 0 && sent >= cut) {
                throw new IOException("connection reset (FakeOrigin cut the body after " + cut + " bytes)");
            }
            int n = Math.min(Math.min(len, end - pos), 16 * 1024);
            if (cut >= 0) {
                n = (int) Math.min(n, cut - sent);
            }
            long rate = bytesPerSecond;
            if (rate > 0) {
                sleep(Math.max(1, n * 1000L / rate));
            }
            if (closed) {
                throw new IOException("stream closed while reading");
            }
            System.arraycopy(src, pos, b, off, n);
            pos += n;
            sent += n;
            bytesSent.addAndGet(n);
            if (pos >= end) {
                done(); // the last byte is out: this GET no longer counts as in flight
            }
            return n;
        }
    }
}
