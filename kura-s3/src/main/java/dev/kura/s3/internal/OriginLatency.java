package dev.kura.s3.internal;

import java.util.Arrays;

/**
 * A running estimate of the 99th percentile of one bucket's origin time to response head, for
 * {@code hedge-after: p99}: a hedge should go out when the first request is slower than all but
 * 1 % of recent ones ("The Tail at Scale", Dean and Barroso, CACM 2013: hedging after the 95th
 * percentile cut the 99.9th percentile latency sharply for ~5 % more requests).
 *
 * <p>Shape: a histogram of log-spaced buckets, each ~10 % wider than the last, from 100 us to
 * ~100 s (so the estimate is within 10 % of the true quantile, as HdrHistogram with one
 * significant digit would be), and exponential decay: every {@value #HALF_LIFE} samples every
 * count is halved, so the estimate follows the origin when it slows down or recovers, weighting
 * the last few thousand samples. A sample outside the range counts in the first or last bucket.
 *
 * <p>Why not Micrometer's percentiles of the existing origin timer: those are per bucket and
 * outcome, client-side, computed over a fixed time window that resets to nothing when idle; this
 * one needs no clock, costs a few array operations per sample, and stays put while a bucket is idle.
 *
 * <p>Thread-safety: safe for concurrent use (synchronized: one sample per origin request, far below
 * any contention that matters next to the request itself).
 */
final class OriginLatency {
    /** Samples before an estimate exists (fewer say too little about the tail). */
    static final int MIN_SAMPLES = 20;
    /** Samples between two halvings of every count. */
    static final int HALF_LIFE = 1000;
    private static final double LOWEST_NANOS = 100_000; // 100 us
    private static final double GROWTH = 1.1;
    private static final int BUCKETS = 122; // 100 us x 1.1^121 = ~10,000 s: the top is never reached in practice

    /** Guarded by {@code this}: decayed sample counts per bucket. */
    private final double[] counts = new double[BUCKETS];
    /** Guarded by {@code this}: the sum of {@link #counts}. */
    private double total;
    /** Guarded by {@code this}: samples since the last halving. */
    private int sinceDecay;
    /** Guarded by {@code this}: samples ever recorded (to decide whether an estimate exists). */
    private long samples;

    /** Records one origin time to response head, in nanoseconds. */
    synchronized void record(long nanos) {
        counts[bucket(nanos)]++;
        total++;
        samples++;
        if (++sinceDecay >= HALF_LIFE) {
            for (int i = 0; i < BUCKETS; i++) {
                counts[i] /= 2;
            }
            total /= 2;
            sinceDecay = 0;
        }
    }

    /**
     * The estimated 99th percentile in nanoseconds (the upper edge of the bucket holding it), or
     * -1 while fewer than {@value #MIN_SAMPLES} samples were recorded.
     */
    synchronized long p99() {
        return quantile(0.99);
    }

    /** As {@link #p99()} for quantile {@code q} in (0, 1). */
    synchronized long quantile(double q) {
        if (samples < MIN_SAMPLES) {
            return -1;
        }
        double above = total * (1 - q); // the weight that may lie above the answer
        double seen = 0;
        for (int i = BUCKETS - 1; i > 0; i--) {
            seen += counts[i];
            if (seen > above) {
                return upperEdge(i);
            }
        }
        return upperEdge(0);
    }

    /** Forgets every sample (tests). */
    synchronized void clear() {
        Arrays.fill(counts, 0);
        total = 0;
        sinceDecay = 0;
        samples = 0;
    }

    static int bucket(long nanos) {
        if (nanos <= LOWEST_NANOS) {
            return 0;
        }
        // The epsilon keeps a value on an edge in the bucket below it despite rounding in log().
        int b = (int) Math.ceil(Math.log(nanos / LOWEST_NANOS) / Math.log(GROWTH) - 1e-9);
        return Math.min(BUCKETS - 1, b);
    }

    /** The largest value bucket {@code i} holds, in nanoseconds. */
    static long upperEdge(int i) {
        return (long) Math.floor(LOWEST_NANOS * Math.pow(GROWTH, i));
    }
}
