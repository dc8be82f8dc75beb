package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.s3.BucketConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
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
 * OACK must carry the object's size, so the simplest correct shape is: make sure a committed cache
 * entry exists, then read that entry by position. {@link #open} therefore
 * <ul>
 *   <li>returns a fresh entry as it is (memory or disk tier);</li>
 *   <li>revalidates an expired one with {@code If-None-Match} (304: its expiry moves on, kept);
 *       serves it stale while the origin is down, within {@code stale-if-error};</li>
 *   <li>otherwise fills it through {@link Cache#fill}: one caller (the leader) GETs the object and
 *       writes it to the cache, every other caller of the same key waits for that fill and reads
 *       the committed entry. So 1,000 clients booting one image make one origin request.</li>
 * </ul>
 * The first client of an uncached object waits for the whole fill before its first DATA block; a
 * TFTP client retransmitting its RRQ meanwhile is recognised by the TFTP server as a repeat.
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
     * @return a committed entry; the caller closes it
     * @throws NoSuchFileException the origin has no such object (404)
     * @throws AccessDeniedException the origin refused (403)
     * @throws IOException the origin is down and nothing usable is cached, or the object is larger
     *     than the cache takes ({@code cache.max-item-size})
     */
    public CacheEntry open(String key) throws IOException {
        String cacheKey = bucket.name() + "/" + key;
        for (int attempt = 0; attempt < 3; attempt++) {
            Optional<CacheEntry> cached = cache.lookup(cacheKey);
            if (cached.isPresent()) {
                CacheEntry e = cached.get();
                if (!e.metadata().isExpired(Instant.now())) {
                    return e;
                }
                CacheEntry kept = revalidate(key, cacheKey, e);
                if (kept != null) {
                    return kept;
                }
            }
            Fill fill = cache.fill(cacheKey);
            if (fill instanceof Fill.Leader leader) {
                return lead(key, cacheKey, leader);
            }
            Optional<CacheEntry> done = await((Fill.Follower) fill);
            if (done.isPresent()) {
                return done.get();
            }
            // The leader did not commit (it failed, or the object was missing): look again; the
            // next round finds its 404 or becomes the leader itself.
        }
        throw new IOException("could not fill " + key + " from the origin");
    }

    /** An expired entry: 304 keeps it; a down origin serves it stale; anything else refills (null). */
    private CacheEntry revalidate(String key, String cacheKey, CacheEntry e) throws IOException {
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

    private CacheEntry lead(String key, String cacheKey, Fill.Leader leader) throws IOException {
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
            try (body) {
                OriginObject o = body.object();
                Freshness.Decision d = Freshness.decide(o.cacheControl(), o.expires(), bucket.defaultTtl(), Instant.now());
                EntryMetadata md = RequestPlanner.metadata(o, d.expiresAt());
                ended = true;
                CacheWriter w = leader.begin(md);
                if (w == null) {
                    throw new IOException(key + " (" + md.size() + " bytes) is larger than the cache takes (cache.max-item-size)");
                }
                try (w) {
                    copy(body.body(), w);
                    return w.commit();
                }
            }
        } finally {
            if (!ended) {
                leader.cancel();
            }
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

    private Optional<CacheEntry> await(Fill.Follower f) {
        long waitMs = Math.max(60_000, 4 * OriginClient.total(bucket).toMillis());
        try {
            return f.result().get(waitMs, TimeUnit.MILLISECONDS);
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
}
