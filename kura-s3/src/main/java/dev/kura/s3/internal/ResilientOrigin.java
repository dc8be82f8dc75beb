package dev.kura.s3.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.OriginResilience;
import dev.kura.s3.internal.api.ListPage;
import dev.kura.s3.internal.api.ListQuery;
import org.jspecify.annotations.Nullable;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * The {@link Origin} of a bucket as kura uses it: its endpoints ({@code endpoint}, then
 * {@code replicas}) in priority order, each behind a circuit breaker ({@link OriginEndpoint}), with
 * retries, failover and optional hedging. The proxy's fill path sees one {@code Origin} and knows
 * nothing of this.
 *
 * <p><b>Retries.</b> A request that failed before its response head ({@link OriginFailure#retryable()}:
 * refused, reset, timed out, 500/502/503/504 and S3's {@code SlowDown}) is sent again, to the next
 * endpoint in priority order (the same one when there is only one), after a backoff with full
 * jitter: a random wait in {@code [0, min(backoff-max, backoff-base x 2^(n-1))]} before retry n
 * (AWS Architecture Blog, "Exponential Backoff And Jitter": full jitter spreads a burst of
 * retrying clients best). A request makes at most {@code retries + 1} attempts and starts none after
 * {@code retry-budget}. A request is retried only before its answer is handed on: once a body
 * stream is returned, a failure inside it is the streamer's (it resumes from the origin with a
 * ranged {@code If-Match} GET, or cuts the response), never a retry that could send bytes twice.
 *
 * <p><b>One layer retries.</b> The AWS SDK's own retry strategy is configured to one attempt in
 * {@link OriginClient} (its STANDARD mode would otherwise make three attempts with its own backoff
 * and retry-quota token bucket). This class is the one layer because only it sees every endpoint:
 * a retry can go to a replica, the breaker counts each real attempt, and the time budget spans
 * them all. Two layers would multiply attempts (3 x 3) and hide them from the breaker.
 *
 * <p><b>Circuit breakers.</b> An endpoint whose breaker is open is skipped without an attempt; when
 * every endpoint's is open the request fails at once with {@link OriginFailure.Kind#CIRCUIT_OPEN}
 * (the fill path then serves stale where {@code stale-if-error} allows, else 503
 * ServiceUnavailable), instead of each request waiting for a connect or read timeout.
 *
 * <p><b>Hedging</b> (off unless {@code hedge-after} is set): GET and HEAD run on a virtual thread;
 * if no answer came within {@code hedge-after}, a second request (with its own retries) goes to the
 * next endpoint. With {@code hedge-after: p99} the wait is the bucket's running 99th percentile of
 * time to response head ({@link OriginLatency}), within {@code hedge-min..hedge-max}: about 1 % of
 * requests are hedged whatever the origin's speed, with no delay to tune per origin. The first answer that is not an origin-down failure wins; the other request is
 * interrupted (which closes its socket) and its body, should one still arrive, closed unread.
 * Listings are not hedged.
 *
 * <p>Thread-safety: safe for concurrent use; every method blocks (call it on a virtual thread).
 */
final class ResilientOrigin implements Origin {
    private final String bucket;
    private final OriginResilience policy;
    private final List<OriginEndpoint> endpoints;
    private final OriginEvents events;
    private final ExecutorService hedges = Executors.newVirtualThreadPerTaskExecutor();
    /** Time to response head of GETs and HEADs, for {@code hedge-after: p99}; fed only in that mode. */
    final OriginLatency latency = new OriginLatency();
    /** For requests nobody cancels. */
    private static final BooleanSupplier NEVER = () -> false;

    ResilientOrigin(String bucket, OriginResilience policy, List<OriginEndpoint> endpoints, OriginEvents events) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("a bucket needs at least one origin endpoint");
        }
        this.bucket = bucket;
        this.policy = policy;
        this.endpoints = List.copyOf(endpoints);
        this.events = events;
    }

    /**
     * The origin of {@code b}: one client per endpoint, made by {@code clients} from a copy of
     * {@code b} whose {@code endpoint} is that endpoint.
     */
    static ResilientOrigin of(BucketConfig b, Function<BucketConfig, Origin> clients, OriginEvents events) {
        List<OriginEndpoint> eps = new ArrayList<>();
        for (URI u : b.endpoints()) {
            Origin o = clients.apply(b.toBuilder().endpoint(u).replicas(List.of()).build());
            eps.add(new OriginEndpoint(b.name(), u, o, b.resilience().breaker(), events));
        }
        return new ResilientOrigin(b.name(), b.resilience(), eps, events);
    }

    /** The endpoints in priority order (tests read their breakers' states). */
    List<OriginEndpoint> endpoints() {
        return endpoints;
    }

    @Override
    public OriginResponse get(OriginRequest request) {
        return call(o -> o.get(request));
    }

    @Override
    public OriginResponse head(String key, @Nullable String versionId) {
        return call(o -> o.head(key, versionId));
    }

    @Override
    public OriginResponse headPart(String key, @Nullable String versionId, int partNumber) {
        return call(o -> o.headPart(key, versionId, partNumber));
    }

    @Override
    public ListPage list(ListQuery q) throws OriginFailure.Thrown {
        Listed r = retrying(o -> {
            try {
                return new Listed(o.list(q), null);
            } catch (OriginFailure.Thrown t) {
                return new Listed(null, t.failure());
            }
        }, Listed::failure, f -> new Listed(null, f), 0, deadline(), NEVER);
        OriginFailure f = r.failure();
        if (f != null) {
            throw new OriginFailure.Thrown(f);
        }
        return java.util.Objects.requireNonNull(r.page(), "a listing without a failure has a page");
    }

    /** A listing's outcome, as a value the retry loop can inspect. */
    private record Listed(@Nullable ListPage page, @Nullable OriginFailure failure) {
    }

    /** True when any endpoint answers (probes do not go through, nor move, the breakers). */
    @Override
    public boolean reachable() {
        for (OriginEndpoint e : endpoints) {
            if (e.reachable()) {
                return true;
            }
        }
        return false;
    }

    private OriginResponse call(Function<Origin, OriginResponse> op) {
        long deadline = deadline();
        if (!policy.hedging()) {
            return retrying(op, ResilientOrigin::failureOf, OriginResponse.Failed::new, 0, deadline, NEVER);
        }
        if (policy.hedgeAfter().observed()) {
            op = timed(op);
        }
        return new HedgedCall(op, deadline).run();
    }

    /**
     * {@code op}, feeding {@link #latency} with each attempt's time to its answer (the response
     * head: a GET's body is read later, by the caller). Failures are left out: a timeout or a
     * refused connection says nothing about how long an answer takes.
     */
    private Function<Origin, OriginResponse> timed(Function<Origin, OriginResponse> op) {
        return o -> {
            long t0 = System.nanoTime();
            OriginResponse r = op.apply(o);
            OriginFailure f = failureOf(r);
            if (f == null || !f.originDown()) {
                latency.record(System.nanoTime() - t0);
            }
            return r;
        };
    }

    /**
     * How long a GET or HEAD waits before its hedge, in nanoseconds: {@code hedge-after}, or with
     * {@code hedge-after: p99} the bucket's estimate within {@code hedge-min..hedge-max}
     * ({@code hedge-max} while there is no estimate yet).
     */
    long hedgeDelayNanos() {
        OriginResilience.HedgeAfter h = policy.hedgeAfter();
        if (!h.observed()) {
            return h.delay().toNanos();
        }
        long p99 = latency.p99();
        long max = policy.hedgeMax().toNanos();
        return p99 < 0 ? max : Math.clamp(p99, policy.hedgeMin().toNanos(), max);
    }

    private long deadline() {
        return System.nanoTime() + policy.retryBudget().toNanos();
    }

    static @Nullable OriginFailure failureOf(OriginResponse r) {
        return r instanceof OriginResponse.Failed f ? f.failure() : null;
    }

    /**
     * Attempts {@code op} on the endpoints from {@code first} on, with retries and backoff (see the
     * class comment).
     *
     * @param failureOf the failure a result stands for, or null for an answer
     * @param failed the result that stands for a failure (when no attempt could be made)
     * @param deadline System.nanoTime after which no attempt starts
     * @param cancelled true once nobody waits for the result (a decided hedge race): stop
     */
    private <T> T retrying(Function<Origin, T> op, Function<T, OriginFailure> failureOf,
                           Function<OriginFailure, T> failed, int first, long deadline, BooleanSupplier cancelled) {
        T last = null;
        int attempts = 0;
        int next = first;
        while (true) {
            T r = null;
            int tried = 0;
            // The first endpoint from `next` on whose breaker lets the request through.
            for (; tried < endpoints.size() && r == null; tried++) {
                r = endpoints.get(Math.floorMod(next + tried, endpoints.size())).attempt(op, failureOf, cancelled);
            }
            if (r == null) {
                return last != null ? last : failed.apply(new OriginFailure(OriginFailure.Kind.CIRCUIT_OPEN, 0, null,
                        "origin circuit open: recent requests to " + endpointLabels() + " failed", retryAfterSeconds()));
            }
            next = next + tried; // a retry goes to the endpoint after the one that answered
            attempts++;
            OriginFailure f = failureOf.apply(r);
            if (f == null || !f.retryable() || attempts > policy.retries() || cancelled.getAsBoolean()
                    || Thread.currentThread().isInterrupted()) {
                return r;
            }
            last = r;
            long sleep = backoffNanos(attempts, ThreadLocalRandom.current());
            if (System.nanoTime() + sleep - deadline >= 0) {
                return r;
            }
            try {
                TimeUnit.NANOSECONDS.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // a hedge that lost: stop here
                return r;
            }
            events.retry(bucket, f.kind());
        }
    }

    /** The wait before retry {@code n} (1-based), in nanoseconds: full jitter under an exponential bound. */
    long backoffNanos(int n, RandomGenerator random) {
        long base = policy.backoffBase().toNanos();
        long bound = n >= 32 ? Long.MAX_VALUE : base << Math.min(n - 1, 30);
        if (bound <= 0 || bound > policy.backoffMax().toNanos()) {
            bound = policy.backoffMax().toNanos();
        }
        return random.nextLong(bound + 1);
    }

    /**
     * Seconds until the earliest of the endpoints' breakers goes half open (lets trial requests
     * through), rounded up, at least 1: the {@code Retry-After} of the 503 answered while all are open.
     */
    long retryAfterSeconds() {
        long nanos = Long.MAX_VALUE;
        for (OriginEndpoint e : endpoints) {
            nanos = Math.min(nanos, e.nanosUntilHalfOpen());
        }
        return Math.max(1, (nanos + 999_999_999L) / 1_000_000_000L);
    }

    private String endpointLabels() {
        return endpoints.stream().map(OriginEndpoint::label).toList().toString();
    }

    /**
     * One hedged GET or HEAD: the first request at once, a second after {@code hedge-after} if the
     * first has not answered; the first usable answer wins.
     */
    private final class HedgedCall {
        private final Function<Origin, OriginResponse> op;
        private final long deadline;
        /** The answer that won, or null while the race runs. */
        @GuardedBy("this")
        private @Nullable OriginResponse winner;
        /** True when the hedge's answer won. */
        @GuardedBy("this")
        private boolean hedgeWon;
        /** Requests started whose answer has not come. */
        @GuardedBy("this")
        private int running;
        /** True once a winner is chosen: the other request's outcome is not counted. */
        private volatile boolean decided;

        HedgedCall(Function<Origin, OriginResponse> op, long deadline) {
            this.op = op;
            this.deadline = deadline;
        }

        OriginResponse run() {
            Future<?> second = null;
            OriginResponse r;
            boolean hedge;
            synchronized (this) {
                running = 1;
            }
            Future<?> first = submit(0);
            try {
                synchronized (this) {
                    long until = System.nanoTime() + hedgeDelayNanos();
                    for (long left; winner == null && (left = until - System.nanoTime()) > 0; ) {
                        TimeUnit.NANOSECONDS.timedWait(this, left);
                    }
                    hedge = winner == null;
                    if (hedge) {
                        running++;
                    }
                }
                if (hedge) {
                    events.hedged(bucket);
                    second = submit(1);
                }
                synchronized (this) {
                    while (winner == null) {
                        wait();
                    }
                    r = winner;
                    if (hedge) {
                        events.hedgeWon(bucket, hedgeWon);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                r = new OriginResponse.Failed(new OriginFailure(OriginFailure.Kind.IO, 0, null, "interrupted"));
            }
            // The loser is interrupted: a virtual thread blocked on a socket read has the socket closed.
            first.cancel(true);
            if (second != null) {
                second.cancel(true);
            }
            return r;
        }

        private Future<?> submit(int index) {
            // The hedge's thread carries the client request's id and trace as this one does.
            return hedges.submit(OriginCall.wrap(() -> {
                offer(index, retrying(op, ResilientOrigin::failureOf, OriginResponse.Failed::new, index, deadline,
                        () -> decided));
                return null;
            }));
        }

        /**
         * Takes one request's answer. The first usable answer wins; an origin-down failure wins only
         * when no other request is still running (then it is the last word).
         */
        private void offer(int index, OriginResponse r) {
            boolean lost;
            synchronized (this) {
                running--;
                OriginFailure f = failureOf(r);
                lost = winner != null || f != null && f.originDown() && running > 0;
                if (!lost) {
                    decided = true;
                    winner = r;
                    hedgeWon = index == 1;
                    notifyAll();
                }
            }
            if (lost && r instanceof OriginResponse.Body b) {
                b.close(); // a loser's body: closing it early aborts its connection
            }
        }
    }

    @Override
    public void close() {
        hedges.shutdownNow();
        for (OriginEndpoint e : endpoints) {
            e.close();
        }
    }
}
