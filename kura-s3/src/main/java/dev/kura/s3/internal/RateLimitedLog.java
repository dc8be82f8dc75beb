package dev.kura.s3.internal;

import org.slf4j.Logger;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A WARN line at most once per interval, with a count of the lines it held back. For events a
 * client can cause at will (refused connections, bad headers from an origin, EMFILE): without a
 * bound, a client could make kura write its log as fast as it can send (the issue measured
 * 28.6 MiB/s of accept failures).
 *
 * <p>Thread-safety: safe for concurrent use; lock-free (one CAS decides which caller logs).
 */
final class RateLimitedLog {
    private final Logger log;
    private final long intervalNanos;
    private final AtomicLong nextNanos = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong suppressed = new AtomicLong();

    RateLimitedLog(Logger log, long interval, TimeUnit unit) {
        this.log = log;
        this.intervalNanos = unit.toNanos(interval);
    }

    /**
     * Logs {@code format} with {@code args} at WARN if the interval has passed since the last line,
     * else counts it. The line ends with how many were held back since the previous one.
     *
     * @return true when this call logged
     */
    boolean warn(String format, Object... args) {
        long now = System.nanoTime();
        long next = nextNanos.get();
        if ((next != Long.MIN_VALUE && now - next < 0) || !nextNanos.compareAndSet(next, now + intervalNanos)) {
            suppressed.incrementAndGet();
            return false;
        }
        long held = suppressed.getAndSet(0);
        if (log.isWarnEnabled()) {
            log.warn(held == 0 ? format : format + " (" + held + " more like this not logged)", args);
        }
        return true;
    }
}
