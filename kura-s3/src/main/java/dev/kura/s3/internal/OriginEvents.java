package dev.kura.s3.internal;

import java.util.function.Supplier;

/**
 * What {@link ResilientOrigin} reports about its origin attempts, for metrics ({@link ProxyMetrics}
 * implements it). Labels: the bucket's name and an endpoint's label ({@code host:port}, or
 * {@code aws} for AWS's own endpoint): both from the config, so their sets are bounded.
 *
 * <p>Thread-safety: implementations are safe for concurrent use.
 */
interface OriginEvents {

    /** Reports nothing (tftp.source, tests). */
    OriginEvents NONE = new OriginEvents() {
    };

    /** One request sent to {@code endpoint}; {@code outcome} is {@code ok} or a failure kind's label. */
    default void attempt(String bucket, String endpoint, String outcome) {
    }

    /** A retry is about to be sent (after a backoff) because the previous attempt failed with {@code kind}. */
    default void retry(String bucket, OriginFailure.Kind kind) {
    }

    /** {@code endpoint} was skipped because its circuit breaker is open. */
    default void skipped(String bucket, String endpoint) {
    }

    /** A circuit breaker was made; {@code state} reads its current state (for a gauge). */
    default void breaker(String bucket, String endpoint, Supplier<BreakerState> state) {
    }

    /** A circuit breaker went to {@code to}. */
    default void transition(String bucket, String endpoint, BreakerState to) {
    }

    /** A hedged (second) request was sent; later, {@link #hedgeWon} says whether it won. */
    default void hedged(String bucket) {
    }

    /** The race of a hedged request ended: {@code hedge} true when the second request's answer was used. */
    default void hedgeWon(String bucket, boolean hedge) {
    }

    /** The states of an endpoint's circuit breaker (resilience4j's, the ones kura uses). */
    enum BreakerState {
        /** Requests go through; failures are counted. */
        CLOSED,
        /** No request goes to the endpoint until {@code open-for} has passed. */
        OPEN,
        /** A few trial requests go through; their outcome closes or reopens it. */
        HALF_OPEN;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
