package dev.kura.s3;

import org.jspecify.annotations.Nullable;

import java.util.List;

/**
 * Where a prewarm job stands ({@code GET /admin/prewarm/<id>} answers it as JSON).
 *
 * <p>Every listed object ends up counted once in {@code done}, {@code skipped} or {@code failed};
 * {@code listed - done - skipped - failed} are in flight or waiting.
 *
 * @param id the job's id
 * @param state where it is
 * @param bucket the mapping's name
 * @param prefix the key prefix
 * @param listingComplete true once every page of the listing has been read
 * @param listed objects listed so far
 * @param listedBytes their sizes, in bytes
 * @param done objects fetched into the cache, or revalidated (304)
 * @param skipped objects already cached and fresh
 * @param failed objects whose fill failed (origin errors, cut bodies) or could not be stored
 * @param bytes body bytes fetched from the origin by this job (the listed sizes of filled objects)
 * @param bytesPerSecond {@code bytes} over the time since the job started
 * @param etaSeconds seconds until the listed bytes not yet handled are done at the current rate;
 *     null while the listing is incomplete or nothing has been fetched yet
 * @param elapsedMillis milliseconds since the job started
 * @param errors the first failures, {@code key: reason} (at most {@value #MAX_ERRORS})
 * @param dryRun a dry run: {@code done} and {@code bytes} count what a real run would fetch, and
 *     nothing was fetched
 *
 * <p>Thread-safety: immutable.
 */
public record PrewarmProgress(String id, State state, String bucket, String prefix, boolean listingComplete,
                              long listed, long listedBytes, long done, long skipped, long failed, long bytes,
                              long bytesPerSecond, @Nullable Long etaSeconds, long elapsedMillis,
                              List<String> errors, boolean dryRun) {
    /** Failures kept in {@link #errors()} at most. */
    public static final int MAX_ERRORS = 20;

    /** Where a job is. */
    public enum State {
        /** Listing and filling. */
        RUNNING,
        /** Asked to stop: no new object starts; the ones in flight finish. */
        CANCELLING,
        /** Stopped on request. */
        CANCELLED,
        /** Every listed object was handled (some may have failed: see {@code failed}). */
        DONE,
        /** The listing failed: the job stopped (objects already handled stay counted). */
        FAILED;

        /** True for a state the job never leaves. */
        public boolean finished() {
            return this == CANCELLED || this == DONE || this == FAILED;
        }
    }

    public PrewarmProgress {
        errors = List.copyOf(errors);
    }
}
