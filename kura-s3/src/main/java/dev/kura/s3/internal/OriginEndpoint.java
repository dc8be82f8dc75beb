package dev.kura.s3.internal;

import dev.kura.s3.OriginResilience;
import dev.kura.s3.internal.OriginEvents.BreakerState;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import org.jspecify.annotations.Nullable;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import org.jspecify.annotations.Nullable;

import java.net.URI;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * One origin endpoint of a bucket (its {@code endpoint} or one of its {@code replicas}) with its
 * circuit breaker: resilience4j's count-based breaker, fed with the outcome of every attempt.
 *
 * <p>Why a breaker per endpoint and not per bucket: a bucket with replicas must stop sending to a
 * dead primary while its replicas still serve. What counts as a failure is an origin that is down
 * ({@link OriginFailure#originDown()}: refused, reset, timed out, 5xx); a 404 or a 412 is the
 * endpoint answering, a success. The outcome is the response head's: a body cut later is the
 * streamer's business (it resumes with a ranged GET), not the breaker's.
 *
 * <p>Thread-safety: safe for concurrent use (resilience4j's breaker is lock-free).
 */
final class OriginEndpoint implements AutoCloseable {
    private final String bucket;
    private final String label;
    private final Origin origin;
    /** Null when the bucket's breaker is turned off. */
    private final @Nullable CircuitBreaker breaker;
    private final OriginEvents events;
    /** How long the breaker stays open before trial requests (the bucket's {@code breaker.open-for}), nanoseconds. */
    private final long openForNanos;
    /** System.nanoTime when the breaker last opened; written by its transition listener. */
    private volatile long openedAt;

    OriginEndpoint(String bucket, URI endpoint, Origin origin, OriginResilience.Breaker cfg, OriginEvents events) {
        this.bucket = bucket;
        this.label = label(endpoint);
        this.origin = origin;
        this.events = events;
        this.openForNanos = cfg.openFor().toNanos();
        if (cfg.enabled()) {
            CircuitBreakerConfig c = CircuitBreakerConfig.custom()
                    .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                    .slidingWindowSize(cfg.window())
                    .minimumNumberOfCalls(Math.min(cfg.minimumCalls(), cfg.window()))
                    .failureRateThreshold(cfg.failureRate())
                    .waitDurationInOpenState(cfg.openFor())
                    .permittedNumberOfCallsInHalfOpenState(cfg.halfOpenCalls())
                    .build();
            this.breaker = CircuitBreaker.of(bucket + "@" + label, c);
            breaker.getEventPublisher().onStateTransition(e -> {
                BreakerState to = state(e.getStateTransition().getToState());
                if (to == BreakerState.OPEN) {
                    openedAt = System.nanoTime();
                }
                events.transition(bucket, label, to);
            });
            events.breaker(bucket, label, () -> state(breaker.getState()));
        } else {
            this.breaker = null;
        }
    }

    private static BreakerState state(CircuitBreaker.State s) {
        return switch (s) {
            case OPEN, FORCED_OPEN -> BreakerState.OPEN;
            case HALF_OPEN -> BreakerState.HALF_OPEN;
            default -> BreakerState.CLOSED;
        };
    }

    /** The endpoint's label in metrics and logs: {@code host:port}, or {@code aws}. */
    static String label(URI endpoint) {
        if (endpoint == null) {
            return "aws";
        }
        int port = endpoint.getPort() >= 0 ? endpoint.getPort() : "https".equals(endpoint.getScheme()) ? 443 : 80;
        return endpoint.getHost() + ":" + port;
    }

    String label() {
        return label;
    }

    Origin origin() {
        return origin;
    }

    /** The breaker's state now; {@code CLOSED} when the breaker is off. */
    BreakerState state() {
        return breaker == null ? BreakerState.CLOSED : state(breaker.getState());
    }

    /**
     * Nanoseconds until the breaker lets trial requests through: 0 unless it is open. resilience4j
     * keeps its own deadline private; this one starts at the same transition, so it is at most a
     * few microseconds late.
     */
    long nanosUntilHalfOpen() {
        if (state() != BreakerState.OPEN) {
            return 0;
        }
        return Math.max(0, openForNanos - (System.nanoTime() - openedAt));
    }

    /**
     * Sends one request through the breaker.
     *
     * @param failureOf the failure a result stands for, or null for an answer
     * @param cancelled true once nobody waits for the result (a hedge race was decided): such an
     *     outcome says nothing about the endpoint and is not counted by the breaker
     * @return the result, or null when the breaker did not let the request through (nothing sent)
     */
    <T> @Nullable T attempt(Function<Origin, T> call, Function<T, @Nullable OriginFailure> failureOf,
                              BooleanSupplier cancelled) {
        if (breaker != null && !breaker.tryAcquirePermission()) {
            events.skipped(bucket, label);
            return null;
        }
        long t0 = System.nanoTime();
        OriginCall c = OriginCall.current();
        Tracing.Parent tp = c == null ? null : c.trace();
        Span span = null;
        T r;
        try {
            if (c == null || tp == null) {
                r = call.apply(origin);
            } else {
                // One client span per attempt; the origin sees it as the traceparent's parent id.
                Span s = tp.start("origin " + c.operation(), SpanKind.CLIENT);
                s.setAttribute(Tracing.ENDPOINT, label);
                s.setAttribute(Tracing.BUCKET, bucket);
                span = s;
                r = c.trace(tp.under(s)).bind(() -> call.apply(origin));
            }
        } catch (RuntimeException e) {
            if (breaker != null) {
                breaker.releasePermission();
            }
            if (span != null) {
                span.recordException(e);
                span.end();
            }
            throw e;
        }
        long nanos = System.nanoTime() - t0;
        if (cancelled.getAsBoolean() || Thread.currentThread().isInterrupted()) {
            // Cancelled (a hedge that lost): says nothing about the endpoint.
            if (breaker != null) {
                breaker.releasePermission();
            }
            events.attempt(bucket, label, "cancelled");
            endSpan(span, "cancelled", false);
            return r;
        }
        OriginFailure f = failureOf.apply(r);
        events.attempt(bucket, label, f == null ? "ok" : f.kind().label());
        endSpan(span, f == null ? "ok" : f.kind().label(), f != null && f.originDown());
        if (breaker != null) {
            if (f != null && f.originDown()) {
                breaker.onError(nanos, TimeUnit.NANOSECONDS, new OriginFailure.Thrown(f));
            } else {
                breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
            }
        }
        return r;
    }

    private static void endSpan(@Nullable Span span, String outcome, boolean error) {
        if (span != null) {
            span.setAttribute(Tracing.OUTCOME, outcome);
            if (error) {
                span.setStatus(StatusCode.ERROR);
            }
            span.end();
        }
    }

    /** Refuses nothing and records nothing: for probes ({@code /ready}) that must not move the breaker. */
    boolean reachable() {
        return origin.reachable();
    }

    @Override
    public void close() {
        origin.close();
    }
}
