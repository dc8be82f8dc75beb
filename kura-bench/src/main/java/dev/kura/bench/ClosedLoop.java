package dev.kura.bench;

import org.jspecify.annotations.Nullable;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Keeps N asynchronous operations in flight for a while and measures them: ops/s, bytes/s, the
 * latency of each operation, and the process's CPU time and context switches over the measured
 * interval.
 *
 * <h2>Design</h2>
 * A closed loop: each of the N slots starts an operation, and when it completes, starts the next
 * one from the completion callback, on whatever thread completed it (a NIO pool thread, an io_uring
 * ring thread). That is how an asynchronous server uses an I/O backend, and it adds no hand-off
 * thread of the benchmark's own, so the context switches counted are the backend's. (An open loop
 * at a fixed rate would measure queueing under overload instead; see Gil Tene on coordinated
 * omission. In a closed loop latency and throughput are tied by Little's law:
 * {@code ops/s ~= N / mean latency}.)
 *
 * <p>The run has a warm-up (JIT compilation, class loading, the backend's threads starting) and then a measured interval. Only operations that <em>complete</em> inside the
 * measured interval are counted, and their latency (from start to completion, nanoseconds) is
 * recorded; {@link ProcessUsage} is read at the interval's two ends by the controlling thread,
 * which only sleeps in between. After the interval the slots stop and the loop waits for the
 * operations still in flight, so no operation outlives {@link #run}.
 *
 * <p>Each slot is started on a short-lived platform thread of its own, which exits as soon as an
 * operation goes asynchronous. An operation that completes synchronously (a memory hit) is looped
 * over on the thread that started it, not recursed into, so the stack does not grow; a purely
 * synchronous workload thus runs on N benchmark threads. The first failure stops the run;
 * {@link Result#error()} carries it.
 *
 * <h2>Usage</h2>
 * <pre>{@code
 * ClosedLoop.Result r = ClosedLoop.run(32, Duration.ofSeconds(1), Duration.ofSeconds(5),
 *         (slot, seq) -> file.readAsync(buffers[slot], offsetOf(seq)));
 * report.add(BenchRow.of("cold rand 4k", "nio", 32, r, ""));
 * }</pre>
 * The operation gets its slot number (0..N-1, so each slot can own a buffer) and a sequence number
 * unique across slots (for sequential offsets). It must not block: it may be called on a backend's
 * completion thread. Its future gives the bytes transferred.
 *
 * <p>Thread-safety: {@link #run} may be called from any platform thread; it blocks until done.
 */
public final class ClosedLoop {

    /** Starts one operation. */
    @FunctionalInterface
    public interface Operation {
        /**
         * @param slot which of the N slots this is, 0..N-1; one slot has one operation in flight at a time
         * @param seq a number unique to this operation, counting from 0 across all slots
         * @return the operation's future, giving the number of bytes it transferred
         */
        CompletableFuture<? extends Number> start(int slot, long seq);
    }

    /**
     * What a run measured.
     *
     * @param ops operations completed in the measured interval
     * @param bytes bytes those operations transferred
     * @param seconds length of the measured interval
     * @param latency their latencies
     * @param usage the process's CPU time and context switches over the interval
     * @param error the first failure, which stopped the run, or null
     */
    public record Result(long ops, long bytes, double seconds, LatencySummary latency, ProcessUsage usage,
                         @Nullable Throwable error) {
        public double opsPerSecond() {
            return seconds > 0 ? ops / seconds : Double.NaN;
        }

        /** Megabytes (10^6 bytes) per second. */
        public double megabytesPerSecond() {
            return seconds > 0 ? bytes / seconds / 1e6 : Double.NaN;
        }

        public double cpuUsPerOp() {
            return usage.cpuMicrosPer(ops);
        }

        public double ctxSwitchesPerOp() {
            return usage.ctxSwitchesPer(ops);
        }

        /** {@code "usr/sys 1.20/3.40 us/op"}: where the CPU time went. */
        public String cpuSplit() {
            if (ops == 0) {
                return "";
            }
            return String.format(Locale.ROOT, "usr/sys %.2f/%.2f us/op", usage.userNanos() / 1e3 / ops,
                    usage.systemNanos() / 1e3 / ops);
        }
    }

    private static final int WARMUP = 0;
    private static final int MEASURE = 1;
    private static final int STOP = 2;

    private final Operation op;
    private final LatencyRecorder latency = new LatencyRecorder();
    private final LongAdder ops = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final AtomicLong seq = new AtomicLong();
    private final AtomicReference<Throwable> error = new AtomicReference<>();
    private final CountDownLatch stopped;
    private volatile int phase = WARMUP;

    private ClosedLoop(int inflight, Operation op) {
        this.op = op;
        this.stopped = new CountDownLatch(inflight);
    }

    /**
     * Runs {@code op} with {@code inflight} operations outstanding: {@code warmup}, then
     * {@code measure}, then waits up to 60 s for the operations still in flight.
     *
     * @throws IllegalArgumentException when {@code inflight < 1} or {@code measure} is not positive
     * @throws IllegalStateException when operations are still in flight 60 s after the end
     */
    public static Result run(int inflight, Duration warmup, Duration measure, Operation op) throws InterruptedException {
        if (inflight < 1 || measure.isZero() || measure.isNegative()) {
            throw new IllegalArgumentException("need inflight >= 1 and a positive measured interval");
        }
        ClosedLoop loop = new ClosedLoop(inflight, op);
        for (int s = 0; s < inflight; s++) {
            // each slot starts on a thread of its own: an operation that completes synchronously keeps
            // its slot looping on the thread that started it, which must not be this controlling thread
            int slot = s;
            Thread.ofPlatform().daemon().name("kura-bench-slot-" + s).start(() -> loop.drive(slot));
        }
        if (!warmup.isZero() && !warmup.isNegative()) {
            sleepUnlessFailed(loop, warmup);
        }
        ProcessUsage u0 = ProcessUsage.now();
        long t0 = System.nanoTime();
        loop.latency.reset();
        if (loop.error.get() == null) {
            loop.phase = MEASURE;
        }
        sleepUnlessFailed(loop, measure);
        loop.phase = STOP;
        long t1 = System.nanoTime();
        ProcessUsage used = ProcessUsage.now().minus(u0);
        if (!loop.stopped.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException(loop.stopped.getCount() + " operations still in flight 60 s after the run");
        }
        return new Result(loop.ops.sum(), loop.bytes.sum(), (t1 - t0) / 1e9, loop.latency.summary(), used,
                loop.error.get());
    }

    private static void sleepUnlessFailed(ClosedLoop loop, Duration d) throws InterruptedException {
        long end = System.nanoTime() + d.toNanos();
        long left;
        while ((left = end - System.nanoTime()) > 0 && loop.error.get() == null) {
            TimeUnit.NANOSECONDS.sleep(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
        }
    }

    /** Starts operations for {@code slot} until one is left in flight or the run stops. */
    private void drive(int slot) {
        while (true) {
            if (phase == STOP) {
                stopped.countDown();
                return;
            }
            long t0 = System.nanoTime();
            long n = nextSeq();
            CompletableFuture<? extends Number> f;
            try {
                f = op.start(slot, n);
            } catch (Throwable e) {
                fail(e);
                stopped.countDown();
                return;
            }
            if (f.isDone()) {
                if (!complete(t0, f)) {
                    stopped.countDown();
                    return;
                }
                continue;
            }
            f.whenComplete((v, e) -> {
                if (complete(t0, f)) {
                    drive(slot);
                } else {
                    stopped.countDown();
                }
            });
            return;
        }
    }

    private long nextSeq() {
        return seq.getAndIncrement();
    }

    /** Accounts a completed operation; false when the slot should stop. */
    private boolean complete(long t0, CompletableFuture<? extends Number> f) {
        long t1 = System.nanoTime();
        Number n;
        try {
            n = f.join();
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
            fail(e.getCause() != null ? e.getCause() : e);
            return false;
        }
        if (phase == MEASURE) {
            latency.record(t1 - t0);
            ops.increment();
            bytes.add(n == null ? 0 : n.longValue());
        }
        return phase != STOP;
    }

    private void fail(Throwable e) {
        error.compareAndSet(null, e);
        phase = STOP;
    }
}
