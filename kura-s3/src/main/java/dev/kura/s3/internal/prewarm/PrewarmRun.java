package dev.kura.s3.internal.prewarm;

import dev.kura.s3.PrewarmJob;
import dev.kura.s3.PrewarmProgress;
import dev.kura.s3.PrewarmRequest;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.config.LogRateLimiter;
import dev.kura.s3.internal.Warmer;
import dev.kura.s3.internal.api.ListPage;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One prewarm job: lists a prefix at the bucket's origin (ListObjectsV2, every page) and fills the
 * cache with each object through {@link Warmer} (the serving fill path), at most
 * {@code concurrency} at a time and within the job's byte rate ({@link BytePacer}).
 *
 * <p>Design. One virtual thread lists, page by page, and hands each object to a virtual thread of
 * its own once one of {@code concurrency} permits is free, so a listing of millions of keys holds
 * at most one page and {@code concurrency} objects in memory. The worker skips an object the cache
 * holds fresh (the serving rules' freshness: no origin request, no byte charged), otherwise waits
 * for the byte allowance and fills it. One object's failure is counted and logged (rate-limited)
 * and the job goes on; a failed listing page ends the job ({@link PrewarmProgress.State#FAILED}).
 * Cancelling stops new objects from starting; those in flight finish (their fills are shared with
 * clients' requests and must not be cut under them).
 *
 * <p>Thread-safety: counters are atomics; the state is an {@link AtomicReference}; safe for
 * concurrent use.
 */
public final class PrewarmRun implements PrewarmJob {
    private static final Logger log = LoggerFactory.getLogger(PrewarmRun.class);

    private final String id;
    private final PrewarmRequest request;
    private final Warmer warmer;
    private final @Nullable BytePacer pacer;
    /** One failure line per 10 s per job: a prefix of a million broken keys must not flood the log. */
    private final LogRateLimiter failures = new LogRateLimiter(1, Duration.ofSeconds(10));
    private final long startNanos = System.nanoTime();
    private final AtomicReference<PrewarmProgress.State> state = new AtomicReference<>(PrewarmProgress.State.RUNNING);
    private final CountDownLatch finished = new CountDownLatch(1);
    private final AtomicLong listed = new AtomicLong();
    private final AtomicLong listedBytes = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    /** Listed bytes of objects done, skipped or failed, for the ETA. */
    private final AtomicLong handledBytes = new AtomicLong();
    private volatile boolean listingComplete;
    private volatile long endNanos;
    /** The first failures ({@link PrewarmProgress#MAX_ERRORS} at most). */
    @GuardedBy("errors")
    private final List<String> errors = new ArrayList<>();

    PrewarmRun(String id, PrewarmRequest request, Warmer warmer) {
        this.id = id;
        this.request = request;
        this.warmer = warmer;
        this.pacer = request.bytesPerSecond() == null ? null : new BytePacer(request.bytesPerSecond());
    }

    /** Starts the job on a virtual thread. */
    PrewarmRun start() {
        Thread.ofVirtual().name("kura-prewarm-" + id).start(this::run);
        return this;
    }

    private void run() {
        Semaphore slots = new Semaphore(request.concurrency());
        PrewarmProgress.State end = PrewarmProgress.State.DONE;
        log.info("prewarm {}: bucket {} prefix '{}', concurrency {}, rate {}{}", id, request.bucket(), request.prefix(),
                request.concurrency(), request.bytesPerSecond() == null ? "unlimited" : request.bytesPerSecond() + " B/s",
                request.dryRun() ? ", dry run" : "");
        try {
            String token = null;
            do {
                if (cancelled()) {
                    break;
                }
                ListPage page = warmer.list(request.bucket(), request.prefix(), token);
                for (ListPage.ObjectSummary o : page.objects()) {
                    if (o.key().endsWith("/") && o.size() == 0) {
                        continue; // a "folder" marker, not an object anyone reads
                    }
                    slots.acquire();
                    if (cancelled()) {
                        slots.release();
                        break;
                    }
                    listed.incrementAndGet();
                    listedBytes.addAndGet(o.size());
                    Thread.ofVirtual().name("kura-prewarm-" + id + "-object").start(() -> {
                        try {
                            one(o);
                        } finally {
                            slots.release();
                        }
                    });
                }
                token = page.truncated() ? page.next() : null;
            } while (token != null && !cancelled());
            listingComplete = !cancelled();
        } catch (java.io.IOException | RuntimeException e) {
            end = PrewarmProgress.State.FAILED;
            error("(listing)", e.getMessage() == null ? e.toString() : e.getMessage());
            log.warn("prewarm {}: {}", id, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            state.compareAndSet(PrewarmProgress.State.RUNNING, PrewarmProgress.State.CANCELLING);
        } finally {
            slots.acquireUninterruptibly(request.concurrency()); // the objects in flight end
            if (cancelled()) {
                end = PrewarmProgress.State.CANCELLED;
            }
            endNanos = System.nanoTime();
            state.set(end);
            finished.countDown();
            PrewarmProgress p = progress();
            log.info("prewarm {}: {}: {} listed, {} done, {} skipped, {} failed, {} bytes in {} ms", id, end,
                    p.listed(), p.done(), p.skipped(), p.failed(), p.bytes(), p.elapsedMillis());
        }
    }

    /** Handles one object; never throws. */
    private void one(ListPage.ObjectSummary o) {
        try {
            if (warmer.cached(request.bucket(), o.key()) == Warmer.Cached.FRESH) {
                skipped.incrementAndGet();
                return;
            }
            if (request.dryRun()) { // counted as a real run would fetch it; no origin request
                done.incrementAndGet();
                bytes.addAndGet(o.size());
                return;
            }
            if (pacer != null) {
                pacer.take(o.size());
            }
            Warmer.Result r = warmer.warm(request.bucket(), o.key(), o.size());
            switch (r.outcome()) {
                case FILLED -> {
                    done.incrementAndGet();
                    bytes.addAndGet(o.size());
                }
                case REVALIDATED -> done.incrementAndGet();
                case ALREADY_FRESH -> skipped.incrementAndGet();
                case NOT_STORED, FAILED -> {
                    failed.incrementAndGet();
                    error(o.key(), r.detail());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed.incrementAndGet();
            error(o.key(), "interrupted");
        } catch (RuntimeException e) {
            failed.incrementAndGet();
            error(o.key(), e.toString());
        } finally {
            handledBytes.addAndGet(o.size());
        }
    }

    private void error(String key, String why) {
        synchronized (errors) {
            if (errors.size() < PrewarmProgress.MAX_ERRORS) {
                errors.add(key + ": " + why);
            }
        }
        long held = failures.admit();
        if (held >= 0) {
            log.warn("prewarm {}: {} failed: {}{}", id, key, why,
                    held == 0 ? "" : " (" + held + " more failures not logged)");
        }
    }

    private boolean cancelled() {
        PrewarmProgress.State s = state.get();
        return s == PrewarmProgress.State.CANCELLING || s == PrewarmProgress.State.CANCELLED;
    }

    @Override
    public String id() {
        return id;
    }

    /** What the job was asked to do. */
    public PrewarmRequest request() {
        return request;
    }

    @Override
    public PrewarmProgress progress() {
        long end = finished.getCount() == 0 ? endNanos : System.nanoTime();
        long elapsed = Math.max(1, end - startNanos);
        long b = bytes.get();
        long rate = request.dryRun() ? 0 : (long) (b * 1e9 / elapsed); // a dry run fetched nothing
        Long eta = null;
        if (listingComplete && rate > 0) {
            long left = Math.max(0, listedBytes.get() - handledBytes.get());
            eta = left / rate;
        }
        List<String> errs;
        synchronized (errors) {
            errs = List.copyOf(errors);
        }
        return new PrewarmProgress(id, java.util.Objects.requireNonNull(state.get(), "state is set at creation, never cleared"), request.bucket(), request.prefix(), listingComplete, listed.get(),
                listedBytes.get(), done.get(), skipped.get(), failed.get(), b, rate, eta,
                TimeUnit.NANOSECONDS.toMillis(elapsed), errs, request.dryRun());
    }

    @Override
    public void cancel() {
        if (state.compareAndSet(PrewarmProgress.State.RUNNING, PrewarmProgress.State.CANCELLING)) {
            log.info("prewarm {}: cancelling", id);
        }
    }

    @Override
    public boolean await(Duration timeout) throws InterruptedException {
        return finished.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }
}
