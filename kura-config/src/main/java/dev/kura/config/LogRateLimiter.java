package dev.kura.config;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides which log lines about a repeated event get written: at most {@code lines} per
 * {@code interval} for each key, and the line that gets through after a quiet spell says how many
 * were dropped meanwhile. Bad input and failing disks produce an event per request; logging each
 * would flood the log and slow the server ("bad input: logged once, rate-limited").
 *
 * <p>kura's one rate limit for logs, used by the disk cache (one line per fault kind per 10 s) and
 * the TFTP server (refused requests, 20 lines a second). It decides only; the caller logs through
 * its own logger, so this class needs no logging library. It lives in kura-config, the module
 * beside all others that every one of them may use.
 *
 * <p>Thread-safety: safe for concurrent use; the count of one key is kept under that key's lock,
 * held for a few instructions.
 */
public final class LogRateLimiter {
    private final int lines;
    private final long intervalNanos;
    private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

    /**
     * @param lines lines let through per interval and key, at least 1
     * @param interval the window length, positive
     * @throws IllegalArgumentException when {@code lines < 1} or the interval is not positive
     */
    public LogRateLimiter(int lines, Duration interval) {
        if (lines < 1 || interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("need lines >= 1 and a positive interval, got " + lines + " per " + interval);
        }
        this.lines = lines;
        this.intervalNanos = interval.toNanos();
    }

    /**
     * Whether to log this occurrence of {@code key}.
     *
     * @param key what kind of event this is (e.g. an errno name); each key has its own budget
     * @return -1 to drop the line, otherwise how many lines of this key were dropped since the
     *     last one let through (0 when none), to be mentioned in this line
     */
    public long admit(String key) {
        return windows.computeIfAbsent(key, k -> new Window()).admit(System.nanoTime());
    }

    /** {@link #admit(String)} for a limiter with a single kind of event. */
    public long admit() {
        return admit("");
    }

    private final class Window {
        // all four guarded by this Window's monitor (admit is synchronized)
        @GuardedBy("this")
        private long start;
        @GuardedBy("this")
        private boolean started;
        @GuardedBy("this")
        private int used;
        @GuardedBy("this")
        private long dropped;

        synchronized long admit(long now) {
            if (!started || now - start >= intervalNanos) {
                started = true;
                start = now;
                used = 0;
            }
            if (used >= lines) {
                dropped++;
                return -1;
            }
            used++;
            long d = dropped;
            dropped = 0;
            return d;
        }
    }
}
