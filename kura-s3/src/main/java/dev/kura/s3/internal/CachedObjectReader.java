package dev.kura.s3.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.cache.PendingEntry;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.CachedObject;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whole objects of one bucket, opened for positioned reads through kura's cache: what
 * {@code kura tftp} serves when {@code tftp.source} names a bucket.
 *
 * <h2>Design</h2>
 * A TFTP client reads an object from its first byte to its last at the pace of its ACKs, and the
 * OACK must carry the object's size, which the origin's headers give. {@link #open} therefore
 * <ul>
 *   <li>returns a fresh entry as it is (memory or disk tier);</li>
 *   <li>revalidates an expired one with {@code If-None-Match} (304: its expiry moves on, kept);
 *       serves it stale while the origin is down, within {@code stale-if-error};</li>
 *   <li>otherwise fills it through {@link Cache#fill}: one caller (the leader) GETs the object and
 *       hands the body to a virtual thread that writes it to the cache at the origin's pace;
 *       the leader and every other caller of the same key read the fill as it grows
 *       ({@link PendingEntry}). So 1,000 clients booting one image make one origin request, and
 *       the first of them gets its first DATA block when the origin's first bytes arrive, not
 *       after the whole image.</li>
 * </ul>
 * A client that leaves does not cancel the fill others read (the writer owns it); a fill that fails
 * ends its readers' reads with {@code FillFailedException}, never with wrong bytes. This is the
 * blocking, whole-object face of what {@code FillCoordinator} does for {@code kura serve} (which
 * adds slices, ranges and deadlines an HTTP client needs and a TFTP client does not).
 *
 * <p>Thread-safety: safe for concurrent use; {@link #open} blocks (call it on a virtual thread).
 */
public final class CachedObjectReader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CachedObjectReader.class);
    private static final int CHUNK = 64 * 1024;

    private final BucketConfig bucket;
    private final Cache cache;
    private final Origin origin;
    private final AtomicLong originRequests = new AtomicLong();

    public CachedObjectReader(BucketConfig bucket, Cache cache) {
        this.bucket = bucket;
        this.cache = cache;
        this.origin = ResilientOrigin.of(bucket, OriginClient::new, OriginEvents.NONE);
    }

    /** GET requests sent to the origin so far (fills and revalidations). */
    public long originRequests() {
        return originRequests.get();
    }

    /**
     * Opens {@code key} for reading, from the cache, filling or revalidating it first as needed.
     *
     * @return the object, committed or still filling; the caller closes it
     * @throws NoSuchFileException the origin has no such object (404)
     * @throws AccessDeniedException the origin refused (403)
     * @throws IOException the origin is down and nothing usable is cached, or the object is larger
     *     than the cache takes ({@code cache.max-item-size})
     */
    public CachedObject open(String key) throws IOException {
        String cacheKey = bucket.name() + "/" + key;
        for (int attempt = 0; attempt < 3; attempt++) {
            Optional<CacheEntry> cached = cache.lookup(cacheKey);
            if (cached.isPresent()) {
                CacheEntry e = cached.get();
                if (!e.metadata().isExpired(Instant.now())) {
                    return new Committed(e);
                }
                CacheEntry kept = revalidate(key, cacheKey, e);
                if (kept != null) {
                    return new Committed(kept);
                }
            }
            Fill fill = cache.fill(cacheKey);
            if (fill instanceof Fill.Leader leader) {
                return lead(key, cacheKey, leader);
            }
            Optional<PendingEntry> growing = await((Fill.Follower) fill);
            if (growing.isPresent()) {
                return new Growing(growing.get());
            }
            // The leader did not begin (it failed, or the object was missing): look again; the
            // next round finds its 404 or becomes the leader itself.
        }
        throw new IOException("could not fill " + key + " from the origin");
    }

    /** An expired entry: 304 keeps it; a down origin serves it stale; anything else refills (null). */
    private @Nullable CacheEntry revalidate(String key, String cacheKey, CacheEntry e) throws IOException {
        EntryMetadata md = e.metadata();
        originRequests.incrementAndGet();
        OriginResponse r = origin.get(OriginRequest.whole(key).ifNoneMatch(md.etag()));
        switch (r) {
            case OriginResponse.Body body -> {
                // Changed at the origin: drop this copy and refill through the single-flight path.
                body.close();
                e.close();
                return null;
            }
            case OriginResponse.NotModified nm -> {
                String cc = nm.cacheControl() != null ? nm.cacheControl() : md.headers().get("Cache-Control");
                Freshness.Decision d = Freshness.decide(cc, nm.expires(), bucket.defaultTtl(), Instant.now());
                cache.updateMetadata(cacheKey, md.etag(), md.withExpiresAt(d.expiresAt()));
                return e;
            }
            case OriginResponse.Failed f -> {
                OriginFailure of = f.failure();
                if (of.originDown() && withinStaleIfError(md)) {
                    log.warn("origin of {} failed ({}), serving stale {}", bucket.name(), of.message(), cacheKey);
                    return e;
                }
                e.close();
                if (of.kind() == OriginFailure.Kind.NOT_FOUND) {
                    cache.delete(cacheKey);
                }
                throw failure(key, of);
            }
        }
    }

    private CachedObject lead(String key, String cacheKey, Fill.Leader leader) throws IOException {
        boolean ended = false;
        originRequests.incrementAndGet();
        try {
            OriginResponse r = origin.get(OriginRequest.whole(key));
            if (r instanceof OriginResponse.Failed f) {
                if (f.failure().kind() == OriginFailure.Kind.NOT_FOUND) {
                    cache.delete(cacheKey);
                }
                throw failure(key, f.failure());
            }
            if (!(r instanceof OriginResponse.Body body)) {
                throw new IOException("origin answered 304 to an unconditional GET of " + key);
            }
            boolean handedOff = false;
            try {
                OriginObject o = body.object();
                Freshness.Decision d = Freshness.decide(o.cacheControl(), o.expires(), bucket.defaultTtl(), Instant.now());
                EntryMetadata md = RequestPlanner.metadata(o, d.expiresAt());
                ended = true;
                CacheWriter w = leader.begin(md);
                if (w == null) {
                    throw new IOException(key + " (" + md.size() + " bytes) is larger than the cache takes (cache.max-item-size)");
                }
                PendingEntry reader = w.reader();
                // The fill runs on at the origin's pace on a thread of its own, which owns the
                // origin stream and the writer; the caller reads what it has written.
                Thread.ofVirtual().name("kura-fill-" + cacheKey).start(() -> write(cacheKey, body, w));
                handedOff = true;
                return new Growing(reader);
            } finally {
                if (!handedOff) {
                    body.close();
                }
            }
        } finally {
            if (!ended) {
                leader.cancel();
            }
        }
    }

    /** Copies the origin's body into the fill and commits it; a failure aborts it (its readers see that). */
    private static void write(String cacheKey, OriginResponse.Body body, CacheWriter w) {
        try (body; w) {
            copy(body.body(), w);
            w.commit().close();
        } catch (IOException | RuntimeException e) {
            log.warn("fill of {} failed: {}", cacheKey, e.toString());
        }
    }

    private static void copy(InputStream in, CacheWriter w) throws IOException {
        byte[] buf = new byte[CHUNK];
        int n;
        while ((n = in.read(buf)) >= 0) {
            if (n > 0) {
                w.write(ByteBuffer.wrap(buf, 0, n));
            }
        }
    }

    /** The follower's reader of the fill, once the leader has begun it; empty when it never did. */
    private Optional<PendingEntry> await(Fill.Follower f) {
        long waitMs = Math.max(60_000, 4 * OriginClient.total(bucket).toMillis());
        try {
            return Optional.of(f.pending().get(waitMs, TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } catch (TimeoutException | ExecutionException e) {
            return Optional.empty();
        }
    }

    private boolean withinStaleIfError(EntryMetadata md) {
        if (bucket.staleIfError().isZero()) {
            return false;
        }
        Instant limit = md.expiresAt().equals(Instant.MAX) ? Instant.MAX : md.expiresAt().plus(bucket.staleIfError());
        return Instant.now().isBefore(limit);
    }

    private static IOException failure(String key, OriginFailure f) {
        return switch (f.kind()) {
            case NOT_FOUND -> new NoSuchFileException(key);
            case ACCESS_DENIED -> new AccessDeniedException(key, null, f.message());
            default -> new IOException("origin: " + f.message());
        };
    }

    @Override
    public void close() {
        origin.close();
    }

    /** A committed cache entry. */
    private record Committed(CacheEntry entry) implements CachedObject {
        @Override
        public EntryMetadata metadata() {
            return entry.metadata();
        }

        @Override
        public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
            return entry.readAsync(position, dst);
        }

        @Override
        public void close() {
            entry.close();
        }
    }

    /**
     * A fill being written (or just committed), read as it grows. A {@link PendingEntry} takes one
     * read at a time, and a TFTP transfer may ask for several blocks at once (a window, a
     * retransmission): reads are queued and run one after the other, in the order asked.
     */
    private static final class Growing implements CachedObject {
        private final PendingEntry entry;
        @GuardedBy("this")
        private CompletableFuture<?> last = CompletableFuture.completedFuture(null);

        Growing(PendingEntry entry) {
            this.entry = entry;
        }

        @Override
        public EntryMetadata metadata() {
            return entry.metadata();
        }

        @Override
        public synchronized CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
            CompletableFuture<Integer> read = last.handle((ignored, failure) -> null)
                    .thenCompose(ignored -> entry.readAsync(position, dst));
            last = read;
            return read;
        }

        @Override
        public void close() {
            entry.close();
        }
    }

}
