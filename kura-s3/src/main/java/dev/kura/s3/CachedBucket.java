package dev.kura.s3;

import dev.kura.cache.Cache;
import dev.kura.s3.internal.CachedObjectReader;

import java.io.IOException;

/**
 * Whole objects of one S3 bucket, read through kura's cache: fresh entries straight from the
 * memory or disk tier, expired ones revalidated ({@code If-None-Match}) or served stale while the
 * origin is down (within {@code stale-if-error}), missing ones filled once however many callers
 * ask at the same time (kura-cache's single-flight fill), and read as the fill grows: the first
 * byte of an uncached object is readable as soon as the origin sent it. {@code kura tftp} serves
 * {@code tftp.source} through it; the cache keys are {@code <name>/<key>}, as for {@code kura serve}.
 *
 * <p>Thread-safety: safe for concurrent use. {@link #open} blocks on the origin until it has
 * answered with headers (not until the whole object has arrived): call it from a virtual or worker
 * thread, never an event loop.
 */
public final class CachedBucket implements AutoCloseable {

    private final CachedObjectReader reader;

    /**
     * @param bucket the bucket mapping (its {@code prefix} is not used)
     * @param cache the cache to read and fill; the caller keeps ownership
     */
    public CachedBucket(BucketConfig bucket, Cache cache) {
        this.reader = new CachedObjectReader(bucket, cache);
    }

    /**
     * Opens object {@code key}.
     *
     * @return the whole object (size in {@code metadata().size()}), committed or still filling; the
     *     caller closes it
     * @throws java.nio.file.NoSuchFileException the origin has no such object (S3 {@code NoSuchKey}, 404)
     * @throws java.nio.file.AccessDeniedException the origin refused (403)
     * @throws IOException the origin is unreachable or failed and nothing usable is cached, or the
     *     object is larger than {@code cache.max-item-size}
     */
    public CachedObject open(String key) throws IOException {
        return reader.open(key);
    }

    /** GET requests this bucket sent to the origin so far (fills and revalidations). */
    public long originRequests() {
        return reader.originRequests();
    }

    /** Closes the origin client (not the cache). */
    @Override
    public void close() {
        reader.close();
    }
}
