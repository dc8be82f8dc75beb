package dev.kura.s3.internal;

/**
 * The Range header (RFC 9110 section 14.1.2, 14.2), bytes unit only.
 *
 * <p>kura serves a single range (first-last, open-ended {@code first-}, suffix {@code -n}) with 206.
 * A request for several ranges gets the whole object with 200, which RFC 9110 section 14.2 allows
 * ("a server MAY ignore the Range header field"); multipart/byteranges is not produced. A range unit
 * other than {@code bytes} is ignored (14.2: MUST ignore). A syntactically broken {@code bytes=}
 * value and a range that starts at or after the end get 416 with {@code Content-Range: bytes *}/size.
 */
final class ByteRanges {

    /** The outcome of parsing a Range header against an object of known size. */
    sealed interface Result permits Full, Single, Unsatisfiable {
    }

    /** Serve the whole representation (no Range, another unit, or several ranges). */
    record Full() implements Result {
    }

    /** Serve bytes {@code first..last} inclusive. */
    record Single(long first, long last) implements Result {
        long length() {
            return last - first + 1;
        }
    }

    /** 416: malformed, or no byte of the object is in the range. */
    record Unsatisfiable() implements Result {
    }

    private static final Full FULL = new Full();
    private static final Unsatisfiable UNSATISFIABLE = new Unsatisfiable();

    private ByteRanges() {
    }

    static Result parse(String header, long size) {
        if (header == null) {
            return FULL;
        }
        String h = header.trim();
        int eq = h.indexOf('=');
        if (eq < 0) {
            return UNSATISFIABLE;
        }
        if (!h.substring(0, eq).trim().equalsIgnoreCase("bytes")) {
            return FULL;
        }
        String[] specs = h.substring(eq + 1).split(",", -1);
        Single single = null;
        int count = 0;
        for (String raw : specs) {
            String spec = raw.trim();
            if (spec.isEmpty()) {
                continue; // RFC 9110 5.6.1: empty list elements are allowed and ignored
            }
            count++;
            int dash = spec.indexOf('-');
            if (dash < 0 || spec.indexOf('-', dash + 1) >= 0) {
                return UNSATISFIABLE;
            }
            String a = spec.substring(0, dash).trim();
            String b = spec.substring(dash + 1).trim();
            long first;
            long last;
            if (a.isEmpty()) {
                long suffix = digits(b);
                if (suffix < 0) {
                    return UNSATISFIABLE;
                }
                if (suffix == 0 || size == 0) {
                    continue; // unsatisfiable on its own
                }
                first = Math.max(0, size - suffix);
                last = size - 1;
            } else {
                first = digits(a);
                if (first < 0) {
                    return UNSATISFIABLE;
                }
                if (b.isEmpty()) {
                    last = size - 1;
                } else {
                    last = digits(b);
                    if (last < 0 || last < first) {
                        return UNSATISFIABLE;
                    }
                    last = Math.min(last, size - 1);
                }
                if (first >= size) {
                    continue;
                }
            }
            if (single == null) {
                single = new Single(first, last);
            }
        }
        if (count == 0) {
            return UNSATISFIABLE;
        }
        if (single == null) {
            return UNSATISFIABLE;
        }
        return count == 1 ? single : FULL;
    }

    /** Parses 1*DIGIT; -1 when not digits or too long for a long. */
    private static long digits(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
