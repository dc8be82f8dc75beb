package dev.kura.s3.internal.api;

import dev.kura.s3.BucketConfig;
import org.jspecify.annotations.Nullable;

import java.util.List;
import java.util.Map;

/**
 * A request as the S3 API sees it: the operation, the bucket (null for ListBuckets), the object
 * key (null for bucket and service operations) and the decoded query parameters.
 *
 * @param operation what is asked
 * @param bucket the mapping addressed, null for {@link S3Operation#LIST_BUCKETS}
 * @param key the object key, decoded; null unless an object operation
 * @param query the query parameters, percent-decoded, in order of appearance
 */
public record S3Request(S3Operation operation, @Nullable BucketConfig bucket, @Nullable String key,
                        Map<String, List<String>> query) {

    /**
     * The bucket of an operation on a bucket or an object (every operation but ListBuckets, for
     * which the router makes no request without one).
     *
     * @throws IllegalStateException for ListBuckets
     */
    public BucketConfig targetBucket() {
        if (bucket == null) {
            throw new IllegalStateException(operation + " has no bucket");
        }
        return bucket;
    }

    /**
     * The object key of an object operation (GetObject, HeadObject; the router makes none without one).
     *
     * @throws IllegalStateException for a bucket or service operation
     */
    public String objectKey() {
        if (key == null) {
            throw new IllegalStateException(operation + " has no object key");
        }
        return key;
    }

    /** The first value of query parameter {@code name}, or null. */
    public @Nullable String param(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }
}
