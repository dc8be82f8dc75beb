package dev.kura.s3.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 9111 5.3: {@code Expires} sets freshness when there is no max-age or s-maxage. */
class ExpiresFreshnessTest {
    static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");
    static final Duration TTL = Duration.ofHours(1);

    @Test
    void expiresCountsOnlyWithoutMaxAge() {
        assertThat(Freshness.decide(null, "Mon, 30 Nov 2026 12:10:00 GMT", TTL, NOW).expiresAt())
                .isEqualTo(NOW.plusSeconds(600));
        // A past date, or one that is not a date ("0"), is already stale.
        assertThat(Freshness.decide(null, "Mon, 30 Nov 2026 11:00:00 GMT", TTL, NOW).expiresAt()).isEqualTo(NOW);
        assertThat(Freshness.decide(null, "0", TTL, NOW).expiresAt()).isEqualTo(NOW);
        assertThat(Freshness.decide("public", "0", TTL, NOW).expiresAt()).isEqualTo(NOW);
        // max-age and s-maxage win over Expires.
        assertThat(Freshness.decide("max-age=60", "Mon, 30 Nov 2026 11:00:00 GMT", TTL, NOW).expiresAt())
                .isEqualTo(NOW.plusSeconds(60));
        assertThat(Freshness.decide("s-maxage=5", "Mon, 30 Nov 2026 13:00:00 GMT", TTL, NOW).expiresAt())
                .isEqualTo(NOW.plusSeconds(5));
        // Neither: the bucket's default TTL.
        assertThat(Freshness.decide(null, null, TTL, NOW).expiresAt()).isEqualTo(NOW.plus(TTL));
    }
}
