package dev.kura.s3;

import dev.kura.cache.Cache;
import dev.kura.s3.internal.Warmer;
import dev.kura.s3.internal.prewarm.PrewarmJobs;
import org.jspecify.annotations.Nullable;

/**
 * Prewarm: fills the cache with every object under a key prefix of a bucket mapping, before
 * clients ask (issue 13 section 5; docs/OPERATIONS.md "Prewarm"). The origin is listed with
 * ListObjectsV2 (every page) and each object is fetched through the same fill path as a client's
 * GET: single flight with clients' requests for the same key, slices for objects larger than the
 * slice size, a conditional GET for an expired entry; an object the cache holds fresh (the serving
 * freshness rules) is skipped with no origin request. One object's failure is counted and the job
 * goes on.
 *
 * <p>Two ways in: {@link ProxyServer#prewarmer()} in a running server (what {@code POST
 * /admin/prewarm} uses), or {@link #standalone} over a cache the caller opened (what
 * {@code kura prewarm} uses when it is given no server to talk to).
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public final class Prewarmer implements AutoCloseable {
    /** Jobs running at once in one process at most. */
    public static final int MAX_RUNNING_JOBS = 4;

    private final PrewarmJobs jobs;
    private final boolean owned;

    Prewarmer(PrewarmJobs jobs, boolean owned) {
        this.jobs = jobs;
        this.owned = owned;
    }

    /**
     * A prewarmer over {@code cache} with origin clients of its own and no listener, for a process
     * that prewarms and exits. Close it before the cache.
     *
     * @param sliceSize objects larger than this many bytes are cached in slices of this size
     *     ({@code cache.slice-size}: use the value {@code kura serve} uses on this cache)
     */
    public static Prewarmer standalone(ServeConfig config, Cache cache, long sliceSize) {
        return new Prewarmer(new PrewarmJobs(Warmer.standalone(config, cache, sliceSize), MAX_RUNNING_JOBS), true);
    }

    /**
     * Starts a job on virtual threads and returns at once.
     *
     * @throws IllegalArgumentException when no mapping of the config in force is named
     *     {@code request.bucket()}
     * @throws IllegalStateException when {@value #MAX_RUNNING_JOBS} jobs run already
     */
    public PrewarmJob start(PrewarmRequest request) {
        try {
            return jobs.start(request);
        } catch (PrewarmJobs.TooManyJobs e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** The job with this id (running, or one of the last finished), or null. */
    public @Nullable PrewarmJob job(String id) {
        return jobs.get(id);
    }

    /**
     * For a standalone prewarmer: cancels running jobs, waits up to 5 s for the objects in flight,
     * closes its origin clients. A server's prewarmer is closed by the server; here a no-op.
     */
    @Override
    public void close() {
        if (owned) {
            jobs.close();
        }
    }
}
