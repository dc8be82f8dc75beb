package dev.kura.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(30)
class ClosedLoopTest {

    @Test
    void keepsExactlyNInFlightAndCountsBytes() throws Exception {
        ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        Set<Integer> slots = ConcurrentHashMap.newKeySet();
        try {
            ClosedLoop.Result r = ClosedLoop.run(8, Duration.ofMillis(50), Duration.ofMillis(300), (slot, seq) -> {
                slots.add(slot);
                maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                CompletableFuture<Integer> f = new CompletableFuture<>();
                timer.schedule(() -> {
                    inFlight.decrementAndGet();
                    f.complete(100);
                }, 1, TimeUnit.MILLISECONDS);
                return f;
            });
            assertThat(r.error()).isNull();
            assertThat(maxInFlight.get()).isEqualTo(8);
            assertThat(slots).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7);
            assertThat(r.ops()).isPositive();
            assertThat(r.bytes()).isEqualTo(r.ops() * 100);
            assertThat(r.latency().count()).isEqualTo(r.ops());
            // each op waits for a 1 ms timer: no latency below it
            assertThat(r.latency().p50Us()).isGreaterThanOrEqualTo(1000);
            assertThat(r.seconds()).isBetween(0.29, 1.0);
            assertThat(inFlight.get()).isZero();
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    void synchronousCompletionLoopsWithoutGrowingTheStack() throws Exception {
        AtomicInteger minDepth = new AtomicInteger(Integer.MAX_VALUE);
        AtomicInteger maxDepth = new AtomicInteger();
        ClosedLoop.Result r = ClosedLoop.run(1, Duration.ZERO, Duration.ofMillis(200), (slot, seq) -> {
            int depth = Thread.currentThread().getStackTrace().length;
            minDepth.accumulateAndGet(depth, Math::min);
            maxDepth.accumulateAndGet(depth, Math::max);
            return CompletableFuture.completedFuture(1);
        });
        assertThat(r.error()).isNull();
        assertThat(r.ops()).isGreaterThan(10);
        // every operation started from the same frame: a recursion would add frames per operation
        assertThat(maxDepth.get()).isEqualTo(minDepth.get());
    }

    @Test
    void firstFailureStopsTheRunAndIsReported() throws Exception {
        ClosedLoop.Result r = ClosedLoop.run(4, Duration.ZERO, Duration.ofSeconds(10), (slot, seq) ->
                seq < 100 ? CompletableFuture.completedFuture(1)
                        : CompletableFuture.failedFuture(new IOException("EIO at op " + seq)));
        assertThat(r.error()).isInstanceOf(IOException.class).hasMessageStartingWith("EIO at op");
        assertThat(r.seconds()).isLessThan(5);
    }
}
