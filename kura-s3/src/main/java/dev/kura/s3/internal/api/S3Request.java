package dev.kura.s3.internal.api;

import dev.kura.s3.BucketConfig;

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
public record S3Request(S3Operation operation, BucketConfig bucket, String key, Map<String, List<String>> query) {

    /** The first value of query parameter {@code name}, or null. */
    public String param(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }
}
