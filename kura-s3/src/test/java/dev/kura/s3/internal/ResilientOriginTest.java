package dev.kura.s3.internal;

import dev.kura.s3.OriginResilience;
import dev.kura.s3.internal.api.ListPage;
import dev.kura.s3.internal.api.ListQuery;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ResilientOrigin}'s decisions against scripted in-memory endpoints: which failures are
 * retried and how often, the time budget, breakers opening and closing, failover to replicas, and
 * hedging. The same features against S3Proxy behind a faulty relay: {@code OriginResilienceTest}.
 */
class ResilientOriginTest {

    private static final OriginRequest RQ = OriginRequest.whole("k");

    @Test
    void retryableFailuresAreRetriedUntilAnAnswer() {
        Scripted o = new Scripted(status(503, "SlowDown"), status(500, null), Scripted.OK);
        Recorder ev = new Recorder();
        ResilientOrigin r = origin(policy(2, Duration.ofSeconds(10), null, Duration.ZERO), ev, o);
        assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Body.class);
        assertThat(o.calls.get()).isEqualTo(3);
        assertThat(ev.retries).containsExactly(OriginFailure.Kind.SERVER_ERROR, OriginFailure.Kind.SERVER_ERROR);
    }

    @Test
    void attemptsAreBoundedByRetries() {
        Scripted o = new Scripted(down(), down(), down(), down(), Scripted.OK);
        ResilientOrigin r = origin(policy(2, Duration.ofSeconds(10), null, Duration.ZERO), new Recorder(), o);
        OriginResponse a = r.get(RQ);
        assertThat(a).isInstanceOf(OriginResponse.Failed.class);
        assertThat(((OriginResponse.Failed) a).failure().kind()).isEqualTo(OriginFailure.Kind.UNREACHABLE);
        assertThat(o.calls.get()).isEqualTo(3);
    }

    @Test
    void notFoundNotImplementedAndPreconditionsAreNotRetried() {
        for (OriginFailure f : List.of(
                new OriginFailure(OriginFailure.Kind.NOT_FOUND, 404, "NoSuchKey", "404"),
                new OriginFailure(OriginFailure.Kind.PRECONDITION_FAILED, 412, "PreconditionFailed", "412"),
                new OriginFailure(OriginFailure.Kind.NOT_IMPLEMENTED, 501, "NotImplemented", "501"),
                new OriginFailure(OriginFailure.Kind.ACCESS_DENIED, 403, "AccessDenied", "403"))) {
            Scripted o = new Scripted(new OriginResponse.Failed(f), Scripted.OK);
            ResilientOrigin r = origin(policy(3, Duration.ofSeconds(10), null, Duration.ZERO), new Recorder(), o);
            assertThat(((OriginResponse.Failed) r.get(RQ)).failure()).isEqualTo(f);
            assertThat(o.calls.get()).as(f.kind().name()).isEqualTo(1);
        }
    }

    @Test
    void noAttemptStartsAfterTheBudget() {
        // The first backoff may be up to 10 s, the budget is 1 ms: a retry would overshoot it.
        OriginResilience p = new OriginResilience(5, Duration.ofMillis(1), Duration.ofSeconds(10),
                Duration.ofSeconds(10), breakerOff(), null);
        Scripted o = new Scripted(down(), Scripted.OK);
        ResilientOrigin r = origin(p, new Recorder(), o);
        long t0 = System.nanoTime();
        assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Failed.class);
        assertThat(o.calls.get()).isEqualTo(1);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void backoffIsFullJitterUnderAnExponentialBound() {
        OriginResilience p = new OriginResilience(3, null, Duration.ofMillis(100), Duration.ofSeconds(1),
                breakerOff(), null);
        ResilientOrigin r = origin(p, new Recorder(), new Scripted());
        SplittableRandom rnd = new SplittableRandom(7);
        for (int n = 1; n <= 40; n++) {
            long bound = Math.min(1_000_000_000L, 100_000_000L << Math.min(n - 1, 20));
            long max = 0;
            for (int i = 0; i < 2000; i++) {
                long d = r.backoffNanos(n, rnd);
                assertThat(d).isBetween(0L, bound);
                max = Math.max(max, d);
            }
            assertThat(max).as("retry %d spreads over its whole bound", n).isGreaterThan(bound * 9 / 10);
        }
    }

    @Test
    void anOpenBreakerAnswersAtOnceWithoutAnAttemptThenLetsATrialThrough() throws Exception {
        OriginResilience.Breaker b = new OriginResilience.Breaker(true, 50, 4, 4, Duration.ofMillis(300), 1);
        Scripted o = new Scripted();
        o.fallback = down();
        Recorder ev = new Recorder();
        ResilientOrigin r = origin(new OriginResilience(0, null, null, null, b, null), ev, o);
        for (int i = 0; i < 4; i++) {
            r.get(RQ);
        }
        assertThat(o.calls.get()).isEqualTo(4);
        assertThat(r.endpoints().get(0).state()).isEqualTo(OriginEvents.BreakerState.OPEN);
        OriginResponse fast = r.get(RQ);
        assertThat(((OriginResponse.Failed) fast).failure().kind()).isEqualTo(OriginFailure.Kind.CIRCUIT_OPEN);
        assertThat(((OriginResponse.Failed) fast).failure().originDown()).isTrue();
        assertThat(o.calls.get()).isEqualTo(4);
        // After open-for, one trial request goes through; its success closes the breaker.
        o.fallback = Scripted.OK;
        Thread.sleep(400);
        assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Body.class);
        assertThat(r.endpoints().get(0).state()).isEqualTo(OriginEvents.BreakerState.CLOSED);
        assertThat(ev.transitions).containsExactly("k@primary:80>OPEN", "k@primary:80>HALF_OPEN",
                "k@primary:80>CLOSED");
    }

    @Test
    void hedgeAfterP99WaitsHedgeMaxUntilThereIsAnEstimateThenTheP99WithinItsBounds() {
        OriginResilience p = new OriginResilience(0, null, null, null, breakerOff(), OriginResilience.HedgeAfter.P99,
                Duration.ofMillis(20), Duration.ofSeconds(3));
        ResilientOrigin r = origin(p, new Recorder(), new Scripted());
        assertThat(r.hedgeDelayNanos()).isEqualTo(Duration.ofSeconds(3).toNanos());
        for (int i = 0; i < 200; i++) {
            r.latency.record(Duration.ofMillis(i < 196 ? 40 : 400).toNanos());
        }
        // 4 of 200 (2 %) took 400 ms: the 99th percentile lies among them.
        assertThat(r.hedgeDelayNanos()).isBetween(Duration.ofMillis(400).toNanos(), Duration.ofMillis(440).toNanos());
        r.latency.clear();
        for (int i = 0; i < 100; i++) {
            r.latency.record(Duration.ofMillis(1).toNanos());
        }
        assertThat(r.hedgeDelayNanos()).as("bounded below").isEqualTo(Duration.ofMillis(20).toNanos());
        r.latency.clear();
        for (int i = 0; i < 100; i++) {
            r.latency.record(Duration.ofSeconds(20).toNanos());
        }
        assertThat(r.hedgeDelayNanos()).as("bounded above").isEqualTo(Duration.ofSeconds(3).toNanos());
        // A fixed hedge-after is used as it is.
        ResilientOrigin fixed = origin(policy(0, Duration.ofSeconds(10), breakerOff(), Duration.ofMillis(300)),
                new Recorder(), new Scripted());
        assertThat(fixed.hedgeDelayNanos()).isEqualTo(Duration.ofMillis(300).toNanos());
    }

    @Test
    void hedgeAfterP99FeedsTheEstimateWithAnswersOnly() {
        OriginResilience p = new OriginResilience(0, null, null, null, breakerOff(), OriginResilience.HedgeAfter.P99,
                null, null);
        Scripted o = new Scripted();
        o.fallback = Scripted.OK;
        ResilientOrigin r = origin(p, new Recorder(), o);
        for (int i = 0; i < OriginLatency.MIN_SAMPLES; i++) {
            assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Body.class);
        }
        assertThat(r.latency.p99()).isPositive();
        r.latency.clear();
        o.fallback = down();
        for (int i = 0; i < OriginLatency.MIN_SAMPLES; i++) {
            r.get(RQ);
        }
        assertThat(r.latency.p99()).as("failures say nothing about answer times").isEqualTo(-1);
    }

    @Test
    void theCircuitOpenFailureSaysWhenTheEarliestBreakerLetsATrialThrough() throws Exception {
        // Two endpoints: the primary's breaker opens first (open-for 30 s), the replica's 1.5 s later
        // (open-for 10 s): the replica's trial comes first, ~11.5 s from the first opening.
        Scripted primary = new Scripted();
        primary.fallback = down();
        Scripted replica = new Scripted();
        replica.fallback = down();
        OriginResilience.Breaker b30 = new OriginResilience.Breaker(true, 50, 1, 1, Duration.ofSeconds(30), 1);
        OriginResilience.Breaker b10 = new OriginResilience.Breaker(true, 50, 1, 1, Duration.ofSeconds(10), 1);
        Recorder ev = new Recorder();
        OriginResilience p = new OriginResilience(0, null, null, null, b30, null);
        ResilientOrigin r = new ResilientOrigin("k", p, List.of(
                new OriginEndpoint("k", URI.create("http://primary"), primary, b30, ev),
                new OriginEndpoint("k", URI.create("http://replica"), replica, b10, ev)), ev);
        r.get(RQ); // primary fails: open for 30 s
        Thread.sleep(1_500);
        r.get(RQ); // the primary is skipped, the replica fails: open for 10 s
        assertThat(r.endpoints()).allMatch(e -> e.state() == OriginEvents.BreakerState.OPEN);
        OriginFailure f = ((OriginResponse.Failed) r.get(RQ)).failure();
        assertThat(f.kind()).isEqualTo(OriginFailure.Kind.CIRCUIT_OPEN);
        assertThat(f.retryAfterSeconds()).as("the replica's breaker, the earlier one").isBetween(9L, 10L);
        assertThat(primary.calls.get() + replica.calls.get()).isEqualTo(2);
    }

    @Test
    void aFailedPrimaryFailsOverToTheReplicaAndAnOpenOneIsSkipped() {
        OriginResilience.Breaker b = new OriginResilience.Breaker(true, 50, 2, 2, Duration.ofMinutes(1), 1);
        Scripted primary = new Scripted();
        primary.fallback = down();
        Scripted replica = new Scripted();
        replica.fallback = Scripted.OK;
        Recorder ev = new Recorder();
        ResilientOrigin r = origin(new OriginResilience(1, null, Duration.ofMillis(1), Duration.ofMillis(1), b, null),
                ev, primary, replica);
        for (int i = 0; i < 2; i++) {
            assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Body.class);
        }
        assertThat(primary.calls.get()).isEqualTo(2);
        assertThat(replica.calls.get()).isEqualTo(2);
        // The primary's breaker is open: the next requests go straight to the replica, no retry needed.
        for (int i = 0; i < 5; i++) {
            assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Body.class);
        }
        assertThat(primary.calls.get()).isEqualTo(2);
        assertThat(replica.calls.get()).isEqualTo(7);
        assertThat(ev.skips.get()).isEqualTo(5);
        assertThat(ev.retries).hasSize(2);
    }

    @Test
    void aHedgedRequestTakesTheFirstAnswer() {
        Scripted slow = new Scripted();
        slow.fallback = Scripted.OK;
        slow.delayMillis = 2_000;
        Scripted fast = new Scripted();
        fast.fallback = Scripted.OK;
        Recorder ev = new Recorder();
        ResilientOrigin r = origin(policy(0, Duration.ofSeconds(10), breakerOff(), Duration.ofMillis(50)), ev, slow,
                fast);
        long t0 = System.nanoTime();
        OriginResponse a = r.get(RQ);
        assertThat(a).isInstanceOf(OriginResponse.Body.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(1_500));
        assertThat(fast.calls.get()).isEqualTo(1);
        assertThat(ev.hedges).containsExactly("hedge");
        // Without a delay the first request answers before hedge-after: no second request.
        slow.delayMillis = 0;
        assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Body.class);
        assertThat(fast.calls.get()).isEqualTo(1);
        assertThat(ev.hedges).containsExactly("hedge");
    }

    @Test
    void aCancelledLoserDoesNotCountAgainstItsEndpointsBreaker() throws Exception {
        Scripted slow = new Scripted();
        slow.fallback = Scripted.OK;
        slow.delayMillis = 2_000;
        Scripted fast = new Scripted();
        fast.fallback = Scripted.OK;
        Recorder ev = new Recorder();
        // A breaker that opens on a single failure.
        OriginResilience.Breaker b = new OriginResilience.Breaker(true, 1, 1, 1, Duration.ofMinutes(1), 1);
        ResilientOrigin r = origin(policy(0, Duration.ofSeconds(10), b, Duration.ofMillis(50)), ev, slow, fast);
        for (int i = 0; i < 3; i++) {
            assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Body.class);
        }
        Thread.sleep(200); // the interrupted losers have returned by now
        assertThat(slow.calls.get()).isEqualTo(3);
        assertThat(r.endpoints().get(0).state()).isEqualTo(OriginEvents.BreakerState.CLOSED);
        assertThat(ev.transitions).isEmpty();
    }

    @Test
    void aLosersBodyThatArrivesAfterTheRaceIsClosed() throws Exception {
        Scripted stubborn = new Scripted();
        stubborn.fallback = Scripted.OK;
        stubborn.delayMillis = 300;
        stubborn.ignoreInterrupts = true;
        Scripted fast = new Scripted();
        fast.fallback = Scripted.OK;
        ResilientOrigin r = origin(policy(0, Duration.ofSeconds(10), breakerOff(), Duration.ofMillis(20)),
                new Recorder(), stubborn, fast);
        try (OriginResponse.Body b = (OriginResponse.Body) r.get(RQ)) {
            assertThat(fast.closed.get(1).get()).isFalse();
        }
        for (int i = 0; i < 100 && stubborn.closed.get(1) == null; i++) {
            Thread.sleep(20);
        }
        for (int i = 0; i < 100 && !stubborn.closed.get(1).get(); i++) {
            Thread.sleep(20);
        }
        assertThat(stubborn.closed.get(1).get()).as("the loser's body is closed unread").isTrue();
    }

    @Test
    void aHedgeWaitsForTheOtherRequestWhenTheFirstAnswerIsAFailure() {
        Scripted slowOk = new Scripted();
        slowOk.fallback = Scripted.OK;
        slowOk.delayMillis = 300;
        Scripted failing = new Scripted();
        failing.fallback = down();
        ResilientOrigin r = origin(policy(0, Duration.ofSeconds(10), breakerOff(), Duration.ofMillis(20)),
                new Recorder(), slowOk, failing);
        assertThat(r.get(RQ)).isInstanceOf(OriginResponse.Body.class);
        assertThat(failing.calls.get()).isEqualTo(1);
    }

    @Test
    void listingsAreRetriedToo() throws Exception {
        Scripted o = new Scripted(status(503, "SlowDown"));
        o.fallback = Scripted.OK;
        ResilientOrigin r = origin(policy(2, Duration.ofSeconds(10), null, Duration.ZERO), new Recorder(), o);
        assertThat(r.list(new ListQuery(true, "", null, 1000, null, null, false)).objects()).isEmpty();
        assertThat(o.listCalls.get()).isEqualTo(2);
    }

    // ------------------------------------------------------------------ helpers

    private static OriginResilience policy(int retries, Duration budget, OriginResilience.Breaker b, Duration hedge) {
        return new OriginResilience(retries, budget, Duration.ofMillis(1), Duration.ofMillis(5), b, hedge);
    }

    private static OriginResilience.Breaker breakerOff() {
        return new OriginResilience.Breaker(false, null, null, null, null, null);
    }

    private static ResilientOrigin origin(OriginResilience p, OriginEvents ev, Scripted... endpoints) {
        List<OriginEndpoint> eps = new ArrayList<>();
        String[] names = {"primary", "replica", "third"};
        for (int i = 0; i < endpoints.length; i++) {
            eps.add(new OriginEndpoint("k", URI.create("http://" + names[i]), endpoints[i], p.breaker(), ev));
        }
        return new ResilientOrigin("k", p, eps, ev);
    }

    private static OriginResponse status(int st, String code) {
        return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.SERVER_ERROR, st, code, "origin answered " + st));
    }

    private static OriginResponse down() {
        return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.UNREACHABLE, 0, null, "origin unreachable"));
    }

    /** Records the events the metrics would get. */
    static final class Recorder implements OriginEvents {
        final List<OriginFailure.Kind> retries = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<String> transitions = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<String> hedges = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger skips = new AtomicInteger();

        @Override
        public void retry(String bucket, OriginFailure.Kind kind) {
            retries.add(kind);
        }

        @Override
        public void skipped(String bucket, String endpoint) {
            skips.incrementAndGet();
        }

        @Override
        public void transition(String bucket, String endpoint, BreakerState to) {
            transitions.add(bucket + "@" + endpoint + ">" + to);
        }

        @Override
        public void hedgeWon(String bucket, boolean hedge) {
            hedges.add(hedge ? "hedge" : "first");
        }
    }

    /**
     * An endpoint answering a script of responses, then {@code fallback}; an {@code OK} answer is a
     * fresh 3-byte body whose closing is recorded.
     */
    static final class Scripted implements Origin {
        static final OriginResponse OK = new OriginResponse.NotModified(null, null); // marker, replaced per call
        final ConcurrentLinkedDeque<OriginResponse> script = new ConcurrentLinkedDeque<>();
        volatile OriginResponse fallback = OK;
        volatile long delayMillis;
        volatile boolean ignoreInterrupts;
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger listCalls = new AtomicInteger();
        final Map<Integer, AtomicBoolean> closed = new ConcurrentHashMap<>();

        Scripted(OriginResponse... script) {
            this.script.addAll(List.of(script));
        }

        private OriginResponse next() {
            OriginResponse r = script.pollFirst();
            return r != null ? r : fallback;
        }

        @Override
        public OriginResponse get(OriginRequest request) {
            int n = calls.incrementAndGet();
            if (delayMillis > 0 && ignoreInterrupts) {
                long until = System.nanoTime() + delayMillis * 1_000_000;
                while (System.nanoTime() < until) {
                    java.util.concurrent.locks.LockSupport.parkNanos(until - System.nanoTime());
                }
            } else if (delayMillis > 0) {
                try {
                    Thread.sleep(delayMillis);
                } catch (InterruptedException e) {
                    return new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.IO, 0, null, "aborted"));
                }
            }
            OriginResponse r = next();
            if (r != OK) {
                return r;
            }
            AtomicBoolean c = new AtomicBoolean();
            closed.put(n, c);
            InputStream in = new ByteArrayInputStream(new byte[] {1, 2, 3}) {
                @Override
                public void close() throws IOException {
                    c.set(true);
                    super.close();
                }
            };
            return new OriginResponse.Body(new OriginObject(3, null, "\"e\"", null, null, null, null, null, null, null),
                    0, 3, in);
        }

        @Override
        public OriginResponse head(String key, String versionId) {
            return get(OriginRequest.whole(key));
        }

        @Override
        public OriginResponse headPart(String key, String versionId, int partNumber) {
            return get(OriginRequest.whole(key));
        }

        @Override
        public ListPage list(ListQuery q) throws OriginFailure.Thrown {
            listCalls.incrementAndGet();
            OriginResponse r = next();
            if (r instanceof OriginResponse.Failed f) {
                throw new OriginFailure.Thrown(f.failure());
            }
            return new ListPage(List.of(), List.of(), false, null);
        }

        @Override
        public boolean reachable() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
