package dev.kura.s3.internal.prewarm;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;

import java.time.Duration;

/**
 * A prewarm job's byte rate: bucket4j's token bucket (greedy refill, a capacity of one second's
 * worth), charged in debt the way {@code serve.rate-limits} charges response bytes
 * ({@link dev.kura.s3.internal.limits.Throttle}): an object's bytes are taken when it starts, even
 * past the allowance, and the next object waits until the allowance is positive again. So an
 * object larger than the capacity needs no special case, and over a run the job takes at most the
 * rate plus one capacity.
 *
 * <p>Thread-safety: safe for concurrent use (bucket4j's local bucket is lock-free).
 */
final class BytePacer {
    private final Bucket bucket;

    /** @param bytesPerSecond the rate, bytes per second, at least 1 */
    BytePacer(long bytesPerSecond) {
        this.bucket = Bucket.builder().addLimit(Bandwidth.builder().capacity(bytesPerSecond)
                .refillGreedy(bytesPerSecond, Duration.ofSeconds(1)).build()).build();
    }

    /**
     * Waits until the allowance is positive, then charges {@code bytes}.
     *
     * @throws InterruptedException when interrupted while waiting
     */
    void take(long bytes) throws InterruptedException {
        while (true) {
            long wait = bucket.getAvailableTokens() > 0 ? 0
                    : Math.max(1, bucket.estimateAbilityToConsume(1).getNanosToWaitForRefill());
            if (wait == 0) {
                break;
            }
            java.util.concurrent.TimeUnit.NANOSECONDS.sleep(Math.min(wait, 200_000_000L));
        }
        if (bytes > 0) {
            bucket.consumeIgnoringRateLimits(bytes);
        }
    }
}
