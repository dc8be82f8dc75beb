package dev.kura.s3.internal.limits;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.kura.config.DataSize;
import dev.kura.s3.RateLimits;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;

/**
 * The rate limits of {@code serve.rate-limits}: per client and per bucket, requests/s and bytes/s,
 * on bucket4j's token buckets (greedy refill: tokens come back continuously, not once a second).
 *
 * <p>Design. A request is {@linkplain #admit admitted} when its client and its bucket each have a
 * request token and are not in byte debt. Bytes cannot be known before a response is sent, and a
 * response is never cut for a limit, so bytes are {@linkplain #sent charged} when the response ends,
 * with bucket4j's {@code consumeIgnoringRateLimits}, which may take the allowance below zero; the
 * next request then waits until the refill has paid the debt back. Over time this holds a client
 * to its bytes/s while letting one large object through whole.
 *
 * <p>A refused request gets S3's {@code 503 SlowDown} with {@code Retry-After} (seconds, rounded up),
 * the answer S3 gives when a prefix is read too fast and which every S3 SDK backs off on.
 *
 * <p>Memory: per-client state lives in a Caffeine cache bounded by {@code max-clients} and
 * expiring after {@code client-idle} without a request, so many clients (or many spoofed access key
 * ids: the key is only taken from a verified signature) cannot grow it without bound. Per-bucket
 * state is one entry per configured bucket.
 *
 * <p>Thread-safety: safe for concurrent use (bucket4j's local buckets are lock-free).
 */
public final class Throttle {
    private final RateLimits config;
    private final Cache<String, Limiter> clients;
    /**
     * The limit of each bucket, made at its first request: the router only names configured
     * buckets, so this holds at most one per bucket, including buckets a hot reload added.
     */
    private final Map<String, Limiter> buckets = new java.util.concurrent.ConcurrentHashMap<>();

    /** @param bucketNames the configured buckets' names (each gets its own limit) */
    public Throttle(RateLimits config, Collection<String> bucketNames) {
        this.config = config;
        this.clients = Caffeine.newBuilder().maximumSize(config.maxClients())
                .expireAfterAccess(config.clientIdle()).build();
        bucketNames.forEach(this::bucketLimiter);
    }

    private @Nullable Limiter bucketLimiter(String bucket) {
        RateLimits.Limit l = config.bucket();
        return l != null && l.any() ? buckets.computeIfAbsent(bucket, k -> new Limiter(l)) : null;
    }

    /** True when any limit is set; when false, {@link #admit} always admits. */
    public boolean active() {
        return config.any();
    }

    /** Per-client states held now (bounded by {@code max-clients}). */
    public long clientsTracked() {
        clients.cleanUp();
        return clients.estimatedSize();
    }

    /**
     * Admits one request or says how long to wait.
     *
     * @param client the client's identity ({@code key:<access key id>}, {@code jwt:<subject>} or
     *     {@code ip:<address>})
     * @param bucket the bucket's name, or null for requests without one (ListBuckets)
     * @return null when admitted; else which limit refused and the time until a retry may succeed
     */
    public @Nullable Refusal admit(String client, @Nullable String bucket) {
        Limiter b = bucket == null ? null : bucketLimiter(bucket);
        RateLimits.Limit cl = config.client();
        Limiter c = cl != null && cl.any() ? clients.get(client, k -> new Limiter(cl)) : null;
        long wait;
        if (c != null && (wait = c.byteDebtNanos()) > 0) {
            return new Refusal(Scope.CLIENT, Duration.ofNanos(wait));
        }
        if (b != null && (wait = b.byteDebtNanos()) > 0) {
            return new Refusal(Scope.BUCKET, Duration.ofNanos(wait));
        }
        if (c != null && (wait = c.takeRequest()) > 0) {
            return new Refusal(Scope.CLIENT, Duration.ofNanos(wait));
        }
        if (b != null && (wait = b.takeRequest()) > 0) {
            if (c != null) {
                c.giveRequestBack(); // the client's token was not used
            }
            return new Refusal(Scope.BUCKET, Duration.ofNanos(wait));
        }
        return null;
    }

    /** Charges {@code bytes} of response body sent to {@code client} from {@code bucket} (null: none). */
    public void sent(@Nullable String client, @Nullable String bucket, long bytes) {
        if (bytes <= 0) {
            return;
        }
        Limiter c = client == null ? null : clients.getIfPresent(client);
        if (c != null) {
            c.chargeBytes(bytes);
        }
        Limiter b = bucket == null ? null : buckets.get(bucket);
        if (b != null) {
            b.chargeBytes(bytes);
        }
    }

    /** Which limit refused a request. */
    public enum Scope {
        /** The client's own limit. */
        CLIENT,
        /** The bucket's limit, shared by all its clients. */
        BUCKET;

        /** The lower-case name, a metric label. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A refused request.
     *
     * @param scope whose limit refused it
     * @param retryAfter how long until a retry may be admitted
     */
    public record Refusal(Scope scope, Duration retryAfter) {
        /** {@code Retry-After} in whole seconds, rounded up, at least 1 (RFC 9110 10.2.3). */
        public long retryAfterSeconds() {
            long s = (retryAfter.toNanos() + 999_999_999L) / 1_000_000_000L;
            return Math.max(1, s);
        }
    }

    /** The token buckets of one client or one bucket. */
    private static final class Limiter {
        /** Null without a request limit. */
        private final @Nullable Bucket requests;
        /** Null without a byte limit. */
        private final @Nullable Bucket bytes;

        Limiter(RateLimits.Limit l) {
            this.requests = l.limitsRequests() ? bucket(l.burst(), l.requestsPerSecond()) : null;
            DataSize perSecond = l.bytesPerSecond();
            DataSize burst = l.byteBurst(); // set whenever bytesPerSecond is (Limit's constructor)
            this.bytes = perSecond != null && burst != null ? bucket(burst.bytes(), perSecond.bytes()) : null;
        }

        private static Bucket bucket(long capacity, long perSecond) {
            return Bucket.builder().addLimit(Bandwidth.builder().capacity(capacity)
                    .refillGreedy(perSecond, Duration.ofSeconds(1)).build()).build();
        }

        /** 0 when a request token was taken, else nanoseconds until one is there. */
        long takeRequest() {
            if (requests == null) {
                return 0;
            }
            ConsumptionProbe p = requests.tryConsumeAndReturnRemaining(1);
            return p.isConsumed() ? 0 : Math.max(1, p.getNanosToWaitForRefill());
        }

        void giveRequestBack() {
            if (requests != null) {
                requests.addTokens(1);
            }
        }

        /** 0 when the byte allowance is positive, else nanoseconds until it is. */
        long byteDebtNanos() {
            if (bytes == null || bytes.getAvailableTokens() > 0) {
                return 0;
            }
            return Math.max(1, bytes.estimateAbilityToConsume(1).getNanosToWaitForRefill());
        }

        void chargeBytes(long n) {
            if (bytes != null) {
                bytes.consumeIgnoringRateLimits(n);
            }
        }
    }
}
