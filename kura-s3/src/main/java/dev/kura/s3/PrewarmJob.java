package dev.kura.s3;

import java.time.Duration;

/**
 * A running or finished prewarm ({@link Prewarmer#start}).
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public interface PrewarmJob {
    /** The job's id (what {@code /admin/prewarm/<id>} takes). */
    String id();

    /** A snapshot of its progress. */
    PrewarmProgress progress();

    /** Asks it to stop: no object starts after this; the ones in flight finish. Idempotent. */
    void cancel();

    /**
     * Waits until the job has finished (done, cancelled or failed).
     *
     * @return true when it finished within {@code timeout}
     * @throws InterruptedException when interrupted while waiting
     */
    boolean await(Duration timeout) throws InterruptedException;
}
