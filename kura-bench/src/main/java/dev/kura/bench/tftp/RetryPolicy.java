package dev.kura.bench.tftp;

import java.util.concurrent.TimeUnit;

/**
 * When the load client's {@link Download} resends its RRQ or last ACK, and when it gives up: the
 * first wait is {@code initialNanos}, each unanswered wait doubles the next one up to {@code
 * maxNanos}, and after {@code retries} retransmissions the next expiry fails the download. Any
 * progress (an OACK or a DATA) starts the policy over from {@code initialNanos}.
 *
 * <h2>Why back off</h2>
 * Real PXE clients do not hammer a slow server once a second: iPXE's retry timer starts at a
 * quarter second and doubles up to 10 s ({@code DEFAULT_MIN_TIMEOUT} / {@code DEFAULT_MAX_TIMEOUT}
 * in its {@code retry.h}), tftp-hpa's client resends every 5 s and gives up after 25 s. The first
 * load client resent every second and gave up after 6 s of silence; against tftpd-hpa at 1,000
 * concurrent transfers that turned a server that was slow to start transfers into hundreds of
 * failed ones (issue 14, docs/TFTP.md). {@link #BACKOFF} is the bench's default; {@link #FIXED}
 * keeps the old policy for comparison ({@code --client-retry fixed}).
 *
 * @param initialNanos the first wait, nanoseconds (> 0)
 * @param maxNanos     the longest wait, nanoseconds (>= initialNanos)
 * @param retries      retransmissions before giving up (>= 0)
 */
record RetryPolicy(long initialNanos, long maxNanos, int retries) {

    /** 1, 2, 4, 8, 8, 8 s: five retransmissions, gives up after 31 s without an answer. */
    static final RetryPolicy BACKOFF = new RetryPolicy(TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(8), 5);
    /** The first client's: every 1 s, gives up after 6 s without an answer. */
    static final RetryPolicy FIXED = new RetryPolicy(TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(1), 5);

    RetryPolicy {
        if (initialNanos <= 0 || maxNanos < initialNanos || retries < 0) {
            throw new IllegalArgumentException("bad retry policy: initial " + initialNanos + " ns, max "
                    + maxNanos + " ns, retries " + retries);
        }
    }

    /** The wait after {@code timeouts} unanswered waits in a row (0 for the first), nanoseconds. */
    long wait(int timeouts) {
        long w = initialNanos;
        for (int i = 0; i < timeouts && w < maxNanos; i++) {
            w <<= 1;
        }
        return Math.min(w, maxNanos);
    }

    /** Silence after which a download fails: the sum of all its waits, nanoseconds. */
    long giveUpNanos() {
        long sum = 0;
        for (int i = 0; i <= retries; i++) {
            sum += wait(i);
        }
        return sum;
    }

    /** The {@code --client-retry} choices. */
    enum Mode {
        BACKOFF, FIXED;

        RetryPolicy policy() {
            return this == BACKOFF ? RetryPolicy.BACKOFF : RetryPolicy.FIXED;
        }
    }
}
