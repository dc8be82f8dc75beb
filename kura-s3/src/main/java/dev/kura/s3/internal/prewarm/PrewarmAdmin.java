package dev.kura.s3.internal.prewarm;

import dev.kura.s3.PrewarmRequest;
import org.jspecify.annotations.Nullable;

import java.util.Map;
import java.util.function.Function;

/**
 * The prewarm routes of the admin API (ops listener, same bearer token as {@code /admin/reload}):
 * <ul>
 *   <li>{@code POST /admin/prewarm?bucket=<name>&prefix=<key prefix>&concurrency=<n>&rate=<size>}
 *       starts a job: 202 with {@code {"id": ..., "progress": "/admin/prewarm/<id>"}}; 400 for a
 *       bad parameter, 404 for an unknown bucket, 429 when {@value dev.kura.s3.Prewarmer#MAX_RUNNING_JOBS}
 *       jobs run already. {@code rate} is a size per second ({@code 50MiB}); default unlimited;
 *       {@code concurrency} default {@value PrewarmRequest#DEFAULT_CONCURRENCY}; {@code dry-run=true}
 *       lists and checks the cache only, counting what a real run would fetch;</li>
 *   <li>{@code GET /admin/prewarm} lists every job's progress; {@code GET /admin/prewarm/<id>}
 *       one job's ({@link dev.kura.s3.PrewarmProgress} as JSON);</li>
 *   <li>{@code DELETE /admin/prewarm/<id>} cancels it: 202 with its progress (state
 *       {@code CANCELLING}, then {@code CANCELLED} once the objects in flight end).</li>
 * </ul>
 * It decides the answer; the caller ({@code OpsHandler}) authenticates and writes it with Jackson.
 * Nothing here blocks: starting a job spawns its virtual thread.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public final class PrewarmAdmin {
    /** The path prefix it answers. */
    public static final String PATH = "/admin/prewarm";

    private final PrewarmJobs jobs;

    public PrewarmAdmin(PrewarmJobs jobs) {
        this.jobs = jobs;
    }

    /**
     * An answer.
     *
     * @param status HTTP status
     * @param body the JSON value (a record or map), or a plain-text message when {@code status >= 400}
     * @param allow for a 405, the methods allowed; else null
     */
    public record Answer(int status, Object body, @Nullable String allow) {
        static Answer error(int status, String message) {
            return new Answer(status, Map.of("error", message), null);
        }
    }

    /** True when {@code path} is one of these routes. */
    public static boolean handles(String path) {
        return path.equals(PATH) || path.startsWith(PATH + "/");
    }

    /** Answers one authenticated call. */
    public Answer handle(String method, String path, Function<String, @Nullable String> q) {
        if (path.equals(PATH) || path.equals(PATH + "/")) {
            return switch (method) {
                case "POST" -> start(q);
                case "GET" -> new Answer(200, Map.of("jobs", jobs.progress()), null);
                default -> new Answer(405, Map.of("error", "use POST or GET"), "POST, GET");
            };
        }
        String id = path.substring(PATH.length() + 1);
        PrewarmRun run = jobs.get(id);
        if (run == null) {
            return Answer.error(404, "no prewarm job '" + id + "' (finished jobs are kept for a while only)");
        }
        return switch (method) {
            case "GET" -> new Answer(200, run.progress(), null);
            case "DELETE" -> {
                run.cancel();
                yield new Answer(202, run.progress(), null);
            }
            default -> new Answer(405, Map.of("error", "use GET or DELETE"), "GET, DELETE");
        };
    }

    private Answer start(Function<String, @Nullable String> q) {
        String bucket = first(q, "bucket");
        if (bucket == null || bucket.isEmpty()) {
            return Answer.error(400, "give bucket=<name>, and prefix=<key prefix> to narrow it");
        }
        PrewarmRequest req;
        try {
            String c = first(q, "concurrency");
            String rate = first(q, "rate");
            String prefix = first(q, "prefix");
            req = new PrewarmRequest(bucket, prefix == null ? "" : prefix,
                    c == null ? PrewarmRequest.DEFAULT_CONCURRENCY : Integer.parseInt(c),
                    rate == null || rate.isEmpty() ? null : PrewarmRequest.parseRate(rate),
                    "true".equalsIgnoreCase(first(q, "dry-run")));
        } catch (IllegalArgumentException e) { // NumberFormatException too
            return Answer.error(400, "bad parameter: " + e.getMessage());
        }
        try {
            PrewarmRun run = jobs.start(req);
            return new Answer(202, Map.of("id", run.id(), "progress", PATH + "/" + run.id()), null);
        } catch (IllegalArgumentException e) {
            return Answer.error(404, e.getMessage() == null ? "unknown bucket" : e.getMessage());
        } catch (PrewarmJobs.TooManyJobs e) {
            return Answer.error(429, e.getMessage() == null ? "too many jobs" : e.getMessage());
        }
    }

    private static @Nullable String first(Function<String, @Nullable String> q, String name) {
        return q.apply(name);
    }
}
