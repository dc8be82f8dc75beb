package dev.kura.s3.internal.api;

import org.jspecify.annotations.Nullable;

import java.time.Instant;
import java.util.List;

/**
 * One page of a listing as the origin answered it, in kura's own types (no AWS SDK type leaves
 * the origin client).
 *
 * @param objects the keys of the page, in UTF-8 binary order
 * @param commonPrefixes the rolled-up prefixes (with a delimiter)
 * @param truncated true when more follow
 * @param next v2's next continuation-token or v1's next marker (may be null for v1 without a
 *     delimiter: the client then continues after the last key)
 */
public record ListPage(List<ObjectSummary> objects, List<String> commonPrefixes, boolean truncated, @Nullable String next) {

    public ListPage {
        objects = List.copyOf(objects);
        commonPrefixes = List.copyOf(commonPrefixes);
    }

    /**
     * One key of a listing.
     *
     * @param key the object key
     * @param lastModified when it was written
     * @param etag its ETag, quoted
     * @param size its size in bytes
     * @param storageClass e.g. {@code STANDARD}, or null
     * @param ownerId owner canonical id, or null when not asked for
     * @param ownerName owner display name, or null
     */
    public record ObjectSummary(String key, @Nullable Instant lastModified, @Nullable String etag, long size,
                                @Nullable String storageClass, @Nullable String ownerId, @Nullable String ownerName) {
    }
}
