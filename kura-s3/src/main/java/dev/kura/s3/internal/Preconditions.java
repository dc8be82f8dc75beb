package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Evaluation of conditional requests, RFC 9110 section 13.2.2, in the order it prescribes:
 * If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since (GET and HEAD
 * only); If-Range is separate ({@link #ifRangeAllows}).
 *
 * <p>Entity-tags are compared as RFC 9110 section 8.8.3.2 says: strong comparison for If-Match
 * and If-Range, weak comparison for If-None-Match. Dates are compared at one-second resolution,
 * the resolution of HTTP dates. A date that does not parse makes its header ignored (13.1.3/13.1.4).
 */
final class Preconditions {

    /** What the preconditions say. */
    enum Outcome { PROCEED, NOT_MODIFIED, PRECONDITION_FAILED }

    private Preconditions() {
    }

    /**
     * @param etag the representation's ETag (quotes included), or null
     * @param lastModified its Last-Modified, or null
     */
    static Outcome evaluate(@Nullable String ifMatch, @Nullable String ifUnmodifiedSince, @Nullable String ifNoneMatch,
                            @Nullable String ifModifiedSince, @Nullable String etag, @Nullable Instant lastModified) {
        if (ifMatch != null) {
            if (!matches(ifMatch, etag, true)) {
                return Outcome.PRECONDITION_FAILED;
            }
        } else if (ifUnmodifiedSince != null) {
            Instant d = HttpDates.parse(ifUnmodifiedSince);
            if (d != null && lastModified != null && seconds(lastModified).isAfter(d)) {
                return Outcome.PRECONDITION_FAILED;
            }
        }
        if (ifNoneMatch != null) {
            if (matches(ifNoneMatch, etag, false)) {
                return Outcome.NOT_MODIFIED;
            }
        } else if (ifModifiedSince != null) {
            Instant d = HttpDates.parse(ifModifiedSince);
            if (d != null && lastModified != null && !seconds(lastModified).isAfter(d)) {
                return Outcome.NOT_MODIFIED;
            }
        }
        return Outcome.PROCEED;
    }

    /**
     * If-Range (RFC 9110 section 13.1.5): true when the Range header may be honoured, i.e. the
     * validator matches the current representation (strong entity-tag comparison, or a date equal
     * to Last-Modified). A weak entity-tag never matches.
     */
    static boolean ifRangeAllows(@Nullable String ifRange, @Nullable String etag, @Nullable Instant lastModified) {
        if (ifRange == null) {
            return true;
        }
        String v = ifRange.trim();
        if (v.startsWith("\"") || v.startsWith("W/")) {
            EntityTag t = EntityTag.parse(v);
            EntityTag cur = EntityTag.parse(etag);
            return t != null && cur != null && !t.weak && !cur.weak && t.opaque.equals(cur.opaque);
        }
        Instant d = HttpDates.parse(v);
        return d != null && lastModified != null && seconds(lastModified).equals(d);
    }

    /** True when the list in {@code header} ({@code *} or entity-tags) matches {@code etag}. */
    static boolean matches(String header, @Nullable String etag, boolean strong) {
        String h = header.trim();
        if (h.equals("*")) {
            return true;
        }
        EntityTag cur = EntityTag.parse(etag);
        if (cur == null) {
            return false;
        }
        for (EntityTag t : EntityTag.parseList(h)) {
            boolean same = t.opaque.equals(cur.opaque);
            if (strong ? same && !t.weak && !cur.weak : same) {
                return true;
            }
        }
        return false;
    }

    private static Instant seconds(Instant t) {
        return t.truncatedTo(ChronoUnit.SECONDS);
    }

    /** An entity-tag (RFC 9110 section 8.8.3): opaque-tag with its quotes, and the weak flag. */
    record EntityTag(boolean weak, String opaque) {
        static @Nullable EntityTag parse(@Nullable String s) {
            if (s == null) {
                return null;
            }
            String v = s.trim();
            boolean weak = v.startsWith("W/");
            if (weak) {
                v = v.substring(2);
            }
            if (v.length() < 2 || v.charAt(0) != '"' || v.charAt(v.length() - 1) != '"'
                    || v.substring(1, v.length() - 1).indexOf('"') >= 0) {
                // S3-compatible servers sometimes send an unquoted ETag: take it as its opaque value.
                return s.isBlank() || v.indexOf('"') >= 0 ? null : new EntityTag(weak, "\"" + v + "\"");
            }
            return new EntityTag(weak, v);
        }

        static List<EntityTag> parseList(String s) {
            List<EntityTag> out = new ArrayList<>();
            int i = 0;
            int n = s.length();
            while (i < n) {
                while (i < n && (s.charAt(i) == ',' || s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                int start = i;
                if (s.startsWith("W/", i)) {
                    i += 2;
                }
                if (i < n && s.charAt(i) == '"') {
                    int close = s.indexOf('"', i + 1);
                    if (close < 0) {
                        break;
                    }
                    i = close + 1;
                } else {
                    while (i < n && s.charAt(i) != ',') {
                        i++;
                    }
                }
                EntityTag t = parse(s.substring(start, i));
                if (t != null) {
                    out.add(t);
                }
            }
            return out;
        }
    }
}
