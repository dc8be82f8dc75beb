package dev.kura.s3.internal.shared;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The shared tier's meters, in the proxy's registry beside the local tiers' (so {@code /metrics}
 * on the ops listener shows them):
 * <ul>
 *   <li>{@code kura_cache_hits_total{tier="shared"}}, {@code kura_cache_misses_total{tier="shared"}}:
 *       lookups answered with a verified value, and without one (errors and skips included), named
 *       as the memory and disk tiers' counters;</li>
 *   <li>{@code kura_shared_lookups_seconds} by {@code outcome} ({@link Outcome}): lookup latency;</li>
 *   <li>{@code kura_shared_errors_total} by {@code kind} ({@link ErrorKind}): timeouts, errors,
 *       no connection, corrupt values;</li>
 *   <li>{@code kura_shared_bytes_total} by {@code direction} ({@code read}, {@code written}): body
 *       bytes served from and written to the tier;</li>
 *   <li>{@code kura_shared_writes_total} by {@code outcome} ({@link WriteOutcome});</li>
 *   <li>{@code kura_shared_breaker_state} by {@code state} ({@code closed}, {@code open},
 *       {@code half_open}; 1 for the current state) and {@code kura_shared_breaker_skips_total}:
 *       calls not made because the breaker was open;</li>
 *   <li>{@code kura_shared_connected}: 1 while the connection to the server is up.</li>
 * </ul>
 *
 * <p>Thread-safety: safe for concurrent use (Micrometer meters).
 */
final class SharedMetrics {
    /** How a lookup ended. */
    enum Outcome { HIT, MISS, ERROR, SKIPPED }

    /** Why a call failed or a value was refused. */
    enum ErrorKind { TIMEOUT, ERROR, UNAVAILABLE, CORRUPT }

    /** How a write ended. */
    enum WriteOutcome {
        /** Stored. */
        OK,
        /** The server failed or timed out. */
        ERROR,
        /** Not sent: too many writes in flight, the breaker open, or no connection. */
        DROPPED
    }

    private final Counter hits;
    private final Counter misses;
    /** By ordinal of {@link Outcome}, {@link ErrorKind}, {@link WriteOutcome}: every slot set in the constructor. */
    private final Timer[] lookups = new Timer[Outcome.values().length];
    private final Counter[] errors = new Counter[ErrorKind.values().length];
    private final Counter[] writes = new Counter[WriteOutcome.values().length];
    private final Counter bytesRead;
    private final Counter bytesWritten;
    private final Counter skips;

    SharedMetrics(MeterRegistry registry, CircuitBreaker breaker, java.util.function.BooleanSupplier connected,
                  Duration[] latencyBuckets) {
        Gauge.builder("kura.shared.connected", connected, c -> c.getAsBoolean() ? 1 : 0)
                .description("1 while the connection to the shared tier's server is up").register(registry);
        hits = Counter.builder("kura.cache.hits").tag("tier", "shared").register(registry);
        misses = Counter.builder("kura.cache.misses").tag("tier", "shared").register(registry);
        for (Outcome o : Outcome.values()) {
            lookups[o.ordinal()] = Timer.builder("kura.shared.lookups").description("shared tier lookups, by outcome")
                    .tag("outcome", label(o)).serviceLevelObjectives(latencyBuckets).register(registry);
        }
        for (ErrorKind k : ErrorKind.values()) {
            errors[k.ordinal()] = Counter.builder("kura.shared.errors")
                    .description("shared tier calls that failed or timed out, and values refused as corrupt")
                    .tag("kind", label(k)).register(registry);
        }
        for (WriteOutcome w : WriteOutcome.values()) {
            writes[w.ordinal()] = Counter.builder("kura.shared.writes").description("objects written to the shared tier")
                    .tag("outcome", label(w)).register(registry);
        }
        bytesRead = Counter.builder("kura.shared.bytes").description("object bytes read from or written to the shared tier")
                .tag("direction", "read").register(registry);
        bytesWritten = Counter.builder("kura.shared.bytes").tag("direction", "written").register(registry);
        skips = Counter.builder("kura.shared.breaker.skips")
                .description("shared tier calls not made because its circuit breaker was open").register(registry);
        for (CircuitBreaker.State st : new CircuitBreaker.State[] {CircuitBreaker.State.CLOSED,
                CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN}) {
            Gauge.builder("kura.shared.breaker.state", breaker, b -> b.getState() == st ? 1 : 0)
                    .description("circuit breaker state of the shared tier: 1 for the current state")
                    .tag("state", label(st)).register(registry);
        }
    }

    void lookup(Outcome o, long nanos) {
        lookups[o.ordinal()].record(nanos, TimeUnit.NANOSECONDS);
        if (o == Outcome.HIT) {
            hits.increment();
        } else {
            misses.increment();
        }
    }

    void error(ErrorKind k) {
        errors[k.ordinal()].increment();
    }

    void write(WriteOutcome w, long bytes) {
        writes[w.ordinal()].increment();
        if (w == WriteOutcome.OK) {
            bytesWritten.increment(bytes);
        }
    }

    void read(long bytes) {
        bytesRead.increment(bytes);
    }

    void skipped() {
        skips.increment();
    }

    private static String label(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
