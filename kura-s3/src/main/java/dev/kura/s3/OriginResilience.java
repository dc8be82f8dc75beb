package dev.kura.s3;

import org.jspecify.annotations.Nullable;

import java.time.Duration;

/**
 * The {@code resilience:} section of one {@code serve.buckets[]} entry: how kura retries, fails
 * over and hedges origin requests of that bucket. Every key is documented in {@code docs/CONFIG.md}.
 *
 * <p>Retries cover only requests that failed before the response head arrived (connection refused
 * or reset, a 500/502/503/504 including S3's {@code SlowDown}), never a body already being sent to
 * a client (a body cut mid-way resumes with a ranged {@code If-Match} GET instead). The AWS SDK's
 * own retries stay off, so that this is the one layer that retries (and its breaker sees every
 * attempt).
 *
 * @param retries retries after the first attempt, across the bucket's endpoints ({@code retries});
 *     0..10, default 2 (three attempts at most)
 * @param retryBudget no attempt starts later than this after the request's first one, and no
 *     backoff sleeps past it ({@code retry-budget}); default 10 s
 * @param backoffBase the first retry waits a random time in [0, base] (full jitter), each further
 *     one doubles the bound ({@code backoff-base}); default 100 ms
 * @param backoffMax the bound of the wait before any retry ({@code backoff-max}); default 2 s
 * @param breaker the circuit breaker of each origin endpoint ({@code breaker}); on by default
 * @param hedgeAfter when the first attempt has no answer after this long, a second request goes to
 *     the next endpoint (or the same one) and the first answer wins ({@code hedge-after}): a
 *     duration, or {@code p99} (alias {@code auto}) for the bucket's observed 99th percentile of
 *     origin time to response head, bounded by {@code hedge-min} and {@code hedge-max}; 0 or
 *     unset turns hedging off (the default)
 * @param hedgeMin with {@code hedge-after: p99}, the shortest wait before a hedge
 *     ({@code hedge-min}); default 10 ms
 * @param hedgeMax with {@code hedge-after: p99}, the longest wait before a hedge, and the wait
 *     used until the bucket has an estimate (its first 20 answers) ({@code hedge-max}); default 2 s
 *
 * <p>Thread-safety: immutable.
 */
public record OriginResilience(Integer retries, Duration retryBudget, Duration backoffBase, Duration backoffMax,
                               Breaker breaker, HedgeAfter hedgeAfter, Duration hedgeMin, Duration hedgeMax) {

    /**
     * The canonical constructor; a null argument is a key left unset and takes its default.
     *
     * @throws IllegalArgumentException naming the key of a nonsense value
     */
    public OriginResilience(@Nullable Integer retries, @Nullable Duration retryBudget, @Nullable Duration backoffBase,
                            @Nullable Duration backoffMax, @Nullable Breaker breaker, @Nullable HedgeAfter hedgeAfter,
                            @Nullable Duration hedgeMin, @Nullable Duration hedgeMax) {
        if (retries == null) {
            retries = 2;
        }
        if (retries < 0 || retries > 10) {
            throw new IllegalArgumentException("resilience.retries must be 0..10, was " + retries);
        }
        retryBudget = positive(retryBudget, Duration.ofSeconds(10), "retry-budget");
        backoffBase = positive(backoffBase, Duration.ofMillis(100), "backoff-base");
        backoffMax = positive(backoffMax, Duration.ofSeconds(2), "backoff-max");
        if (backoffMax.compareTo(backoffBase) < 0) {
            throw new IllegalArgumentException("resilience.backoff-max must be >= backoff-base, was " + backoffMax);
        }
        if (breaker == null) {
            breaker = Breaker.defaults();
        }
        if (hedgeAfter == null) {
            hedgeAfter = HedgeAfter.OFF;
        }
        hedgeMin = positive(hedgeMin, Duration.ofMillis(10), "hedge-min");
        hedgeMax = positive(hedgeMax, Duration.ofSeconds(2), "hedge-max");
        if (hedgeMax.compareTo(hedgeMin) < 0) {
            throw new IllegalArgumentException("resilience.hedge-max must be >= hedge-min, was " + hedgeMax);
        }
        this.retries = retries;
        this.retryBudget = retryBudget;
        this.backoffBase = backoffBase;
        this.backoffMax = backoffMax;
        this.breaker = breaker;
        this.hedgeAfter = hedgeAfter;
        this.hedgeMin = hedgeMin;
        this.hedgeMax = hedgeMax;
    }

    /** As the canonical constructor with a fixed {@code hedge-after} (null or 0: off) and default bounds. */
    public OriginResilience(@Nullable Integer retries, @Nullable Duration retryBudget, @Nullable Duration backoffBase,
                            @Nullable Duration backoffMax, @Nullable Breaker breaker, @Nullable Duration hedgeAfter) {
        this(retries, retryBudget, backoffBase, backoffMax, breaker,
                hedgeAfter == null ? null : HedgeAfter.fixed(hedgeAfter), null, null);
    }

    private static Duration positive(@Nullable Duration d, Duration dflt, String key) {
        if (d == null) {
            return dflt;
        }
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("resilience." + key + " must be > 0, was " + d);
        }
        return d;
    }

    /** Every key at its default: 2 retries within 10 s, breaker on, no hedging. */
    public static OriginResilience defaults() {
        return new OriginResilience(null, null, null, null, null, null, null, null);
    }

    /** True when a second request is sent after {@link #hedgeAfter()}. */
    public boolean hedging() {
        return hedgeAfter.on();
    }

    /**
     * The {@code hedge-after} key: a fixed delay, or the observed 99th percentile ({@code p99},
     * {@code auto}).
     *
     * @param delay the fixed delay; zero when off or observed
     * @param observed true for {@code p99}: the bucket's running estimate, within
     *     {@code hedge-min..hedge-max}
     *
     * <p>Thread-safety: immutable.
     */
    public record HedgeAfter(Duration delay, boolean observed) {
        /** Hedging off. */
        public static final HedgeAfter OFF = new HedgeAfter(Duration.ZERO, false);
        /** {@code hedge-after: p99}. */
        public static final HedgeAfter P99 = new HedgeAfter(Duration.ZERO, true);

        /** @throws IllegalArgumentException for a negative delay, or a delay with {@code observed} */
        public HedgeAfter {
            if (delay == null || delay.isNegative()) {
                throw new IllegalArgumentException("resilience.hedge-after must be >= 0, was " + delay);
            }
            if (observed && !delay.isZero()) {
                throw new IllegalArgumentException("resilience.hedge-after: p99 takes no duration");
            }
        }

        /** A fixed delay (0: off). */
        public static HedgeAfter fixed(Duration d) {
            return new HedgeAfter(d, false);
        }

        /**
         * Parses the YAML value: {@code p99} or {@code auto} (any case), or a duration as
         * {@link dev.kura.config.Durations} reads it ({@code 300ms}, {@code 0}).
         *
         * @throws IllegalArgumentException for anything else
         */
        @com.fasterxml.jackson.annotation.JsonCreator(mode = com.fasterxml.jackson.annotation.JsonCreator.Mode.DELEGATING)
        public static HedgeAfter parse(String text) {
            String t = text.trim().toLowerCase(java.util.Locale.ROOT);
            if (t.equals("p99") || t.equals("auto")) {
                return P99;
            }
            try {
                return fixed(dev.kura.config.Durations.parse(t));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("resilience.hedge-after must be a duration (e.g. 300ms), p99 or "
                        + "auto, was '" + text + "'", e);
            }
        }

        /** True unless hedging is off. */
        public boolean on() {
            return observed || !delay.isZero();
        }
    }

    /**
     * The {@code resilience.breaker:} section: a circuit breaker per origin endpoint
     * (resilience4j's count-based sliding window). It opens when at least {@code failureRate}
     * percent of the last {@code window} attempts (once {@code minimumCalls} were made) failed with
     * the origin down (unreachable, reset, timed out, 5xx); while open, no request goes to that
     * endpoint: the next replica is asked, or the request is answered at once (stale-if-error or
     * 503 ServiceUnavailable). After {@code openFor} it lets {@code halfOpenCalls} trial requests
     * through and closes when they succeed.
     *
     * @param enabled false turns the breaker off ({@code enabled}); default true
     * @param failureRate percent of failed attempts that opens it, 1..100 ({@code failure-rate}); default 50
     * @param minimumCalls attempts needed before the rate counts ({@code minimum-calls}); default 10
     * @param window attempts the rate is computed over ({@code window}); default 20
     * @param openFor how long it stays open before trial requests ({@code open-for}); default 10 s
     * @param halfOpenCalls trial requests when half open ({@code half-open-calls}); default 2
     */
    public record Breaker(Boolean enabled, Integer failureRate, Integer minimumCalls, Integer window,
                          Duration openFor, Integer halfOpenCalls) {

        /**
         * The canonical constructor; a null argument is a key left unset and takes its default.
         *
         * @throws IllegalArgumentException naming the key of a nonsense value
         */
        public Breaker(@Nullable Boolean enabled, @Nullable Integer failureRate, @Nullable Integer minimumCalls,
                       @Nullable Integer window, @Nullable Duration openFor, @Nullable Integer halfOpenCalls) {
            if (enabled == null) {
                enabled = Boolean.TRUE;
            }
            this.enabled = enabled;
            this.failureRate = range(failureRate, 50, 1, 100, "failure-rate");
            this.minimumCalls = range(minimumCalls, 10, 1, 10_000, "minimum-calls");
            this.window = range(window, 20, 1, 10_000, "window");
            this.halfOpenCalls = range(halfOpenCalls, 2, 1, 1000, "half-open-calls");
            this.openFor = positive(openFor, Duration.ofSeconds(10), "breaker.open-for");
        }

        private static int range(@Nullable Integer v, int dflt, int min, int max, String key) {
            int x = v == null ? dflt : v;
            if (x < min || x > max) {
                throw new IllegalArgumentException("resilience.breaker." + key + " must be " + min + ".." + max
                        + ", was " + x);
            }
            return x;
        }

        /** Every key at its default. */
        public static Breaker defaults() {
            return new Breaker(null, null, null, null, null, null);
        }
    }
}
