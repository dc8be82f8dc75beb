package dev.kura.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.cache.Cache;
import dev.kura.cli.config.KuraConfig;
import dev.kura.config.ConfigException;
import dev.kura.io.FileIo;
import dev.kura.s3.PrewarmJob;
import dev.kura.s3.PrewarmProgress;
import dev.kura.s3.PrewarmRequest;
import dev.kura.s3.Prewarmer;
import dev.kura.s3.ServeConfig;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code kura prewarm --config kura.yaml s3://bucket/prefix}: fills kura's cache with every object
 * under a prefix before clients ask (docs/OPERATIONS.md "Prewarm").
 *
 * <p>Where it runs. The disk cache is locked by the process that opened it, so a prewarm cannot
 * open the cache of a running {@code kura serve}. Two modes, chosen by the operator:
 * <ul>
 *   <li>without {@code --ops}: the command opens the cache directory of the config's
 *       {@code cache:} section itself, with origin clients of its own, prewarms, and closes it (for
 *       a node that is not serving yet, e.g. before its first start or in an init container). If a
 *       server holds the directory, the open fails and the message says to use {@code --ops};</li>
 *   <li>with {@code --ops http://host:port} (the server's {@code serve.ops-listen}): it starts the
 *       job in that server through {@code POST /admin/prewarm} with the config's
 *       {@code serve.admin-token}, follows it with {@code GET /admin/prewarm/<id>}, and cancels it
 *       ({@code DELETE}) on Ctrl-C. The fills then share single flight with the server's clients.</li>
 * </ul>
 * Output: on a terminal one progress line rewritten in place (objects, bytes, rate, ETA); otherwise
 * (a pipe, a log file) a plain line every {@code --interval}; a summary line at the end either way.
 * Exit status: 0 when every object was filled or skipped, 1 when any failed or the job could not
 * finish (listing failed, cancelled), 2 for bad usage or configuration.
 */
@Command(name = "prewarm", mixinStandardHelpOptions = true,
        description = "Fill kura's cache with every object under s3://<bucket>/<prefix> (bucket: a serve.buckets[] name).")
public final class PrewarmCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    @Option(names = "--config", paramLabel = "FILE", required = true, description = "kura.yaml with serve: and cache: sections")
    Path config;

    @Parameters(index = "0", paramLabel = "s3://BUCKET/PREFIX", description = "what to prewarm; no prefix for the whole bucket")
    String target;

    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "4",
            description = "objects filled at once, 1..64 (default: ${DEFAULT-VALUE})")
    int concurrency;

    @Option(names = "--rate", paramLabel = "SIZE", description = "origin byte rate of the job per second, e.g. 50MiB (default: unlimited)")
    @Nullable String rate;

    @Option(names = "--ops", paramLabel = "URL",
            description = "a running kura serve's ops listener (e.g. http://127.0.0.1:8081): prewarm through it instead of opening the cache")
    @Nullable String ops;

    @Option(names = "--dry-run", description = "list and check the cache only: count what would be fetched, fetch nothing")
    boolean dryRun;

    @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "1s",
            description = "how often progress is printed (default: ${DEFAULT-VALUE})")
    String interval;

    /** How progress is shown. */
    enum Progress {
        /** one line rewritten in place */
        BAR,
        /** a plain line per interval */
        LINES,
        /** BAR on a terminal, LINES otherwise */
        AUTO
    }

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "bar (one line rewritten in place), lines, or auto: bar on a terminal (default: ${DEFAULT-VALUE})")
    Progress progressMode = Progress.AUTO;

    /** Where the summary and the progress go (tests replace it). */
    PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        String[] bp = parseTarget(target);
        String r = rate;
        Long bytesPerSecond = r == null ? null : PrewarmRequest.parseRate(r);
        PrewarmRequest req = new PrewarmRequest(bp[0], bp[1], concurrency, bytesPerSecond, dryRun);
        Duration every = dev.kura.config.Durations.parse(interval);
        KuraConfig kc;
        try {
            kc = KuraConfig.load(config);
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        ServeConfig serve = kc.serve();
        if (serve == null) {
            System.err.println("kura: " + config + " has no serve: section (see docs/CONFIG.md)");
            return 2;
        }
        boolean bar = switch (progressMode) {
            case BAR -> true;
            case LINES -> false;
            case AUTO -> terminal();
        };
        Printer printer = new Printer(out, bar, "s3://" + req.bucket() + "/" + req.prefix());
        LogLevels.apply(kc.logging());
        String opsUrl = ops;
        return opsUrl != null ? viaServer(opsUrl, serve, req, every, printer) : local(kc, serve, req, every, printer);
    }

    /**
     * True when the process talks to a terminal. Since JDK 22 {@link System#console()} returns a
     * console even when standard streams are redirected; {@code isTerminal()} tells.
     */
    private static boolean terminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /** {@code s3://bucket/prefix} into bucket and prefix. */
    static String[] parseTarget(String t) {
        if (!t.startsWith("s3://") || t.length() == 5) {
            throw new IllegalArgumentException("the target must be s3://<bucket>/<prefix> (bucket: a serve.buckets[] name), was '" + t + "'");
        }
        String rest = t.substring(5);
        int slash = rest.indexOf('/');
        return slash < 0 ? new String[] {rest, ""} : new String[] {rest.substring(0, slash), rest.substring(slash + 1)};
    }

    /** Opens the cache itself and prewarms in this process. */
    private int local(KuraConfig kc, ServeConfig serve, PrewarmRequest req, Duration every, Printer printer)
            throws Exception {
        try (FileIo io = FileIo.create(kc.io().toIoConfig())) {
            Cache cache;
            try {
                cache = Cache.open(kc.cache().toCacheConfig(), io);
            } catch (IOException e) {
                System.err.println("kura prewarm: cannot open the cache at " + kc.cache().toCacheConfig().dir() + ": "
                        + e.getMessage() + "\n  If a kura serve is running on it, prewarm through it: --ops http://"
                        + opsAddress(serve) + " (needs serve.admin-token)");
                return 1;
            }
            try (cache; Prewarmer prewarmer = Prewarmer.standalone(serve, cache, kc.cache().sliceSizeBytes())) {
                PrewarmJob job = prewarmer.start(req);
                Signals.onStop(job::cancel);
                while (!job.await(every)) {
                    printer.progress(job.progress());
                }
                return printer.end(job.progress());
            }
        }
    }

    /** Starts the job in a running server through its admin API and follows it. */
    private int viaServer(String opsUrl, ServeConfig serve, PrewarmRequest req, Duration every, Printer printer)
            throws Exception {
        String token = serve.adminToken();
        if (token == null) {
            System.err.println("kura prewarm: --ops needs serve.admin-token in " + config + " (the server's admin API token)");
            return 2;
        }
        String base = opsUrl.endsWith("/") ? opsUrl.substring(0, opsUrl.length() - 1) : opsUrl;
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String q = "bucket=" + enc(req.bucket()) + "&prefix=" + enc(req.prefix()) + "&concurrency=" + req.concurrency()
                + (req.bytesPerSecond() != null ? "&rate=" + req.bytesPerSecond() : "")
                + (req.dryRun() ? "&dry-run=true" : "");
        HttpResponse<String> started = http.send(request(base + "/admin/prewarm?" + q, token, "POST"),
                HttpResponse.BodyHandlers.ofString());
        if (started.statusCode() != 202) {
            System.err.println("kura prewarm: " + base + " answered " + started.statusCode() + ": " + started.body().trim());
            return started.statusCode() == 404 || started.statusCode() == 400 ? 2 : 1;
        }
        String id = JSON.readTree(started.body()).get("id").asText();
        String job = base + "/admin/prewarm/" + enc(id);
        Signals.onStop(() -> {
            try {
                http.send(request(job, token, "DELETE"), HttpResponse.BodyHandlers.discarding());
            } catch (IOException | InterruptedException e) {
                System.err.println("kura prewarm: cancelling " + id + " failed: " + e);
            }
        });
        while (true) {
            HttpResponse<String> r = http.send(request(job, token, "GET"), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                System.err.println("kura prewarm: " + job + " answered " + r.statusCode() + ": " + r.body().trim());
                return 1;
            }
            PrewarmProgress p = JSON.readValue(r.body(), PrewarmProgress.class);
            if (p.state().finished()) {
                return printer.end(p);
            }
            printer.progress(p);
            Thread.sleep(every.toMillis());
        }
    }

    private static HttpRequest request(String url, String token, String method) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token).method(method, HttpRequest.BodyPublishers.noBody()).build();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String opsAddress(ServeConfig s) {
        String host = s.opsHost().equals("0.0.0.0") ? "127.0.0.1" : s.opsHost();
        return host + ":" + s.opsPort();
    }

    /** Prints progress: one line rewritten with {@code \r} on a terminal, plain lines otherwise. */
    static final class Printer {
        private final PrintStream out;
        private final boolean bar;
        private final String what;
        private int lastWidth;

        Printer(PrintStream out, boolean bar, String what) {
            this.out = out;
            this.bar = bar;
            this.what = what;
        }

        void progress(PrewarmProgress p) {
            String line = line(p);
            if (bar) {
                // Pad over the previous line's tail: the new one may be shorter.
                out.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
                lastWidth = line.length();
            } else {
                out.println(line);
            }
            out.flush();
        }

        /** Prints the summary (and the first failures); answers the exit status. */
        int end(PrewarmProgress p) {
            if (bar) {
                out.print("\r" + " ".repeat(lastWidth) + "\r");
            }
            out.println(line(p).replaceFirst(" ETA \\S+", "") + " in " + seconds(p.elapsedMillis()) + ": " + p.state()
                    + (p.dryRun() ? " (dry run: nothing fetched)" : ""));
            for (String e : p.errors()) {
                out.println("  failed: " + e);
            }
            if (p.failed() > p.errors().size()) {
                out.println("  ... " + (p.failed() - p.errors().size()) + " more failures (see the log)");
            }
            out.flush();
            return p.state() == PrewarmProgress.State.DONE && p.failed() == 0 ? 0 : 1;
        }

        String line(PrewarmProgress p) {
            long handled = p.done() + p.skipped() + p.failed();
            int pct = p.listingComplete() && p.listedBytes() > 0 ? (int) Math.min(100, 100 * handled / Math.max(1, p.listed())) : -1;
            StringBuilder sb = new StringBuilder("prewarm ").append(what).append(": ");
            if (bar && pct >= 0) {
                int filled = pct / 5;
                sb.append('[').append("#".repeat(filled)).append(".".repeat(20 - filled)).append("] ");
            }
            sb.append(handled).append('/').append(p.listed()).append(p.listingComplete() ? "" : "+").append(" objects (")
                    .append(p.done()).append(p.dryRun() ? " to fill, " : " filled, ").append(p.skipped()).append(" skipped, ").append(p.failed())
                    .append(" failed), ").append(size(p.bytes())).append(", ").append(size(p.bytesPerSecond())).append("/s");
            Long eta = p.etaSeconds();
            if (eta != null) {
                sb.append(" ETA ").append(seconds(eta * 1000));
            }
            return sb.toString();
        }

        static String size(long b) {
            if (b < 1024) {
                return b + " B";
            }
            String[] units = {"KiB", "MiB", "GiB", "TiB"};
            double v = b;
            int u = -1;
            while (v >= 1024 && u < units.length - 1) {
                v /= 1024;
                u++;
            }
            return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
        }

        static String seconds(long millis) {
            long s = millis / 1000;
            return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                    : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60) + (s < 60 ? "." + (millis % 1000) / 100 : "");
        }
    }
}
