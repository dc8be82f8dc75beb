package dev.kura.s3.internal;

import dev.kura.config.ConfigException;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.ConfigSource;
import dev.kura.s3.ReloadResult;
import dev.kura.s3.ServeConfig;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Hot reload of {@code kura serve} ({@code SIGHUP}, {@code POST /admin/reload}): reads the config
 * again from its {@link ConfigSource}, and either applies it or refuses it whole.
 *
 * <p>What changes live: buckets (added, removed, changed: a new origin client; the old one drains,
 * then closes), client keys, JWT settings, TTLs, timeouts, stale-if-error, the listing cache, the
 * admin token, the access log, {@code serve.limits} (for connections accepted from now on), the
 * shutdown and drain timings, and what {@code onApplied} applies (through {@code listeners}: TLS certificates, the connection limit). What cannot:
 * the listeners' addresses, the transport, the event-loop threads and the codec's size limits
 * (they are fixed when the sockets and loops are made), plus what the source reports from outside
 * {@code serve:} (the cache and io sections). Such a key is reported as needing a restart, in the
 * log and in the answer, and its running value stays, never silently.
 *
 * <p>A file that fails validation is refused with the binder's {@code file:line: key: message},
 * logged, and the running config stays. Nothing half-applies: the new snapshot is built completely
 * (origin clients made, verifiers set up) before it is swapped in.
 *
 * <p>Thread-safety: one reload at a time ({@code synchronized}); requests never wait for it.
 */
final class Reloader {
    private static final Logger log = LoggerFactory.getLogger(Reloader.class);

    private final ProxyCore core;
    /**
     * Prepares what the listeners take from a config (TLS context, connection limit) and returns
     * the action that puts it in force; throws (a certificate that does not load) to refuse.
     */
    private final Function<ServeConfig, Runnable> listeners;
    private volatile @Nullable ConfigSource source;

    Reloader(ProxyCore core, Function<ServeConfig, Runnable> listeners) {
        this.core = core;
        this.listeners = listeners;
    }

    /** Sets where reloads read from; null for nowhere (the demo). */
    void source(ConfigSource s) {
        this.source = s;
    }

    /** Keys fixed at start, each with how to read it. */
    private static final Map<String, Function<ServeConfig, Object>> RESTART_ONLY = Map.ofEntries(
            Map.entry("serve.listen", ServeConfig::listen),
            Map.entry("serve.ops-listen", ServeConfig::opsListen),
            Map.entry("serve.transport", ServeConfig::transport),
            Map.entry("serve.event-loop-threads", ServeConfig::eventLoopThreads),
            Map.entry("serve.max-url-length", ServeConfig::maxUrlLength),
            Map.entry("serve.max-header-size", ServeConfig::maxHeaderSize),
            Map.entry("serve.fill", ServeConfig::fill),
            Map.entry("serve.rate-limits", ServeConfig::rateLimits),
            // The tracer and its exporter are made once, with the proxy.
            Map.entry("serve.tracing", ServeConfig::tracing),
            Map.entry("serve.origin-bandwidth", ServeConfig::originBandwidth),
            // Turning TLS on or off changes the listener's scheme under its clients; the files of a
            // configured serve.tls are re-read on every reload.
            Map.entry("serve.tls (on or off)", c -> c.tls() != null));

    /**
     * Reads the source and applies it.
     *
     * @param trigger what asked, for the log ({@code SIGHUP}, {@code POST /admin/reload})
     */
    synchronized ReloadResult reload(String trigger) {
        ConfigSource s = source;
        if (s == null) {
            log.warn("reload ({}) ignored: kura serve runs without a config file (demo mode)", trigger);
            return ReloadResult.notApplied(ReloadResult.Outcome.UNAVAILABLE,
                    "kura serve runs without --config (demo mode): there is no file to reload");
        }
        ConfigSource.Read read;
        try {
            read = s.read();
        } catch (ConfigException e) {
            log.error("reload ({}) refused, the running config stays: {}", trigger, e.getMessage());
            return ReloadResult.notApplied(ReloadResult.Outcome.REFUSED, e.getMessage());
        }
        ServeConfig running = core.config();
        List<String> restart = new ArrayList<>(read.restartNeeded());
        ServeConfig.Builder applied = read.serve().toBuilder();
        for (Map.Entry<String, Function<ServeConfig, Object>> k : RESTART_ONLY.entrySet()) {
            if (!Objects.equals(k.getValue().apply(running), k.getValue().apply(read.serve()))) {
                restart.add(k.getKey());
            }
        }
        restart.sort(null);
        // The running values of the restart-only keys stay in the snapshot, so that it says what runs.
        ServeConfig next = applied.listen(running.listen()).opsListen(running.opsListen())
                .transport(running.transport()).eventLoopThreads(running.eventLoopThreads())
                .maxUrlLength(running.maxUrlLength()).maxHeaderSize(running.maxHeaderSize()).fill(running.fill())
                .rateLimits(running.rateLimits()).tracing(running.tracing()).originBandwidth(running.originBandwidth())
                .tls((running.tls() == null) == (read.serve().tls() == null) ? read.serve().tls() : running.tls())
                .build();
        try {
            // Prepared first: a certificate that does not load refuses the reload whole.
            Runnable listenerChange = listeners.apply(next);
            core.swap(next);
            listenerChange.run();
            read.alsoApply().run();
        } catch (RuntimeException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            log.error("reload ({}) refused, the running config stays: {}", trigger, why);
            return ReloadResult.notApplied(ReloadResult.Outcome.REFUSED, why);
        }
        ReloadResult r = diff(running, next, restart);
        log.info("reload ({}) applied: buckets added {}, removed {}, changed {}", trigger, r.added(), r.removed(),
                r.changed());
        if (!restart.isEmpty()) {
            log.warn("reload ({}): {} changed in the file but need a restart; the running values stay", trigger,
                    restart);
        }
        return r;
    }

    private static ReloadResult diff(ServeConfig before, ServeConfig after, List<String> restart) {
        Map<String, BucketConfig> old = new HashMap<>();
        before.buckets().forEach(b -> old.put(b.name(), b));
        List<String> added = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        for (BucketConfig b : after.buckets()) {
            BucketConfig o = old.remove(b.name());
            if (o == null) {
                added.add(b.name());
            } else if (!o.equals(b)) {
                changed.add(b.name());
            }
        }
        List<String> removed = new ArrayList<>(old.keySet());
        removed.sort(null);
        return new ReloadResult(ReloadResult.Outcome.APPLIED, null, restart, added, removed, changed);
    }
}
