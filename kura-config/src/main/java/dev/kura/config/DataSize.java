package dev.kura.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;

/**
 * A size in bytes as written in a config file: {@code 4096}, {@code 64KiB}, {@code 512MiB},
 * {@code 10GiB}, {@code 1TiB}; SI units ({@code kB}, {@code MB}, {@code GB}, {@code TB}) are
 * powers of 1000, IEC units ({@code KiB}...) and the bare letters {@code K}, {@code M}, {@code G},
 * {@code T} are powers of 1024. Case-insensitive, spaces allowed between number and unit.
 *
 * @param bytes the size in bytes, &gt;= 0
 *
 * <p>Thread-safety: immutable.
 */
public record DataSize(long bytes) {

    public DataSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("size must be >= 0, was " + bytes);
        }
    }

    public static DataSize ofBytes(long bytes) {
        return new DataSize(bytes);
    }

    public static DataSize ofMebibytes(long mib) {
        return new DataSize(Math.multiplyExact(mib, 1L << 20));
    }

    /**
     * Parses a size.
     *
     * @throws IllegalArgumentException with the accepted forms, for anything else
     */
    @JsonCreator
    public static DataSize parse(String text) {
        String t = text.trim();
        int i = 0;
        while (i < t.length() && (Character.isDigit(t.charAt(i)) || t.charAt(i) == '.')) {
            i++;
        }
        if (i == 0) {
            throw new IllegalArgumentException("'" + text + "' is not a size (e.g. 4096, 64KiB, 512MiB, 10GiB)");
        }
        String unit = t.substring(i).trim().toLowerCase(Locale.ROOT);
        long mult = switch (unit) {
            case "", "b" -> 1L;
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "t", "tib" -> 1L << 40;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "tb" -> 1_000_000_000_000L;
            default -> throw new IllegalArgumentException("'" + text + "' has an unknown size unit '" + unit
                    + "' (use B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)");
        };
        double value;
        try {
            value = Double.parseDouble(t.substring(0, i));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a size", e);
        }
        double bytes = value * mult;
        if (bytes > Long.MAX_VALUE) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return new DataSize((long) bytes);
    }

    /** A number in YAML is a count of bytes. */
    @JsonCreator
    public static DataSize of(long bytes) {
        return new DataSize(bytes);
    }

    /** The shortest exact IEC form, e.g. {@code 512MiB}, or the count of bytes. */
    @JsonValue
    @Override
    public String toString() {
        String[] units = {"TiB", "GiB", "MiB", "KiB"};
        int[] shifts = {40, 30, 20, 10};
        for (int k = 0; k < units.length; k++) {
            long m = 1L << shifts[k];
            if (bytes >= m && bytes % m == 0) {
                return (bytes / m) + units[k];
            }
        }
        return Long.toString(bytes);
    }
}
