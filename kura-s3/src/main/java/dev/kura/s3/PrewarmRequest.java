package dev.kura.s3;

import org.jspecify.annotations.Nullable;

/**
 * What to prewarm ({@code kura prewarm s3://bucket/prefix}, {@code POST /admin/prewarm}): every
 * object the origin lists under a key prefix of one bucket mapping, fetched into the cache.
 *
 * @param bucket the mapping's name ({@code serve.buckets[].name}, the S3 bucket name clients use)
 * @param prefix the key prefix at the origin, as for ListObjectsV2's {@code prefix}; empty for the
 *     whole bucket
 * @param concurrency objects filled at once, 1..64
 * @param bytesPerSecond the job's origin byte rate, in bytes per second; null for no limit. Paced
 *     per object: an object starts only when the job's allowance is not in debt, and its listed
 *     size is charged when it starts, so over the run the job takes at most this rate plus one
 *     second's burst (a single object is still fetched at the origin's pace)
 * @param dryRun list and check the cache only: count what a real run would fetch, fetch nothing
 *
 * <p>Thread-safety: immutable.
 */
public record PrewarmRequest(String bucket, String prefix, int concurrency, @Nullable Long bytesPerSecond,
                             boolean dryRun) {
    /** The default of {@link #concurrency()}. */
    public static final int DEFAULT_CONCURRENCY = 4;

    /** @throws IllegalArgumentException naming the nonsense value */
    public PrewarmRequest {
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("bucket must be set");
        }
        if (prefix == null) {
            prefix = "";
        }
        if (concurrency < 1 || concurrency > 64) {
            throw new IllegalArgumentException("concurrency must be 1..64, was " + concurrency);
        }
        if (bytesPerSecond != null && bytesPerSecond < 1024) {
            throw new IllegalArgumentException("rate must be at least 1KiB (per second), was " + bytesPerSecond + " bytes");
        }
    }

    /** A request that fetches ({@code dryRun} false). */
    public PrewarmRequest(String bucket, String prefix, int concurrency, @Nullable Long bytesPerSecond) {
        this(bucket, prefix, concurrency, bytesPerSecond, false);
    }

    /**
     * Parses a byte rate: a size ({@code 4096}, {@code 64KiB}, {@code 50MiB}, {@code 1GiB}), with or
     * without a trailing {@code /s}.
     *
     * @return bytes per second
     * @throws IllegalArgumentException when it is not a size
     */
    public static long parseRate(String text) {
        String t = text.trim();
        if (t.endsWith("/s")) {
            t = t.substring(0, t.length() - 2);
        }
        return dev.kura.config.DataSize.parse(t).bytes();
    }
}
