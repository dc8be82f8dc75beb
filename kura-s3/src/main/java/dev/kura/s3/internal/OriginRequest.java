package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;

/**
 * One GET to the origin.
 *
 * @param key the object key in the origin bucket
 * @param versionId the S3 version id to read, or null for the current version
 * @param ifNoneMatch an entity tag for a revalidation (RFC 9110 13.1.2), or null
 * @param ifMatch an entity tag the object must still have (RFC 9110 13.1.1), or null; a ranged
 *     slice fetch sends the ETag of the other slices so that two versions are never mixed
 * @param first first byte of a range, or -1 for the whole object
 * @param last last byte of the range (inclusive, may lie past the end), or -1 for the whole object
 */
record OriginRequest(String key, @Nullable String versionId, @Nullable String ifNoneMatch, @Nullable String ifMatch, long first,
                     long last) {

    /** The whole current object, unconditionally. */
    static OriginRequest whole(String key) {
        return new OriginRequest(key, null, null, null, -1, -1);
    }

    /** True for a ranged GET. */
    boolean ranged() {
        return first >= 0;
    }

    /** The same request, conditional on the object still having {@code etag}. */
    OriginRequest ifMatch(String etag) {
        return new OriginRequest(key, versionId, ifNoneMatch, etag, first, last);
    }

    /** The same request, for bytes {@code first..last}. */
    OriginRequest range(long first, long last) {
        return new OriginRequest(key, versionId, ifNoneMatch, ifMatch, first, last);
    }

    /** The same request as a revalidation of a cached entry with {@code etag}. */
    OriginRequest ifNoneMatch(@Nullable String etag) {
        return new OriginRequest(key, versionId, etag, ifMatch, first, last);
    }
}
