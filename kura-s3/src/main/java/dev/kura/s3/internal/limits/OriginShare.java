package dev.kura.s3.internal.limits;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.s3.OriginBandwidth;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;

import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code serve.origin-bandwidth}: one byte budget for every fill's origin reads, shared between
 * buckets by weight, so that a bucket with many large fills cannot starve the others.
 *
 * <p>Design: weighted fair queueing by virtual time, after start-time fair queueing (Goyal, Vin
 * and Cheng, SIGCOMM 1996), in front of a token bucket. Each bucket is a flow with a virtual time:
 * the bytes it was given divided by its weight. A chunk read by a fill of bucket {@code b} may go
 * once {@code b}'s virtual time is within one quantum of the least virtual time among the active
 * flows; it then advances {@code b}'s virtual time and takes its bytes from the global bucket4j
 * token bucket (the rate; greedy refill, a tenth of a second of burst), waiting there if need be.
 * So while several buckets fill, each gets bytes in proportion to its weight, whatever number of
 * fills it runs. A flow counts as active while it has a chunk waiting (at the gate or for tokens)
 * or took one within the last {@value #ACTIVE_MILLIS} ms; a bucket that stops leaves its share to
 * the others after that long (work-conserving), and one that becomes active again starts at the
 * least active virtual time: idle time earns no credit.
 *
 * <p>Charged after each read of at most 64 KiB, on the fill's virtual thread (never an event loop).
 *
 * <p>Thread-safety: safe for concurrent use; the flow table is guarded by {@code lock}.
 */
public final class OriginShare {
    /**
     * How long after its last chunk a flow still counts as active. A fill reads its next chunk
     * from the origin between two charges; a flow is not idle meanwhile, and treating it so would
     * let the others run ahead of it (one stream per bucket could never get more than an equal
     * share). The cost: a flow whose origin sends less than a chunk per this long holds the others
     * to its pace times their weight ratio for as long as it lasts. 100 ms is a chunk (64 KiB) at
     * 640 KiB/s.
     */
    static final long ACTIVE_MILLIS = 100;
    /** How far (in weighted bytes) a flow may run ahead of the least served active flow. */
    static final long QUANTUM = 128 * 1024;

    private final OriginBandwidth config;
    private final Bucket tokens;
    /** The most one {@link #charge} takes from {@code tokens} at once: the bucket's capacity. */
    private final long capacity;
    private final Object lock = new Object();
    @GuardedBy("lock")
    private final Map<String, Flow> flows = new HashMap<>();

    /** One bucket's flow. Its fields are read and written under {@code OriginShare.lock} only. */
    private static final class Flow {
        final int weight;
        /** Bytes given divided by the weight. */
        double virtual;
        int waiting;
        /** Chunks past the gate waiting for tokens: the flow is active meanwhile. */
        int consuming;
        long lastNanos = Long.MIN_VALUE / 2;
        long bytes;

        Flow(int weight) {
            this.weight = weight;
        }
    }

    /** @param config the budget; must be {@linkplain OriginBandwidth#on() on} */
    public OriginShare(OriginBandwidth config) {
        dev.kura.config.DataSize limit = config.limit();
        if (limit == null) {
            throw new IllegalArgumentException("origin-bandwidth has no limit");
        }
        this.config = config;
        long rate = limit.bytes();
        this.capacity = Math.max(64 * 1024, rate / 10);
        this.tokens = Bucket.builder().addLimit(Bandwidth.builder().capacity(capacity)
                .refillGreedy(rate, Duration.ofSeconds(1)).build()).build();
    }

    /** A share for {@code config}, or null when it is off. */
    public static @Nullable OriginShare of(OriginBandwidth config) {
        return config.on() ? new OriginShare(config) : null;
    }

    /**
     * Waits for {@code bucket}'s turn and the budget, then counts {@code bytes} (at most 64 KiB)
     * read from its origin. An interrupt ends the wait early (the bytes are counted).
     *
     * @param bucket the mapping's name
     */
    public void charge(String bucket, long bytes) {
        Flow f;
        synchronized (lock) {
            f = flows.computeIfAbsent(bucket, k -> new Flow(config.weight(k)));
            long now = System.nanoTime();
            if (!active(f, now)) {
                double least = leastActive(now, f);
                if (least != Double.POSITIVE_INFINITY) {
                    f.virtual = Math.max(f.virtual, least);
                }
            }
            f.waiting++;
            try {
                while (f.virtual - leastActive(System.nanoTime(), null) > QUANTUM) {
                    lock.wait(ACTIVE_MILLIS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                f.waiting--;
            }
            f.virtual += (double) bytes / f.weight;
            f.lastNanos = System.nanoTime();
            f.bytes += bytes;
            f.consuming++;
            lock.notifyAll();
        }
        try {
            // A chunk is at most 64 KiB, never more than the capacity (bucket4j refuses that).
            tokens.asBlocking().consume(Math.min(bytes, capacity));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (lock) {
                // Active until its tokens came: a flow queued behind others' tokens must not look idle.
                f.consuming--;
                f.lastNanos = System.nanoTime();
            }
        }
    }

    /** Bytes charged to {@code bucket} so far (for tests and metrics). */
    public long bytes(String bucket) {
        synchronized (lock) {
            Flow f = flows.get(bucket);
            return f == null ? 0 : f.bytes;
        }
    }

    /** True when {@code f} has a chunk waiting or took one lately; call under {@code lock}. */
    private static boolean active(Flow f, long now) {
        return f.waiting > 0 || f.consuming > 0 || now - f.lastNanos < ACTIVE_MILLIS * 1_000_000L;
    }

    /**
     * The least virtual time of the active flows other than {@code except} (null: all active
     * flows); {@code +infinity} when there is none.
     */
    @GuardedBy("lock")
    private double leastActive(long now, @Nullable Flow except) {
        double least = Double.POSITIVE_INFINITY;
        for (Flow o : flows.values()) {
            if (o != except && active(o, now)) {
                least = Math.min(least, o.virtual);
            }
        }
        return least;
    }
}
