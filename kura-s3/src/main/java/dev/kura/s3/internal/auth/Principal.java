package dev.kura.s3.internal.auth;

import dev.kura.s3.BucketConfig;
import org.jspecify.annotations.Nullable;

import java.util.List;

/**
 * Who sent a request: anonymous, or the holder of one of {@code serve.clients}' access keys, with
 * what it may read. It travels with the request from authentication to every access check.
 *
 * @param accessKeyId the verified access key id, or null for anonymous
 * @param read the client's {@code read} entries: {@code name}, {@code name/prefix} or {@code *}
 *
 * <p>Thread-safety: immutable.
 */
public record Principal(@Nullable String accessKeyId, List<String> read) {
    /** A request without credentials. */
    public static final Principal ANONYMOUS = new Principal(null, List.of());

    public Principal {
        read = List.copyOf(read);
    }

    public boolean isAnonymous() {
        return accessKeyId == null;
    }

    /**
     * True when this principal may read {@code key} of {@code bucket} (a public bucket is
     * readable by anyone); with {@code key} a listing prefix, true when every key under it is.
     */
    public boolean canRead(BucketConfig bucket, @Nullable String key) {
        if (bucket.access() == BucketConfig.Access.PUBLIC) {
            return true;
        }
        String k = key == null ? "" : key;
        for (String r : read) {
            if (r.equals("*") || r.equals(bucket.name())) {
                return true;
            }
            if (r.startsWith(bucket.name() + "/") && k.startsWith(r.substring(bucket.name().length() + 1))) {
                return true;
            }
        }
        return false;
    }

    /** True when this principal may read at least part of {@code bucket} (ListBuckets, HeadBucket). */
    public boolean canSee(BucketConfig bucket) {
        if (bucket.access() == BucketConfig.Access.PUBLIC) {
            return true;
        }
        for (String r : read) {
            if (r.equals("*") || r.equals(bucket.name()) || r.startsWith(bucket.name() + "/")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return accessKeyId == null ? "anonymous" : accessKeyId;
    }
}
