package dev.kura.s3.internal;

import dev.kura.config.LogRateLimiter;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A WARN line at most once per interval, with a count of the lines it held back. For events a
 * client can cause at will (refused connections, bad headers from an origin, EMFILE): without a
 * bound, a client could make kura write its log as fast as it can send (the issue measured
 * 28.6 MiB/s of accept failures).
 *
 * <p>Only the SLF4J end of kura's one rate limit for logs: which line gets through is decided by
 * kura-config's {@link LogRateLimiter} (one line per interval), as it is for the disk cache's and
 * the TFTP server's lines.
 *
 * <p>Thread-safety: safe for concurrent use (the limiter's window is locked for a few instructions).
 */
final class RateLimitedLog {
    private final Logger log;
    private final LogRateLimiter limiter;

    RateLimitedLog(Logger log, long interval, TimeUnit unit) {
        this.log = log;
        this.limiter = new LogRateLimiter(1, Duration.ofNanos(unit.toNanos(interval)));
    }

    /**
     * Logs {@code format} with {@code args} at WARN if the interval has passed since the last line,
     * else counts it. The line ends with how many were held back since the previous one.
     *
     * @return true when this call logged
     */
    boolean warn(String format, Object... args) {
        long held = limiter.admit();
        if (held < 0) {
            return false;
        }
        if (log.isWarnEnabled()) {
            log.warn(held == 0 ? format : format + " (" + held + " more like this not logged)", args);
        }
        return true;
    }
}
