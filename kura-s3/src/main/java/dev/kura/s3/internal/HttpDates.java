package dev.kura.s3.internal;

import io.netty.handler.codec.DateFormatter;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTTP dates (RFC 9110 section 5.6.7) through Netty's {@link DateFormatter}: IMF-fixdate is
 * produced; IMF-fixdate, the obsolete RFC 850 form and asctime are accepted, as a recipient must.
 *
 * <p>Netty's parser (thread-local, no exceptions for bad input) reads all three forms, but gives a
 * two-digit year the cookie rule of RFC 6265 (70..99 is 19xx, 00..69 is 20xx). RFC 9110 asks
 * otherwise: a two-digit year that would put the date more than 50 years in the future means the
 * most recent past year with those digits. So for the RFC 850 form the century is chosen here.
 *
 * <p>Thread-safety: stateless; safe from any thread.
 */
final class HttpDates {
    /** RFC 850: {@code Sunday, 06-Nov-94 08:49:37 GMT}; group 1 is the two-digit year. */
    private static final Pattern RFC850 =
            Pattern.compile("[A-Za-z]+, \\d{2}-[A-Za-z]{3}-(\\d{2}) \\d{2}:\\d{2}:\\d{2} GMT");

    private HttpDates() {
    }

    /** IMF-fixdate of {@code t}, e.g. {@code Sun, 06 Nov 1994 08:49:37 GMT}. */
    static String format(Instant t) {
        return DateFormatter.format(new Date(t.toEpochMilli()));
    }

    /** Parses an HTTP date; null when it is not one (the header is then ignored, RFC 9110 13.1.3). */
    static @Nullable Instant parse(@Nullable String s) {
        return parse(s, LocalDateTime.now(ZoneOffset.UTC).getYear());
    }

    /**
     * {@link #parse(String)} as if the current year were {@code currentYear} (for the two-digit
     * year rule; tests pick the year).
     */
    static @Nullable Instant parse(@Nullable String s, int currentYear) {
        if (s == null) {
            return null;
        }
        String v = s.trim();
        Date d = DateFormatter.parseHttpDate(v);
        if (d == null) {
            return null;
        }
        Instant t = d.toInstant();
        Matcher m = RFC850.matcher(v);
        if (m.matches()) {
            int year = fourDigitYear(Integer.parseInt(m.group(1)), currentYear);
            t = LocalDateTime.ofInstant(t, ZoneOffset.UTC).withYear(year).toInstant(ZoneOffset.UTC);
        }
        return t;
    }

    /**
     * RFC 9110 5.6.7: the year ending in {@code yy} that is at most 50 years after
     * {@code currentYear}, i.e. the one in {@code (currentYear - 50, currentYear + 50]}.
     */
    static int fourDigitYear(int yy, int currentYear) {
        int year = currentYear - Math.floorMod(currentYear, 100) + yy;
        if (year > currentYear + 50) {
            year -= 100;
        } else if (year <= currentYear - 50) {
            year += 100;
        }
        return year;
    }
}
