package dev.kura.bench;

import org.jspecify.annotations.Nullable;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Records operation latencies in nanoseconds into an HdrHistogram and reports p50/p95/p99.
 *
 * <p>Why HdrHistogram (Gil Tene): a fixed-size log-linear histogram records a value in a few
 * nanoseconds without allocating, keeps 3 significant digits from 1 ns up to hours, and so does not
 * disturb the load it measures; averaging or sampling latencies would hide the tail that p99 is
 * about. The {@link Recorder} underneath lets any number of threads record without locks (an op
 * completes on whichever backend thread ran it) while one reader takes snapshots.
 *
 * <p>Usage, from a closed loop (see {@link ClosedLoop}, which does this for you):
 * <pre>{@code
 * LatencyRecorder lat = new LatencyRecorder();
 * long t0 = System.nanoTime();
 * file.readAsync(buf, pos).whenComplete((n, e) -> lat.record(System.nanoTime() - t0));
 * ...
 * LatencySummary s = lat.summary();   // s.p99Us()
 * }</pre>
 *
 * <p>Thread-safety: {@link #record(long)} is wait-free and may be called from any thread;
 * {@link #summary()} and {@link #reset()} are synchronized among themselves.
 */
public final class LatencyRecorder {
    /** 3 significant digits: p99 of 123.456 µs is reported as 123.5 µs or closer. */
    private static final int SIGNIFICANT_DIGITS = 3;

    private final Recorder recorder = new Recorder(SIGNIFICANT_DIGITS);
    private final Histogram total = new Histogram(SIGNIFICANT_DIGITS);
    private @Nullable Histogram interval;

    /**
     * Records one latency.
     *
     * @param nanos the operation's latency in nanoseconds; negative values (a clock that went
     *     backwards across CPUs) are recorded as 0
     */
    public void record(long nanos) {
        recorder.recordValue(Math.max(0, nanos));
    }

    /** Forgets every value recorded so far, e.g. at the end of a warm-up. */
    public synchronized void reset() {
        interval = recorder.getIntervalHistogram(interval);
        total.reset();
    }

    /** The distribution of every value recorded since construction or the last {@link #reset()}. */
    public synchronized LatencySummary summary() {
        interval = recorder.getIntervalHistogram(interval);
        total.add(interval);
        return LatencySummary.of(total);
    }
}
