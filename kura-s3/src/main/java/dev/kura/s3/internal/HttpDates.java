package dev.kura.s3.internal;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate is produced; IMF-fixdate, the obsolete RFC 850
 * form and asctime are accepted, as a recipient must.
 */
final class HttpDates {
    private static final DateTimeFormatter IMF = DateTimeFormatter
            .ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);
    // Two-digit years: RFC 9110 5.6.7 says a year more than 50 years ahead means the past century.
    private static final DateTimeFormatter RFC850 = new java.time.format.DateTimeFormatterBuilder()
            .appendPattern("EEEE, dd-MMM-")
            .appendValueReduced(java.time.temporal.ChronoField.YEAR, 2, 2, java.time.LocalDate.now(ZoneOffset.UTC).minusYears(49))
            .appendPattern(" HH:mm:ss 'GMT'")
            .toFormatter(Locale.US).withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter ASCTIME = DateTimeFormatter
            .ofPattern("EEE MMM ppd HH:mm:ss yyyy", Locale.US).withZone(ZoneOffset.UTC);

    private HttpDates() {
    }

    /** IMF-fixdate of {@code t}, e.g. {@code Sun, 06 Nov 1994 08:49:37 GMT}. */
    static String format(Instant t) {
        // Netty's formatter (thread-local, no DateTimeFormatter machinery) is on the hit path.
        return io.netty.handler.codec.DateFormatter.format(new java.util.Date(t.toEpochMilli()));
    }

    /** Parses an HTTP date; null when it is not one (the header is then ignored, RFC 9110 13.1.3). */
    static Instant parse(String s) {
        if (s == null) {
            return null;
        }
        String v = s.trim();
        for (DateTimeFormatter f : new DateTimeFormatter[] {IMF, RFC850, ASCTIME}) {
            try {
                return Instant.from(f.parse(v));
            } catch (DateTimeParseException e) {
                // try the next form
            }
        }
        return null;
    }
}
