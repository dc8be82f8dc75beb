package dev.kura.s3.internal.api;

import org.jspecify.annotations.Nullable;

/**
 * The parameters of a ListObjects (v1) or ListObjectsV2 request (S3 API reference), as kura
 * forwards them to the origin. It is also the listing cache's key, with the bucket name.
 *
 * @param v2 true for ListObjectsV2
 * @param prefix keys starting with this, or null
 * @param delimiter roll keys up to common prefixes at this, or null
 * @param maxKeys at most this many keys and prefixes, 1..1000 (S3's cap)
 * @param marker v1's marker or v2's continuation-token (opaque, the origin's own), or null
 * @param startAfter v2's start-after, or null
 * @param fetchOwner v2's fetch-owner (v1 always lists owners)
 */
public record ListQuery(boolean v2, @Nullable String prefix, @Nullable String delimiter, int maxKeys, @Nullable String marker,
                        @Nullable String startAfter,
                        boolean fetchOwner) {
    /** S3's page size and cap. */
    public static final int MAX_KEYS = 1000;
}
