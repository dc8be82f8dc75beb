package dev.kura.s3;

import dev.kura.config.DataSize;
import org.jspecify.annotations.Nullable;

import java.time.Duration;

/**
 * The {@code serve.fill:} section: how long a fill from the origin may take, and how far ahead of
 * a sequential reader of a sliced object kura fetches. Every key is documented in
 * {@code docs/CONFIG.md}.
 *
 * <p>Why a fill has an overall deadline: the idle deadline (a bucket's {@code read-timeout}) only
 * bounds the wait for the next byte, so an origin dripping one byte per second could hold a key's
 * fill, its origin connection and every follower of it for days. The deadline of a fill of
 * {@code n} bytes is {@code deadline + n / min-rate}; past it the origin stream is closed and the
 * fill aborted (followers are cut or resume from the origin, never served wrong bytes).
 *
 * <p>Why read-ahead: a sequential reader of a sliced object (a whole GET or an open-ended Range,
 * {@code bytes=a-}) of an uncached or partly cached object would otherwise wait for each slice's
 * origin round trip in turn, at one origin connection's pace (50-100 MB/s on S3). Fetching the
 * next {@code read-ahead} slices in the background keeps that many connections busy for it.
 *
 * @param deadline the base of every fill's overall deadline ({@code deadline}); default 60 s;
 *     at least 1 s
 * @param minRate the slowest average origin pace allowed, in bytes per second ({@code min-rate}):
 *     a fill of {@code n} bytes may take {@code n / min-rate} seconds beyond {@code deadline};
 *     default 1 MiB; at least 1 KiB
 * @param readAhead slices fetched ahead of a sequential reader ({@code read-ahead}), 0..64; 0 turns
 *     read-ahead off; default 4 (16 MiB at the default slice size: four origin connections per
 *     sequential reader, 200-400 MB/s from S3, and at most 16 MiB fetched for a reader that leaves)
 * @param readAheadTotal read-ahead fetches in flight across all objects at most
 *     ({@code read-ahead-total}), 1..10000; default 32 (well under a bucket's default 128 origin
 *     connections, so read-ahead never starves clients' own fetches of connections); a slice past
 *     the bound is not read ahead, it is fetched when its reader reaches it
 *
 * <p>Thread-safety: immutable.
 */
public record FillConfig(Duration deadline, DataSize minRate, Integer readAhead, Integer readAheadTotal) {

    /**
     * The canonical constructor; a null argument is a key left unset and takes its default.
     *
     * @throws IllegalArgumentException naming the key of a nonsense value
     */
    public FillConfig(@Nullable Duration deadline, @Nullable DataSize minRate, @Nullable Integer readAhead,
                      @Nullable Integer readAheadTotal) {
        if (deadline == null) {
            deadline = Duration.ofSeconds(60);
        }
        if (deadline.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("fill.deadline must be >= 1s, was " + deadline);
        }
        if (minRate == null) {
            minRate = DataSize.ofBytes(1L << 20);
        }
        if (minRate.bytes() < 1024) {
            throw new IllegalArgumentException("fill.min-rate must be >= 1KiB (per second), was " + minRate);
        }
        if (readAhead == null) {
            readAhead = 4;
        }
        if (readAhead < 0 || readAhead > 64) {
            throw new IllegalArgumentException("fill.read-ahead must be 0..64 slices, was " + readAhead);
        }
        if (readAheadTotal == null) {
            readAheadTotal = 32;
        }
        if (readAheadTotal < 1 || readAheadTotal > 10_000) {
            throw new IllegalArgumentException("fill.read-ahead-total must be 1..10000, was " + readAheadTotal);
        }
        this.deadline = deadline;
        this.minRate = minRate;
        this.readAhead = readAhead;
        this.readAheadTotal = readAheadTotal;
    }

    /** Every key at its default. */
    public static FillConfig defaults() {
        return new FillConfig(null, null, null, null);
    }

    /**
     * The overall deadline of a fill of {@code length} bytes, in nanoseconds: {@link #deadline()}
     * plus the time the bytes take at {@link #minRate()}. Saturates instead of overflowing.
     */
    public long deadlineNanos(long length) {
        // In double: nanosecond precision does not matter here, overflow would (a huge length or rate).
        double extra = (double) Math.max(0, length) / minRate.bytes() * 1e9;
        return (long) Math.min(Long.MAX_VALUE / 2, deadline.toNanos() + extra);
    }
}
