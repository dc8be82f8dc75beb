package dev.kura.s3.internal;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link OriginLatency}: the p99 estimate against the exact quantile of the same samples, and its decay. */
class OriginLatencyTest {

    @Test
    void noEstimateBeforeTwentySamples() {
        OriginLatency l = new OriginLatency();
        for (int i = 0; i < OriginLatency.MIN_SAMPLES - 1; i++) {
            l.record(5_000_000);
        }
        assertThat(l.p99()).isEqualTo(-1);
        l.record(5_000_000);
        assertThat(l.p99()).isPositive();
    }

    @Test
    void p99IsWithinTenPercentOfTheExactQuantile() {
        // Log-normal times around 20 ms, as an origin's time to first byte roughly is.
        SplittableRandom rnd = new SplittableRandom(42);
        OriginLatency l = new OriginLatency();
        long[] xs = new long[900]; // fewer than a half-life: no decay, the estimate sees them all
        for (int i = 0; i < xs.length; i++) {
            double g = gaussian(rnd);
            xs[i] = (long) (20e6 * Math.exp(0.6 * g));
            l.record(xs[i]);
        }
        Arrays.sort(xs);
        long exact = xs[(int) Math.ceil(0.99 * xs.length) - 1];
        // The estimate is the upper edge of the bucket holding the quantile: at or above it, < 10 % off.
        assertThat(l.p99()).isBetween(exact - 1, (long) (exact * 1.1) + 1);
        long p50 = l.quantile(0.5);
        long exact50 = xs[xs.length / 2 - 1];
        assertThat(p50).isBetween((long) (exact50 * 0.9), (long) (exact50 * 1.1) + 1);
    }

    @Test
    void theEstimateFollowsAnOriginThatSlowsDown() {
        OriginLatency l = new OriginLatency();
        for (int i = 0; i < 2_000; i++) {
            l.record(10_000_000); // 10 ms
        }
        assertThat(l.p99()).isBetween(10_000_000L, 11_000_000L);
        // The origin now answers in 200 ms: after a few half-lives the old samples weigh < 1 %.
        for (int i = 0; i < 8 * OriginLatency.HALF_LIFE; i++) {
            l.record(200_000_000);
        }
        assertThat(l.p99()).isBetween(200_000_000L, 220_000_000L);
    }

    @Test
    void bucketsAreTenPercentWideAndCoverTheirEdges() {
        for (int i = 1; i < 100; i++) {
            long edge = OriginLatency.upperEdge(i);
            assertThat(OriginLatency.bucket(edge)).as("edge %d", i).isEqualTo(i);
            assertThat(OriginLatency.bucket(edge + edge / 50)).isEqualTo(i + 1);
            assertThat((double) edge / OriginLatency.upperEdge(i - 1)).isBetween(1.09, 1.11);
        }
        assertThat(OriginLatency.bucket(1)).isZero();
        assertThat(OriginLatency.bucket(Long.MAX_VALUE)).isEqualTo(OriginLatency.bucket(Long.MAX_VALUE / 2));
    }

    private static double gaussian(SplittableRandom r) {
        // Box-Muller: SplittableRandom has no nextGaussian of its own on every JDK.
        double u = 1 - r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
