package dev.kura.s3.internal.prewarm;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.s3.PrewarmProgress;
import dev.kura.s3.PrewarmRequest;
import dev.kura.s3.internal.Warmer;
import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The prewarm jobs of one process: at most {@code maxRunning} run at once (each holds up to its
 * {@code concurrency} origin fills; more jobs would only compete for the same origin), and the last
 * {@value #KEPT} are kept after they finish so that their progress can still be read.
 *
 * <p>Thread-safety: safe for concurrent use; the job table is guarded by {@code this}.
 */
public final class PrewarmJobs implements AutoCloseable {
    /** Finished jobs kept for {@code GET /admin/prewarm/<id>}. */
    static final int KEPT = 32;

    private final Warmer warmer;
    private final int maxRunning;
    /** Insertion order: the oldest first. */
    @GuardedBy("this")
    private final Map<String, PrewarmRun> jobs = new LinkedHashMap<>();
    @GuardedBy("this")
    private long next = 1;

    /**
     * @param warmer fills objects through the serving fill path; closed by {@link #close}
     * @param maxRunning jobs running at once at most, at least 1
     */
    public PrewarmJobs(Warmer warmer, int maxRunning) {
        this.warmer = warmer;
        this.maxRunning = maxRunning;
    }

    /** Thrown by {@link #start} when {@code maxRunning} jobs run already. */
    public static final class TooManyJobs extends Exception {
        TooManyJobs(int running) {
            super(running + " prewarm jobs are running (the most at once); wait for one to end or cancel one");
        }
    }

    /**
     * Starts a job.
     *
     * @throws IllegalArgumentException when no bucket mapping has the request's name
     * @throws TooManyJobs when {@code maxRunning} jobs run already
     */
    public synchronized PrewarmRun start(PrewarmRequest request) throws TooManyJobs {
        if (!warmer.hasBucket(request.bucket())) {
            throw new IllegalArgumentException("no bucket mapping named '" + request.bucket() + "' (names: "
                    + warmer.buckets() + ")");
        }
        long running = jobs.values().stream().filter(j -> !j.progress().state().finished()).count();
        if (running >= maxRunning) {
            throw new TooManyJobs((int) running);
        }
        String id = "pw-" + next++ + "-" + Long.toHexString(Double.doubleToLongBits(Math.random()) & 0xffffffL);
        PrewarmRun run = new PrewarmRun(id, request, warmer);
        jobs.put(id, run);
        forgetOld();
        return run.start();
    }

    /** Drops the oldest finished jobs beyond {@link #KEPT}. */
    @GuardedBy("this")
    private void forgetOld() {
        long finished = jobs.values().stream().filter(j -> j.progress().state().finished()).count();
        var it = jobs.values().iterator();
        while (finished > KEPT && it.hasNext()) {
            if (it.next().progress().state().finished()) {
                it.remove();
                finished--;
            }
        }
    }

    /** The job with this id, or null. */
    public synchronized @Nullable PrewarmRun get(String id) {
        return jobs.get(id);
    }

    /** Every job known, the oldest first. */
    public synchronized List<PrewarmRun> all() {
        return new ArrayList<>(jobs.values());
    }

    /** Cancels every running job, waits up to {@code wait} for them, then closes the warmer. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    /** Cancels every running job, waits up to {@code wait} for them, then closes the warmer. */
    public void close(Duration wait) {
        List<PrewarmRun> all = all();
        all.forEach(PrewarmRun::cancel);
        long deadline = System.nanoTime() + wait.toNanos();
        try {
            for (PrewarmRun r : all) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !r.await(Duration.ofNanos(left))) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        warmer.close();
    }

    /** The progress of every job, the oldest first. */
    public List<PrewarmProgress> progress() {
        return all().stream().map(PrewarmRun::progress).toList();
    }
}
