package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What {@code /ready} answers, from a check of every bucket's origin that runs in the background
 * every {@link #INTERVAL}, never per call: a probe that makes origin requests per call lets
 * anyone who can reach it multiply load on the origin (the issue counted two origin requests per
 * {@code /ready}). The checks start with the first {@code /ready} call (a node nobody probes makes
 * no probe traffic) and then run every {@link #INTERVAL}. Before the first check has finished the
 * answer is {@link State#CHECKING}; from
 * the start of a graceful stop it is {@link State#DRAINING}, so that a load balancer takes the node
 * out before its data listener closes.
 *
 * <p>Thread-safety: the snapshot is immutable and published through a volatile field; one
 * platform thread runs the checks.
 */
final class Readiness implements AutoCloseable {
    /** How often the origins are checked. */
    static final Duration INTERVAL = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(Readiness.class);

    /** The node's readiness. */
    enum State {
        /** No check has finished yet. */
        CHECKING,
        /** Every origin answered the last check. */
        READY,
        /** At least one origin did not answer the last check. */
        ORIGIN_UNREACHABLE,
        /** A graceful stop has begun. */
        DRAINING
    }

    /** The outcome of the last check: each bucket name and whether its origin answered. */
    record Snapshot(State state, Map<String, Boolean> origins, @Nullable Instant checkedAt) {
        boolean ready() {
            return state == State.READY;
        }
    }

    /** The current routes (a reload changes them; each check takes them anew). */
    private final java.util.function.Supplier<List<ProxyCore.Route>> routes;
    private final ScheduledExecutorService timer;
    private volatile Snapshot last = new Snapshot(State.CHECKING, Map.of(), null);
    private volatile boolean draining;
    private final java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();

    Readiness(java.util.function.Supplier<List<ProxyCore.Route>> routes) {
        this.routes = routes;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kura-ready-check");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts the background checks (the first one at once); idempotent. */
    void start() {
        if (started.compareAndSet(false, true)) {
            timer.scheduleWithFixedDelay(this::check, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void check() {
        try {
            Map<String, Boolean> m = new LinkedHashMap<>();
            boolean all = true;
            for (ProxyCore.Route r : routes.get()) {
                boolean ok = r.origin().reachable();
                all &= ok;
                m.put(r.bucket().name(), ok);
            }
            Snapshot prev = last;
            last = new Snapshot(all ? State.READY : State.ORIGIN_UNREACHABLE, Map.copyOf(m), Instant.now());
            if (prev.state() != last.state()) {
                log.info("readiness: {} {}", last.state(), m);
            }
        } catch (RuntimeException e) {
            log.warn("readiness check failed: {}", e.toString());
        }
    }

    /** The answer for {@code /ready} now. */
    Snapshot snapshot() {
        start();
        Snapshot s = last;
        return draining ? new Snapshot(State.DRAINING, s.origins(), s.checkedAt()) : s;
    }

    /** From now on {@code /ready} answers 503 {@code DRAINING}. */
    void drain() {
        draining = true;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
