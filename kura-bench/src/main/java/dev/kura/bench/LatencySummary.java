package dev.kura.bench;

import org.HdrHistogram.AbstractHistogram;

/**
 * A latency distribution in microseconds, taken from a histogram of nanosecond values.
 *
 * @param count number of values recorded
 * @param meanUs mean in µs
 * @param p50Us median in µs
 * @param p95Us 95th percentile in µs
 * @param p99Us 99th percentile in µs
 * @param p999Us 99.9th percentile in µs
 * @param maxUs largest value in µs
 *
 * <p>All fields are 0 when {@code count} is 0. Thread-safety: immutable.
 */
public record LatencySummary(long count, double meanUs, double p50Us, double p95Us, double p99Us,
                             double p999Us, double maxUs) {

    /** An empty distribution. */
    public static final LatencySummary EMPTY = new LatencySummary(0, 0, 0, 0, 0, 0, 0);

    /** Summarises a histogram whose values are nanoseconds. */
    public static LatencySummary of(AbstractHistogram nanos) {
        if (nanos.getTotalCount() == 0) {
            return EMPTY;
        }
        return new LatencySummary(nanos.getTotalCount(), nanos.getMean() / 1e3,
                nanos.getValueAtPercentile(50) / 1e3, nanos.getValueAtPercentile(95) / 1e3,
                nanos.getValueAtPercentile(99) / 1e3, nanos.getValueAtPercentile(99.9) / 1e3,
                nanos.getMaxValue() / 1e3);
    }
}
