package dev.kura.cache;

import dev.kura.cache.internal.PolicySimulator;
import java.util.Map;

/**
 * The disk tier's eviction policies replayed against a skewed trace, beside Caffeine's W-TinyLFU
 * as a reference: the evidence for the policy choice, published for {@code kura bench cache}.
 * The simulation itself stays internal ({@code PolicySimulator}); this is its API.
 *
 * <p>Thread-safety: stateless; each call runs its simulation on the calling thread.
 */
public final class EvictionComparison {
    private EvictionComparison() {
    }

    /**
     * A Zipf trace: {@code length} object ids in {@code 0..objects-1}, id of popularity rank r
     * drawn with probability proportional to {@code 1/(r+1)^s}, ranks scattered over ids.
     *
     * @param objects number of distinct objects (ids), at least 1
     * @param s the Zipf exponent, e.g. 0.8
     * @param length number of requests
     * @param seed seed of the pseudo-random generator: the same seed gives the same trace
     * @return the trace, a new array of {@code length} ids
     */
    public static int[] zipfTrace(int objects, double s, int length, long seed) {
        return PolicySimulator.zipfTrace(objects, s, length, seed);
    }

    /**
     * Hit ratio (hits / requests, 0..1) of each policy holding at most {@code capacity} entries
     * over {@code trace}, in the order lru, sieve, W-TinyLFU (Caffeine, the reference).
     *
     * @param trace object ids, e.g. from {@link #zipfTrace}
     * @param capacity entries the cache holds, at least 1
     * @return policy name to hit ratio, in that order
     */
    public static Map<String, Double> hitRatios(int[] trace, int capacity) {
        return PolicySimulator.compare(trace, capacity);
    }
}
