package dev.kura.tftp.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Caps log lines about client misbehaviour (traversal attempts, refused writes) at
 * {@code perSecond} a second, so a client repeating a bad request cannot flood the log; the
 * number suppressed is reported with the next line that gets through.
 *
 * <p>Thread-safety: safe for concurrent use (a line more or less at a second's edge is fine).
 */
final class LogLimiter {

    private final int perSecond;
    private final AtomicLong windowStart = new AtomicLong();
    private final AtomicInteger inWindow = new AtomicInteger();
    private final AtomicInteger suppressed = new AtomicInteger();

    LogLimiter(int perSecond) {
        this.perSecond = perSecond;
    }

    /** @return -1 to drop this line, else the number of lines dropped since the last one logged */
    int admit() {
        long now = System.nanoTime();
        long start = windowStart.get();
        if (now - start > 1_000_000_000L && windowStart.compareAndSet(start, now)) {
            inWindow.set(0);
        }
        if (inWindow.incrementAndGet() > perSecond) {
            suppressed.incrementAndGet();
            return -1;
        }
        return suppressed.getAndSet(0);
    }
}
