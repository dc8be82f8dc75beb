package dev.kura.s3.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.cache.Cache;
import dev.kura.cache.CacheStats;
import dev.kura.net.OpsExchange;
import dev.kura.net.OpsServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code kura serve} adds to its operations listener ({@code serve.ops-listen}, default
 * {@code 127.0.0.1:8081}; kura-net's {@link OpsServer} serves {@code /health}, {@code /live} and
 * {@code /metrics}, answers 404/405/401 and checks the bearer token): {@code /ready} from the
 * background origin checks, and the admin API. The listener is kept off the data port so that data
 * clients can neither scrape metrics, nor probe origins, nor reach the admin API.
 * <ul>
 *   <li>{@code GET /ready}: 200 when the last background origin check passed, else 503 with the
 *       state ({@link Readiness}); 503 {@code DRAINING} from the start of a graceful stop;</li>
 *   <li>the admin API, off (404) unless {@code serve.admin-token} is set; every call needs
 *       {@code Authorization: Bearer <token>} (the current config's: a reload may rotate it):
 *       {@code GET /admin/stats} (cache counters, JSON);
 *       {@code POST /admin/purge?bucket=<name>} (the mapping's whole cache),
 *       {@code ?bucket=<name>&prefix=<key prefix>} (keys of that mapping starting with the
 *       prefix), {@code ?bucket=<name>&key=<key>} (one object); answers {@code {"purged": n}}.
 *       A prefix is always scoped to one mapping: {@code prefix=bench} of mapping {@code bench}
 *       never reaches mapping {@code bench2}. {@code POST /admin/reload}: a hot reload of the config
 *       file ({@link Reloader}); answers the {@link dev.kura.s3.ReloadResult} as JSON, 200 when
 *       applied, 400 with the file's {@code file:line: key: message} when refused, 409 without a
 *       file.</li>
 * </ul>
 * JSON is written by Jackson. Admin routes run on virtual threads (purges touch the disk), never
 * on the event loop. A new admin route is one line in {@link #register}.
 *
 * <p>Thread-safety: state is the immutable config and thread-safe collaborators.
 */
final class OpsHandler {
    private static final Logger log = LoggerFactory.getLogger(OpsHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ProxyCore core;
    private final Cache cache;
    private final Readiness readiness;
    private final Reloader reloader;

    OpsHandler(ProxyCore core, Cache cache, Readiness readiness, Reloader reloader) {
        this.core = core;
        this.cache = cache;
        this.readiness = readiness;
        this.reloader = reloader;
    }

    /** Adds serve's readiness, admin token and admin routes to the operations listener. */
    OpsServer.Builder register(OpsServer.Builder ops) {
        return ops.readiness(this::ready)
                .adminToken(() -> core.config().adminToken(), "the admin API is off (serve.admin-token is not set)")
                .adminRoute("/admin/stats", ex -> json(ex, 200, stats()), "GET")
                .adminRoute("/admin/purge", this::purge, "POST", "DELETE")
                .adminRoute("/admin/reload", this::reload, "POST");
    }

    private OpsServer.Readiness ready() {
        Readiness.Snapshot s = readiness.snapshot();
        StringBuilder sb = new StringBuilder(s.state().name()).append('\n');
        s.origins().forEach((name, ok) -> sb.append(name).append(' ').append(ok ? "reachable" : "UNREACHABLE").append('\n'));
        if (s.checkedAt() != null) {
            sb.append("checked ").append(s.checkedAt()).append('\n');
        }
        return new OpsServer.Readiness(s.ready(), sb.toString());
    }

    /** Answers the reload's outcome as JSON: 200 applied, 400 refused (with the file's error), 409 no file. */
    private void reload(OpsExchange ex) {
        dev.kura.s3.ReloadResult r = reloader.reload("POST /admin/reload");
        int status = switch (r.outcome()) {
            case APPLIED -> 200;
            case REFUSED -> 400;
            case UNAVAILABLE -> 409;
        };
        json(ex, status, r);
    }

    /** Cache keys are {@code <mapping name>/<key>}; the name and its slash scope every purge to one mapping. */
    private void purge(OpsExchange ex) {
        String bucket = ex.parameter("bucket");
        if (bucket == null) {
            ex.text(400, "give bucket=<name>, with prefix= or key= to narrow it\n");
            return;
        }
        if (core.routes().stream().noneMatch(r -> r.bucket().name().equals(bucket))) {
            ex.text(404, "no bucket mapping named '" + bucket + "'\n");
            return;
        }
        String key = ex.parameter("key");
        String given = ex.parameter("prefix");
        if (key != null && given != null) {
            ex.text(400, "give key= or prefix=, not both\n");
            return;
        }
        if (key != null && key.isEmpty()) {
            ex.text(400, "key must not be empty\n");
            return;
        }
        String prefix = given == null ? "" : given;
        long n;
        try {
            n = key != null ? (cache.delete(bucket + "/" + key) ? 1 : 0) : cache.purgePrefix(bucket + "/" + prefix);
        } catch (RuntimeException e) {
            log.error("admin purge of bucket {} key {} prefix {} failed", bucket, key, prefix, e);
            ex.text(500, "purge failed: " + e + "\n");
            return;
        }
        log.info("admin purge: bucket {} {} removed {} entries", bucket,
                key != null ? "key " + key : "prefix '" + prefix + "'", n);
        json(ex, 200, Map.of("purged", n));
    }

    private Map<String, Object> stats() {
        CacheStats s = cache.stats();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hits", s.hits());
        m.put("misses", s.misses());
        m.put("memoryHits", s.memoryHits());
        m.put("diskHits", s.diskHits());
        m.put("evictions", s.evictions());
        m.put("expirations", s.expirations());
        m.put("memoryBytes", s.memoryBytes());
        m.put("memoryEntries", s.memoryEntries());
        m.put("diskBytes", s.diskBytes());
        m.put("diskEntries", s.diskEntries());
        m.put("fillsInFlight", s.fillsInFlight());
        m.put("recoveredEntries", s.recoveredEntries());
        m.put("requestsInFlight", core.inFlight.get());
        return m;
    }

    /** Answers {@code value} as JSON, written by Jackson. */
    private static void json(OpsExchange ex, int status, Object value) {
        byte[] b;
        try {
            b = JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("JSON of " + value.getClass(), e);
        }
        ex.send(status, "application/json", b);
    }
}
