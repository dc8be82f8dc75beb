package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;

/**
 * A parsed {@code Content-Range: bytes first-last/size} header of a 206 answer (RFC 9110 14.4).
 *
 * @param first first byte position
 * @param last last byte position (inclusive)
 * @param size the complete length of the representation in bytes
 */
record ContentRange(long first, long last, long size) {

    /** Parses {@code value}; null when it is null, not a satisfied byte range, or has an unknown size. */
    static @Nullable ContentRange parse(@Nullable String value) {
        if (value == null || !value.regionMatches(true, 0, "bytes ", 0, 6)) {
            return null;
        }
        String v = value.substring(6).trim();
        int dash = v.indexOf('-');
        int slash = v.indexOf('/');
        if (dash <= 0 || slash < dash) {
            return null;
        }
        try {
            long first = Long.parseLong(v.substring(0, dash));
            long last = Long.parseLong(v.substring(dash + 1, slash));
            long size = Long.parseLong(v.substring(slash + 1));
            return first <= last && last < size ? new ContentRange(first, last, size) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
