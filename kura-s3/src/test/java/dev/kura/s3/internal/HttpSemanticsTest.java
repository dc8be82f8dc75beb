package dev.kura.s3.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static dev.kura.s3.internal.Preconditions.Outcome.NOT_MODIFIED;
import static dev.kura.s3.internal.Preconditions.Outcome.PRECONDITION_FAILED;
import static dev.kura.s3.internal.Preconditions.Outcome.PROCEED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pure parts: Range, preconditions, HTTP dates, freshness, path checks. */
class HttpSemanticsTest {

    @Test
    void byteRanges() {
        assertThat(ByteRanges.parse(null, 100)).isInstanceOf(ByteRanges.Full.class);
        assertThat(ByteRanges.parse("bytes=0-0", 100)).isEqualTo(new ByteRanges.Single(0, 0));
        assertThat(ByteRanges.parse("bytes=10-", 100)).isEqualTo(new ByteRanges.Single(10, 99));
        assertThat(ByteRanges.parse("bytes=-10", 100)).isEqualTo(new ByteRanges.Single(90, 99));
        assertThat(ByteRanges.parse("bytes=-1000", 100)).isEqualTo(new ByteRanges.Single(0, 99));
        assertThat(ByteRanges.parse("bytes=50-1000", 100)).isEqualTo(new ByteRanges.Single(50, 99));
        assertThat(ByteRanges.parse(" Bytes = 1-2 ", 100)).isEqualTo(new ByteRanges.Single(1, 2));
        assertThat(ByteRanges.parse("bytes=100-", 100)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("bytes=0-0", 0)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("bytes=-0", 100)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("bytes=5-1", 100)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("bytes=x-1", 100)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("bytes=99999999999999999999-", 100)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("bytes 0-1", 100)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("bytes=0-1,3-4", 100)).isInstanceOf(ByteRanges.Full.class);
        assertThat(ByteRanges.parse("bytes=200-300,0-1", 100)).isInstanceOf(ByteRanges.Full.class);
        assertThat(ByteRanges.parse("bytes=200-300,400-", 100)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("lines=0-1", 100)).isInstanceOf(ByteRanges.Full.class);
    }

    @Test
    void preconditionsFollowRfc9110Order() {
        String etag = "\"abc\"";
        Instant lm = Instant.parse("2024-01-01T00:00:00.500Z");
        String same = "Mon, 01 Jan 2024 00:00:00 GMT";
        String before = "Sun, 31 Dec 2023 00:00:00 GMT";
        assertThat(Preconditions.evaluate(null, null, null, null, etag, lm)).isEqualTo(PROCEED);
        assertThat(Preconditions.evaluate("\"abc\"", null, null, null, etag, lm)).isEqualTo(PROCEED);
        assertThat(Preconditions.evaluate("W/\"abc\"", null, null, null, etag, lm)).isEqualTo(PRECONDITION_FAILED);
        assertThat(Preconditions.evaluate("*", null, null, null, etag, lm)).isEqualTo(PROCEED);
        assertThat(Preconditions.evaluate(null, before, null, null, etag, lm)).isEqualTo(PRECONDITION_FAILED);
        assertThat(Preconditions.evaluate(null, same, null, null, etag, lm)).isEqualTo(PROCEED);
        assertThat(Preconditions.evaluate(null, "garbage", null, null, etag, lm)).isEqualTo(PROCEED);
        assertThat(Preconditions.evaluate(null, null, "W/\"abc\"", null, etag, lm)).isEqualTo(NOT_MODIFIED);
        assertThat(Preconditions.evaluate(null, null, "\"x\",\"abc\"", null, etag, lm)).isEqualTo(NOT_MODIFIED);
        assertThat(Preconditions.evaluate(null, null, "\"x\"", same, etag, lm)).isEqualTo(PROCEED);
        assertThat(Preconditions.evaluate(null, null, null, same, etag, lm)).isEqualTo(NOT_MODIFIED);
        assertThat(Preconditions.evaluate(null, null, null, before, etag, lm)).isEqualTo(PROCEED);
        // A failed If-Match wins over a matching If-None-Match.
        assertThat(Preconditions.evaluate("\"x\"", null, "\"abc\"", null, etag, lm)).isEqualTo(PRECONDITION_FAILED);
        assertThat(Preconditions.ifRangeAllows("\"abc\"", etag, lm)).isTrue();
        assertThat(Preconditions.ifRangeAllows("W/\"abc\"", etag, lm)).isFalse();
        assertThat(Preconditions.ifRangeAllows(same, etag, lm)).isTrue();
        assertThat(Preconditions.ifRangeAllows(before, etag, lm)).isFalse();
        assertThat(Preconditions.ifRangeAllows("nonsense", etag, lm)).isFalse();
    }

    @Test
    void httpDatesInAllThreeForms() {
        Instant t = Instant.parse("1994-11-06T08:49:37Z");
        assertThat(HttpDates.parse("Sun, 06 Nov 1994 08:49:37 GMT")).isEqualTo(t);
        assertThat(HttpDates.parse("Sunday, 06-Nov-94 08:49:37 GMT")).isEqualTo(t);
        assertThat(HttpDates.parse("Sun Nov  6 08:49:37 1994")).isEqualTo(t);
        assertThat(HttpDates.parse("yesterday")).isNull();
        assertThat(HttpDates.format(t)).isEqualTo("Sun, 06 Nov 1994 08:49:37 GMT");
    }

    @Test
    void freshness() {
        Instant now = Instant.parse("2025-01-01T00:00:00Z");
        Duration ttl = Duration.ofMinutes(5);
        assertThat(Freshness.decide(null, ttl, now)).isEqualTo(new Freshness.Decision(true, now.plus(ttl)));
        assertThat(Freshness.decide("no-store", ttl, now).store()).isFalse();
        assertThat(Freshness.decide("public, PRIVATE", ttl, now).store()).isFalse();
        assertThat(Freshness.decide("max-age=60, s-maxage=10", ttl, now).expiresAt()).isEqualTo(now.plusSeconds(10));
        assertThat(Freshness.decide("max-age=\"60\"", ttl, now).expiresAt()).isEqualTo(now.plusSeconds(60));
        assertThat(Freshness.decide("no-cache", ttl, now)).isEqualTo(new Freshness.Decision(true, now));
        assertThat(Freshness.decide("max-age=abc", ttl, now).expiresAt()).isEqualTo(now);
    }

    @Test
    void pathsThatLeaveTheBucketAreRefused() throws Exception {
        assertThat(RequestPath.decode("/b/a%20b/c.txt")).isEqualTo("/b/a b/c.txt");
        assertThat(RequestPath.decode("/b/100%25.txt")).isEqualTo("/b/100%.txt");
        assertThat(RequestPath.decode("/b/..data/x")).isEqualTo("/b/..data/x");
        for (String bad : new String[] {"/b/../x", "/b/%2e%2e/x", "/b/%2E./x", "/b/%252e%252e/x", "/b/..%5cx",
                "/b/.", "/b/%00", "/b/%", "/b/%4", "/b/%ff"}) {
            assertThatThrownBy(() -> RequestPath.decode(bad)).as(bad).isInstanceOf(RequestPath.BadPathException.class);
        }
        assertThat(RequestPath.rawPath("/b/k?x=1#f")).isEqualTo("/b/k");
        assertThatThrownBy(() -> RequestPath.rawPath("http://evil/x")).isInstanceOf(RequestPath.BadPathException.class);
    }
}
