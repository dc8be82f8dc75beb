package dev.kura.config;

import java.time.Duration;
import java.util.Locale;

/**
 * Durations as written in a config file: a number and a unit, {@code 250ms}, {@code 30s},
 * {@code 5m}, {@code 1h}, {@code 2d} (also {@code us}/{@code ns}), or ISO-8601 ({@code PT30S}).
 * A bare number is refused: {@code timeout: 5} could mean seconds or milliseconds.
 */
public final class Durations {
    private Durations() {
    }

    /** @throws IllegalArgumentException naming the accepted forms */
    public static Duration parse(String text) {
        String t = text.trim();
        if (t.regionMatches(true, 0, "PT", 0, 2) || t.regionMatches(true, 0, "P", 0, 1) && t.length() > 1 && Character.isDigit(t.charAt(1))) {
            try {
                return Duration.parse(t.toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("'" + text + "' is not an ISO-8601 duration", e);
            }
        }
        int i = 0;
        while (i < t.length() && (Character.isDigit(t.charAt(i)) || t.charAt(i) == '.')) {
            i++;
        }
        String unit = t.substring(i).trim().toLowerCase(Locale.ROOT);
        if (i == 0 || unit.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration: write a number and a unit"
                    + " (ns, us, ms, s, m, h, d), e.g. 30s or 250ms");
        }
        double v;
        try {
            v = Double.parseDouble(t.substring(0, i));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a duration", e);
        }
        double nanos = switch (unit) {
            case "ns" -> v;
            case "us", "µs" -> v * 1e3;
            case "ms" -> v * 1e6;
            case "s", "sec" -> v * 1e9;
            case "m", "min" -> v * 60e9;
            case "h" -> v * 3600e9;
            case "d" -> v * 86400e9;
            default -> throw new IllegalArgumentException("'" + text + "' has an unknown duration unit '" + unit
                    + "' (use ns, us, ms, s, m, h, d)");
        };
        return Duration.ofNanos((long) nanos);
    }

    /** The shortest exact form in the units {@link #parse} accepts, e.g. {@code 30s}, {@code 1500ms}. */
    public static String format(Duration d) {
        long n = d.toNanos();
        long[] div = {86400_000_000_000L, 3600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L};
        String[] u = {"d", "h", "m", "s", "ms", "us"};
        for (int k = 0; k < div.length; k++) {
            if (n != 0 && n % div[k] == 0) {
                return (n / div[k]) + u[k];
            }
        }
        return n + "ns";
    }
}
