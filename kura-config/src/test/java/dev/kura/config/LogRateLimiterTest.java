package dev.kura.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogRateLimiterTest {
    /** An interval no test run reaches: only the budget decides. */
    private static final Duration LONG = Duration.ofDays(1);

    @Test
    void letsTheBudgetThroughThenDropsAndCountsPerKey() {
        LogRateLimiter l = new LogRateLimiter(2, LONG);
        List<Long> eio = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            eio.add(l.admit("EIO"));
        }
        assertThat(eio).containsExactly(0L, 0L, -1L, -1L, -1L);
        // another key has its own budget
        assertThat(l.admit("ENOSPC")).isZero();
        assertThat(l.admit()).isZero();
    }

    @Test
    void theFirstLineAfterTheIntervalSaysHowManyWereDropped() throws Exception {
        LogRateLimiter l = new LogRateLimiter(1, Duration.ofMillis(50));
        assertThat(l.admit("k")).isZero();
        assertThat(l.admit("k")).isEqualTo(-1);
        assertThat(l.admit("k")).isEqualTo(-1);
        Thread.sleep(80);
        assertThat(l.admit("k")).isEqualTo(2);
        assertThat(l.admit("k")).isEqualTo(-1);
    }

    @Test
    void concurrentCallersShareOneBudget() throws Exception {
        LogRateLimiter l = new LogRateLimiter(10, LONG);
        AtomicLong through = new AtomicLong();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 1000; i++) {
                    if (l.admit("x") >= 0) {
                        through.incrementAndGet();
                    }
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertThat(through.get()).isEqualTo(10);
    }

    @Test
    void nonsenseLimitsAreRefused() {
        assertThatThrownBy(() -> new LogRateLimiter(0, LONG)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LogRateLimiter(1, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    }
}
