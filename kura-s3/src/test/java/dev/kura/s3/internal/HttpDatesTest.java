package dev.kura.s3.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** RFC 9110 section 5.6.7 through Netty's DateFormatter, with RFC 9110's two-digit-year rule. */
class HttpDatesTest {
    private static final Instant NOV_1994 = Instant.parse("1994-11-06T08:49:37Z");

    @Test
    void theThreeFormsOfRfc9110AreRead() {
        assertThat(HttpDates.parse("Sun, 06 Nov 1994 08:49:37 GMT")).isEqualTo(NOV_1994);
        assertThat(HttpDates.parse("Sunday, 06-Nov-94 08:49:37 GMT", 2026)).isEqualTo(NOV_1994);
        assertThat(HttpDates.parse("Sun Nov  6 08:49:37 1994")).isEqualTo(NOV_1994);
        assertThat(HttpDates.parse("  Sun, 06 Nov 1994 08:49:37 GMT ")).isEqualTo(NOV_1994);
    }

    @Test
    void imfFixdateIsWrittenAndReadBack() {
        assertThat(HttpDates.format(NOV_1994)).isEqualTo("Sun, 06 Nov 1994 08:49:37 GMT");
        Instant t = Instant.parse("2026-02-28T23:59:59Z");
        assertThat(HttpDates.format(t)).isEqualTo("Sat, 28 Feb 2026 23:59:59 GMT");
        assertThat(HttpDates.parse(HttpDates.format(t))).isEqualTo(t);
    }

    /**
     * "Recipients of a timestamp value in rfc850-date format, which uses a two-digit year, MUST
     * interpret a timestamp that appears to be more than 50 years in the future as representing the
     * most recent year in the past that had the same last two digits." Netty alone would read 69 as
     * 2069 and 70 as 1970 whatever the year; here the century follows the current year.
     */
    @Test
    void aTwoDigitYearIsNeverMoreThanFiftyYearsAhead() {
        assertThat(HttpDates.parse("Thursday, 01-Jan-76 00:00:00 GMT", 2026)).isEqualTo(Instant.parse("2076-01-01T00:00:00Z"));
        assertThat(HttpDates.parse("Friday, 01-Jan-77 00:00:00 GMT", 2026)).isEqualTo(Instant.parse("1977-01-01T00:00:00Z"));
        assertThat(HttpDates.parse("Monday, 01-Jan-69 00:00:00 GMT", 2026)).isEqualTo(Instant.parse("2069-01-01T00:00:00Z"));
        assertThat(HttpDates.parse("Wednesday, 01-Jan-70 00:00:00 GMT", 2026)).isEqualTo(Instant.parse("2070-01-01T00:00:00Z"));
        assertThat(HttpDates.parse("Sunday, 06-Nov-94 08:49:37 GMT", 2060)).isEqualTo(Instant.parse("2094-11-06T08:49:37Z"));
        assertThat(HttpDates.parse("Sunday, 06-Nov-94 08:49:37 GMT", 2043)).isEqualTo(NOV_1994);
        assertThat(HttpDates.parse("Saturday, 01-Jan-00 00:00:00 GMT", 2099)).isEqualTo(Instant.parse("2100-01-01T00:00:00Z"));
    }

    @Test
    void theRuleOnItsOwn() {
        assertThat(HttpDates.fourDigitYear(76, 2026)).isEqualTo(2076);
        assertThat(HttpDates.fourDigitYear(77, 2026)).isEqualTo(1977);
        assertThat(HttpDates.fourDigitYear(26, 2026)).isEqualTo(2026);
        assertThat(HttpDates.fourDigitYear(0, 2099)).isEqualTo(2100);
        assertThat(HttpDates.fourDigitYear(50, 2000)).isEqualTo(2050);
        assertThat(HttpDates.fourDigitYear(51, 2000)).isEqualTo(1951);
    }

    @Test
    void whatIsNotADateIsNull() {
        assertThat(HttpDates.parse("yesterday")).isNull();
        assertThat(HttpDates.parse("")).isNull();
        assertThat(HttpDates.parse(null)).isNull();
        assertThat(HttpDates.parse("Sun, 06 Nov 1994 25:49:37 GMT")).isNull();
    }
}
