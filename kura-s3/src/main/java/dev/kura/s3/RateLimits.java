package dev.kura.s3;

import dev.kura.config.DataSize;
import org.jspecify.annotations.Nullable;

import java.time.Duration;

/**
 * The {@code serve.rate-limits:} section: how many requests and body bytes per second one client,
 * and one bucket, may take. A request over a limit is answered S3's {@code 503 SlowDown} with
 * {@code Retry-After} (S3 API reference, "Error responses": SlowDown, "Please reduce your request
 * rate"), which every S3 SDK backs off on. Every key is documented in {@code docs/CONFIG.md}.
 *
 * @param client the limit of each client ({@code client}): the access key of a signed request, the
 *     subject of a JWT, else the client's IP address; null for none
 * @param bucket the limit of each bucket, all clients together ({@code bucket}); null for none
 * @param maxClients clients whose state is kept at most ({@code max-clients}); the least recently
 *     seen one is forgotten beyond it (it starts again with a full allowance); default 100,000
 * @param clientIdle a client's state is forgotten after this long without a request
 *     ({@code client-idle}); default 10 min
 *
 * <p>Thread-safety: immutable.
 */
public record RateLimits(@Nullable Limit client, @Nullable Limit bucket, Integer maxClients, Duration clientIdle) {

    /**
     * The canonical constructor; a null {@code maxClients} or {@code clientIdle} is a key left unset
     * and takes its default.
     *
     * @throws IllegalArgumentException naming the key of a nonsense value
     */
    public RateLimits(@Nullable Limit client, @Nullable Limit bucket, @Nullable Integer maxClients,
                      @Nullable Duration clientIdle) {
        if (maxClients == null) {
            maxClients = 100_000;
        }
        if (maxClients < 1 || maxClients > 10_000_000) {
            throw new IllegalArgumentException("rate-limits.max-clients must be 1..10000000, was " + maxClients);
        }
        if (clientIdle == null) {
            clientIdle = Duration.ofMinutes(10);
        }
        if (clientIdle.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("rate-limits.client-idle must be >= 1s, was " + clientIdle);
        }
        this.client = client;
        this.bucket = bucket;
        this.maxClients = maxClients;
        this.clientIdle = clientIdle;
    }

    /** No limits at all (the default). */
    public static RateLimits none() {
        return new RateLimits(null, null, null, null);
    }

    /** True when any limit is set. */
    public boolean any() {
        return client != null && client.any() || bucket != null && bucket.any();
    }

    /**
     * One limit: token buckets refilled continuously (bucket4j's greedy refill).
     *
     * @param requestsPerSecond requests per second ({@code requests-per-second}); 0 or unset for no
     *     request limit
     * @param burst requests that may come at once after a quiet time ({@code burst}); default one
     *     second's worth
     * @param bytesPerSecond response body bytes per second ({@code bytes-per-second}); unset for no
     *     byte limit. A response is never cut: its bytes are counted when it ends, and the next
     *     request waits (SlowDown) until the allowance is positive again
     * @param byteBurst bytes that may go at once after a quiet time ({@code byte-burst}); default one
     *     second's worth
     */
    public record Limit(Integer requestsPerSecond, Integer burst, @Nullable DataSize bytesPerSecond,
                        @Nullable DataSize byteBurst) {

        /**
         * The canonical constructor; a null {@code requestsPerSecond} or {@code burst} is a key left
         * unset and takes its default.
         *
         * @throws IllegalArgumentException naming the key of a nonsense value
         */
        public Limit(@Nullable Integer requestsPerSecond, @Nullable Integer burst, @Nullable DataSize bytesPerSecond,
                     @Nullable DataSize byteBurst) {
            if (requestsPerSecond == null) {
                requestsPerSecond = 0;
            }
            if (requestsPerSecond < 0 || requestsPerSecond > 10_000_000) {
                throw new IllegalArgumentException("requests-per-second must be 0..10000000, was " + requestsPerSecond);
            }
            if (burst == null || burst == 0) {
                burst = Math.max(1, requestsPerSecond);
            }
            if (burst < 1) {
                throw new IllegalArgumentException("burst must be >= 1, was " + burst);
            }
            if (bytesPerSecond != null && bytesPerSecond.bytes() <= 0) {
                bytesPerSecond = null;
            }
            if (byteBurst == null && bytesPerSecond != null) {
                byteBurst = bytesPerSecond;
            }
            if (byteBurst != null && byteBurst.bytes() < 1) {
                throw new IllegalArgumentException("byte-burst must be >= 1B, was " + byteBurst);
            }
            this.requestsPerSecond = requestsPerSecond;
            this.burst = burst;
            this.bytesPerSecond = bytesPerSecond;
            this.byteBurst = byteBurst;
        }

        /** True when a request limit is set. */
        public boolean limitsRequests() {
            return requestsPerSecond > 0;
        }

        /** True when a byte limit is set. */
        public boolean limitsBytes() {
            return bytesPerSecond != null;
        }

        /** True when a request or a byte limit is set. */
        public boolean any() {
            return limitsRequests() || limitsBytes();
        }
    }
}
