package dev.kura.cache.internal;

import dev.kura.cache.CorruptEntryException;
import dev.kura.config.LogRateLimiter;
import dev.kura.io.IoException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the cache's faults by kind and logs them once per burst.
 *
 * <p>Kinds are errno names ({@code ENOSPC}, {@code EIO}, {@code EACCES}, ...) for I/O errors,
 * {@code corrupt} for entries failing their checks, and the exception's class name otherwise.
 * A failing disk produces a fault per request; logging each would flood the log and slow the
 * server, so per kind at most one line is written per {@link #LOG_INTERVAL_NANOS}, and that line
 * says how many were suppressed since the previous one.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class Faults {
    private static final Logger LOG = LoggerFactory.getLogger("dev.kura.cache");
    static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

    private final ConcurrentHashMap<String, LongAdder> counts = new ConcurrentHashMap<>();
    private final LogRateLimiter logLimit = new LogRateLimiter(1, Duration.ofNanos(LOG_INTERVAL_NANOS));
    private final LongAdder logged = new LongAdder();

    static String kindOf(Throwable t) {
        if (t instanceof IoException io) {
            return io.errno().name();
        }
        if (t instanceof CorruptEntryException || t instanceof EntryFormat.FormatException) {
            return "corrupt";
        }
        return t.getClass().getSimpleName();
    }

    /** Counts {@code t} and logs it unless its kind was logged within the interval. */
    void record(String what, Throwable t) {
        record(kindOf(t), what, t);
    }

    void record(String kind, String what, Throwable t) {
        counts.computeIfAbsent(kind, k -> new LongAdder()).increment();
        long n = logLimit.admit(kind);
        if (n >= 0) {
            logged.increment();
            LOG.warn("cache {}: {}: {}{}", kind, what, t.getMessage(),
                    n > 0 ? " (" + n + " more " + kind + " since the last report)" : "");
        }
    }

    /** Faults by kind since open. */
    Map<String, Long> snapshot() {
        Map<String, Long> m = new TreeMap<>();
        counts.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    /** How many log lines were written (for tests of the rate limit). */
    long logLines() {
        return logged.sum();
    }
}
