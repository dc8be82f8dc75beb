package dev.kura.s3.internal.limits;

import dev.kura.config.DataSize;
import dev.kura.s3.RateLimits;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Throttle}'s decisions: request and byte limits per client and per bucket, and bounded client state. */
class ThrottleTest {

    private static RateLimits.Limit requests(int perSecond, int burst) {
        return new RateLimits.Limit(perSecond, burst, null, null);
    }

    @Test
    void aClientOverItsRequestRateIsRefusedOthersAreNot() {
        Throttle t = new Throttle(new RateLimits(requests(1, 2), null, null, null), List.of("b"));
        assertThat(t.admit("ip:10.0.0.1", "b")).isNull();
        assertThat(t.admit("ip:10.0.0.1", "b")).isNull();
        Throttle.Refusal no = t.admit("ip:10.0.0.1", "b");
        assertThat(no).isNotNull();
        assertThat(no.scope()).isEqualTo(Throttle.Scope.CLIENT);
        assertThat(no.retryAfter()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));
        assertThat(no.retryAfterSeconds()).isEqualTo(1);
        assertThat(t.admit("ip:10.0.0.2", "b")).isNull();
        assertThat(t.admit("key:KURACLIENT000001", null)).isNull();
    }

    @Test
    void aBucketLimitIsSharedByItsClientsAndGivesTheClientsTokenBack() {
        Throttle t = new Throttle(new RateLimits(requests(1, 3), requests(1, 3), null, null), List.of("b", "c"));
        assertThat(t.admit("ip:1", "b")).isNull();
        assertThat(t.admit("ip:2", "b")).isNull();
        assertThat(t.admit("ip:3", "b")).isNull();
        Throttle.Refusal no = t.admit("ip:1", "b");
        assertThat(no).isNotNull();
        assertThat(no.scope()).isEqualTo(Throttle.Scope.BUCKET);
        // Another bucket has its own limit; ip:1's refused request did not cost it a token.
        assertThat(t.admit("ip:1", "c")).isNull();
        assertThat(t.admit("ip:1", "c")).isNull();
        assertThat(t.admit("ip:1", "c")).as("ip:1's own burst of 3 is used up now").isNotNull()
                .extracting(Throttle.Refusal::scope).isEqualTo(Throttle.Scope.CLIENT);
    }

    @Test
    void bytesAreChargedAfterTheResponseAndTheDebtDelaysTheNextRequest() {
        RateLimits.Limit bytes = new RateLimits.Limit(null, null, DataSize.ofBytes(1000), null);
        Throttle t = new Throttle(new RateLimits(bytes, null, null, null), List.of("b"));
        assertThat(t.admit("ip:1", "b")).isNull();
        t.sent("ip:1", "b", 5_000); // one large response goes through whole: 4,000 bytes of debt
        Throttle.Refusal no = t.admit("ip:1", "b");
        assertThat(no).isNotNull();
        assertThat(no.retryAfter()).isBetween(Duration.ofMillis(3_500), Duration.ofMillis(4_100));
        // 4,001 tokens to a positive allowance at 1,000/s: 4.001 s, rounded up to 5; the refill runs
        // on the wall clock, so a millisecond between sent() and admit() makes it 4.000 s, 4.
        assertThat(no.retryAfterSeconds()).isIn(4L, 5L);
        assertThat(t.admit("ip:2", "b")).isNull();
    }

    @Test
    void retryAfterIsInWholeSecondsRoundedUpAndAtLeastOne() {
        assertThat(new Throttle.Refusal(Throttle.Scope.CLIENT, Duration.ofMillis(4_001)).retryAfterSeconds()).isEqualTo(5);
        assertThat(new Throttle.Refusal(Throttle.Scope.CLIENT, Duration.ofMillis(4_000)).retryAfterSeconds()).isEqualTo(4);
        assertThat(new Throttle.Refusal(Throttle.Scope.CLIENT, Duration.ofNanos(1)).retryAfterSeconds()).isEqualTo(1);
        assertThat(new Throttle.Refusal(Throttle.Scope.CLIENT, Duration.ZERO).retryAfterSeconds()).isEqualTo(1);
    }

    @Test
    void clientStateIsBounded() {
        Throttle t = new Throttle(new RateLimits(requests(10, 10), null, 100, null), List.of("b"));
        for (int i = 0; i < 10_000; i++) {
            assertThat(t.admit("ip:" + i, "b")).isNull();
        }
        assertThat(t.clientsTracked()).isLessThanOrEqualTo(100);
    }

    @Test
    void withoutLimitsEverythingIsAdmitted() {
        Throttle t = new Throttle(RateLimits.none(), List.of("b"));
        assertThat(t.active()).isFalse();
        for (int i = 0; i < 1000; i++) {
            assertThat(t.admit("ip:1", "b")).isNull();
        }
        t.sent("ip:1", "b", Long.MAX_VALUE / 4);
        assertThat(t.admit("ip:1", "b")).isNull();
        assertThat(t.clientsTracked()).isZero();
    }
}
