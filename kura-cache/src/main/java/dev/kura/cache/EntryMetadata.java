package dev.kura.cache;

import org.jspecify.annotations.Nullable;

import java.time.Instant;
import java.util.Map;

/**
 * What the cache keeps about an entry besides its bytes.
 *
 * @param size length of the object in bytes, &gt;= 0
 * @param contentType the {@code Content-Type} to serve it with, or {@code null}
 * @param etag the origin's {@code ETag} header value, quotes included (e.g. {@code "\"abc\""}), or {@code null}
 * @param lastModified the origin's {@code Last-Modified}, or {@code null}
 * @param expiresAt when the entry stops being fresh; {@link Instant#MAX} for never. An expired
 *     entry is still returned by {@link Cache#lookup} (so that a caller can revalidate it) but
 *     counts as a miss for {@link Cache#get}
 * @param headers other response headers to replay (e.g. {@code Cache-Control},
 *     {@code x-amz-meta-*}); small: the whole metadata must fit in 64 KiB encoded
 *
 * <p>Thread-safety: immutable.
 */
public record EntryMetadata(long size, @Nullable String contentType, @Nullable String etag, @Nullable Instant lastModified,
                            Instant expiresAt, Map<String, String> headers) {
    public EntryMetadata {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0, was " + size);
        }
        if (expiresAt == null) {
            expiresAt = Instant.MAX;
        }
        headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    /** True when {@code now} is at or past {@link #expiresAt()}. */
    public boolean isExpired(Instant now) {
        return !now.isBefore(expiresAt);
    }

    /** A copy with another expiry time (after a successful revalidation). */
    public EntryMetadata withExpiresAt(Instant t) {
        return new EntryMetadata(size, contentType, etag, lastModified, t, headers);
    }
}
