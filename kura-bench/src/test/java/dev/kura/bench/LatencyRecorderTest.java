package dev.kura.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LatencyRecorderTest {

    @Test
    void percentilesOfAKnownDistribution() {
        LatencyRecorder r = new LatencyRecorder();
        // 1..1000 µs, one value each: p50 = 500 µs, p95 = 950 µs, p99 = 990 µs
        for (int us = 1; us <= 1000; us++) {
            r.record(us * 1000L);
        }
        LatencySummary s = r.summary();
        assertThat(s.count()).isEqualTo(1000);
        assertThat(s.p50Us()).isCloseTo(500, within(0.5));
        assertThat(s.p95Us()).isCloseTo(950, within(1.0));
        assertThat(s.p99Us()).isCloseTo(990, within(1.0));
        assertThat(s.maxUs()).isCloseTo(1000, within(1.0));
        assertThat(s.meanUs()).isCloseTo(500.5, within(0.5));
    }

    @Test
    void resetForgetsWarmupAndSummaryAccumulates() {
        LatencyRecorder r = new LatencyRecorder();
        r.record(1_000_000_000L);
        r.reset();
        r.record(2_000);
        assertThat(r.summary().count()).isEqualTo(1);
        r.record(4_000);
        LatencySummary s = r.summary();
        assertThat(s.count()).isEqualTo(2);
        assertThat(s.maxUs()).isCloseTo(4.0, within(0.01));
    }

    @Test
    void recordsFromManyThreadsWithoutLoss() throws InterruptedException {
        LatencyRecorder r = new LatencyRecorder();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 10_000; i++) {
                    r.record(5_000);
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertThat(r.summary().count()).isEqualTo(40_000);
    }

    @Test
    void emptyAndNegative() {
        LatencyRecorder r = new LatencyRecorder();
        assertThat(r.summary()).isEqualTo(LatencySummary.EMPTY);
        r.record(-5);
        assertThat(r.summary().maxUs()).isZero();
    }
}
