package dev.kura.bench.internal;

import picocli.CommandLine;

import java.time.Duration;
import java.util.Locale;

/** Parses the sizes and durations benchmark options take ({@code 256m}, {@code 1g}, {@code 500ms}, {@code 5s}). */
public final class Units {
    private Units() {
    }

    /**
     * Parses a size in bytes with an optional binary suffix: {@code k} (KiB), {@code m} (MiB),
     * {@code g} (GiB), case-insensitive, e.g. {@code 4k} = 4096.
     *
     * @throws IllegalArgumentException when the text is not such a size or is not positive
     */
    public static long parseSize(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.endsWith("ib")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("b") && t.length() > 1 && !Character.isDigit(t.charAt(t.length() - 2))) {
            t = t.substring(0, t.length() - 1);
        }
        long mult = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'k' -> mult = 1L << 10;
            case 'm' -> mult = 1L << 20;
            case 'g' -> mult = 1L << 30;
            default -> {
            }
        }
        if (mult > 1) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            long v = Math.multiplyExact(Long.parseLong(t.trim()), mult);
            if (v <= 0) {
                throw new IllegalArgumentException("size must be positive: '" + text + "'");
            }
            return v;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a size: '" + text + "' (e.g. 4k, 256m, 1g)");
        }
    }

    /**
     * Parses a duration: a number with the unit {@code ms}, {@code s} or {@code m} (minutes), e.g.
     * {@code 500ms}, {@code 5s}; a bare number is seconds.
     *
     * @throws IllegalArgumentException when the text is not such a duration or is negative
     */
    public static Duration parseDuration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            Duration d;
            if (t.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
            } else if (t.endsWith("s")) {
                d = Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 1000));
            } else if (t.endsWith("m")) {
                d = Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1).trim()) * 60);
            } else {
                d = Duration.ofMillis(Math.round(Double.parseDouble(t) * 1000));
            }
            if (d.isNegative()) {
                throw new IllegalArgumentException("duration must not be negative: '" + text + "'");
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (e.g. 500ms, 5s)");
        }
    }

    /** Formats a size as fio and humans read it: {@code 4k}, {@code 1m}, {@code 256m}, or bytes. */
    public static String formatSize(long bytes) {
        if (bytes % (1L << 30) == 0) {
            return (bytes >> 30) + "g";
        }
        if (bytes % (1L << 20) == 0) {
            return (bytes >> 20) + "m";
        }
        if (bytes % (1L << 10) == 0) {
            return (bytes >> 10) + "k";
        }
        return Long.toString(bytes);
    }

    /** picocli converter for {@link #parseSize(String)}. */
    public static final class SizeConverter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return parseSize(value);
        }
    }

    /** picocli converter for {@link #parseDuration(String)}. */
    public static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return parseDuration(value);
        }
    }
}
