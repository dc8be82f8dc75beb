package dev.kura.s3;

import dev.kura.config.DataSize;
import org.jspecify.annotations.Nullable;

import java.util.Map;

/**
 * The {@code serve.origin-bandwidth:} section: one budget of origin body bytes per second for all
 * fills together, shared between buckets by weight, so that no bucket's fills starve the others'
 * (issue 13 section 4). Off unless {@code limit} is set. Documented in {@code docs/CONFIG.md}.
 *
 * <p>Sharing is work-conserving weighted fair queueing over the buckets that are filling: while
 * several buckets fill at once, each gets {@code limit x weight / (sum of their weights)}; a bucket
 * alone may use the whole limit. Enforced where fill bytes are read from the origin, per 64 KiB
 * chunk ({@code dev.kura.s3.internal.limits.OriginShare}).
 *
 * @param limit origin body bytes per second for all buckets together ({@code limit}), at least
 *     1 MiB; null turns it off (the default)
 * @param weights each bucket's weight by its mapping name ({@code weights}), 1..1000; a bucket not
 *     named has weight 1
 *
 * <p>Thread-safety: immutable.
 */
public record OriginBandwidth(@Nullable DataSize limit, Map<String, Integer> weights) {

    /** @throws IllegalArgumentException naming the key of a nonsense value */
    public OriginBandwidth {
        if (limit != null && limit.bytes() < (1L << 20)) {
            throw new IllegalArgumentException("origin-bandwidth.limit must be >= 1MiB (per second), was " + limit);
        }
        weights = weights == null ? Map.of() : Map.copyOf(weights);
        for (Map.Entry<String, Integer> w : weights.entrySet()) {
            if (w.getValue() == null || w.getValue() < 1 || w.getValue() > 1000) {
                throw new IllegalArgumentException("origin-bandwidth.weights." + w.getKey() + " must be 1..1000, was "
                        + w.getValue());
            }
        }
    }

    /** Off: no budget (the default). */
    public static OriginBandwidth off() {
        return new OriginBandwidth(null, Map.of());
    }

    /** True when a budget is set. */
    public boolean on() {
        return limit != null;
    }

    /** The weight of the bucket mapping named {@code name} (1 unless set). */
    public int weight(String name) {
        return weights.getOrDefault(name, 1);
    }
}
