package dev.kura.bench;

import org.jspecify.annotations.Nullable;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs fio, the reference I/O benchmark (Jens Axboe, Debian package {@code fio}), and reads its
 * {@code --output-format=json} report: the physical limit kura's figures are compared with, on the
 * same file, block size and depth.
 *
 * <p>Usage:
 * <pre>{@code
 * Path fio = Fio.locate(System.err, true);          // installs it with apt when root and missing
 * FioResult r = Fio.run(fio, List.of("--name=x", "--filename=" + file, "--rw=randread", "--bs=4k",
 *         "--ioengine=io_uring", "--iodepth=32", "--direct=1", "--time_based", "--runtime=5s"),
 *         Duration.ofSeconds(60));
 * report.add(r.toRow("cold rand 4k", "fio io_uring", 32));
 * }</pre>
 * {@link #run} also reads {@code getrusage(RUSAGE_CHILDREN)} before starting fio and after
 * reaping it, which gives the CPU time and context switches of the whole fio process tree, all
 * threads included, measured as {@link ProcessUsage} measures kura, start-up included (see
 * {@link FioResult#toRow}).
 *
 * <p>{@link #run} adds {@code --output-format=json}, {@code --group_reporting} (one aggregate for all
 * jobs), {@code --lat_percentiles=1} and {@code --percentile_list=50:95:99} so that the percentiles
 * are of the total latency (submission to completion), as kura's are.
 *
 * <p>Thread-safety: stateless; safe from any thread.
 */
public final class Fio {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fio() {
    }

    /** fio could not be found, installed or run; the message says what to do. */
    public static final class FioException extends Exception {
        private static final long serialVersionUID = 1L;

        public FioException(String message, @Nullable Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Finds {@code fio} on the {@code PATH}; when it is missing and {@code install} is true and we
     * run as root, runs {@code apt-get install -y fio} (logging to {@code log}) and looks again.
     *
     * @throws FioException when fio is missing and cannot be installed, saying how to install it
     */
    public static Path locate(PrintStream log, boolean install) throws FioException {
        Optional<Path> found = onPath("fio");
        if (found.isPresent()) {
            return found.get();
        }
        if (install && isRoot() && onPath("apt-get").isPresent()) {
            log.println("fio not found; installing it: apt-get install -y fio");
            try {
                if (!apt("install", "-y", "-qq", "fio")) {
                    // empty or stale package lists (fresh container): refresh them once and retry
                    apt("update", "-qq");
                    apt("install", "-y", "-qq", "fio");
                }
            } catch (IOException e) {
                throw new FioException("fio not found and apt-get could not run: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new FioException("interrupted while installing fio", e);
            }
            found = onPath("fio");
            if (found.isPresent()) {
                return found.get();
            }
        }
        throw new FioException("fio not found: install it (Debian: apt-get install fio), or pass --no-fio", null);
    }

    /** Runs apt-get with {@code args}, output discarded; true when it exits 0 within 5 minutes. */
    private static boolean apt(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("apt-get");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return false;
        }
        return p.exitValue() == 0;
    }

    private static boolean isRoot() {
        try {
            return "0".equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid").toString());
        } catch (Exception e) {
            return false;
        }
    }

    private static Optional<Path> onPath(String name) {
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /**
     * Runs fio with {@code args} (job options, e.g. {@code --name=x --rw=randread ...}) plus the
     * reporting options listed in the class comment, and parses its report.
     *
     * @param timeout how long to wait before killing fio
     * @throws FioException when fio fails, times out or prints no parsable report; the message
     *     carries fio's own error output
     */
    public static FioResult run(Path fio, List<String> args, Duration timeout) throws FioException {
        Path out = null;
        try {
            out = Files.createTempFile("kura-fio-", ".json");
            List<String> cmd = new ArrayList<>();
            cmd.add(fio.toString());
            cmd.addAll(args);
            cmd.addAll(List.of("--output-format=json", "--output=" + out, "--group_reporting",
                    "--lat_percentiles=1", "--percentile_list=50:95:99"));
            ProcessUsage before = ProcessUsage.children();
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] console = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new FioException("fio did not finish within " + timeout.toSeconds() + " s: " + String.join(" ", cmd), null);
            }
            String text = Files.readString(out);
            if (p.exitValue() != 0 || text.isBlank()) {
                throw new FioException("fio exited with " + p.exitValue() + ": "
                        + new String(console, StandardCharsets.UTF_8).strip(), null);
            }
            ProcessUsage after = ProcessUsage.children();
            FioResult r = parse(text);
            return before == null || after == null ? r : r.withProcess(after.minus(before));
        } catch (IOException e) {
            throw new FioException("cannot run fio: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FioException("interrupted while running fio", e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a stray temp file is harmless
                }
            }
        }
    }

    /**
     * Parses fio's JSON report (fio 3.x). Reads of all jobs are summed; percentiles are those of
     * the first job, which with {@code --group_reporting} is the aggregate of all jobs.
     *
     * <p>CPU time: fio reports per job {@code usr_cpu} and {@code sys_cpu} as a percentage of
     * {@code job_runtime} (milliseconds, summed over the jobs under group reporting), measured with
     * {@code getrusage(RUSAGE_THREAD)} in each job thread (fio's {@code fio_getrusage}); so CPU time
     * = (usr_cpu + sys_cpu) / 100 * job_runtime. Neither fio's main process nor io_uring's io-wq
     * workers are included. {@code ctx} is the job threads' context switches.
     *
     * @throws FioException when the text is not such a report
     */
    public static FioResult parse(String json) throws FioException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new FioException("fio printed no JSON report: " + e.getMessage(), e);
        }
        JsonNode jobs = root.path("jobs");
        if (!jobs.isArray() || jobs.isEmpty()) {
            throw new FioException("fio JSON report has no jobs", null);
        }
        long ios = 0;
        long bytes = 0;
        double iops = 0;
        double bw = 0;
        double cpuMs = 0;
        double usrMs = 0;
        long ctx = 0;
        for (JsonNode j : jobs) {
            if (j.path("error").asInt(0) != 0) {
                throw new FioException("fio job failed with error " + j.path("error").asInt(), null);
            }
            JsonNode r = j.path("read");
            ios += r.path("total_ios").asLong();
            bytes += r.path("io_bytes").asLong();
            iops += r.path("iops").asDouble();
            bw += r.path("bw_bytes").asDouble();
            double runtime = j.has("job_runtime") ? j.path("job_runtime").asDouble() : r.path("runtime").asDouble();
            double usr = j.path("usr_cpu").asDouble();
            double sys = j.path("sys_cpu").asDouble();
            usrMs += usr / 100 * runtime;
            cpuMs += (usr + sys) / 100 * runtime;
            ctx += j.path("ctx").asLong();
        }
        JsonNode first = jobs.get(0).path("read");
        JsonNode pct = first.path("lat_ns").path("percentile");
        if (pct.isMissingNode() || pct.isEmpty()) {
            pct = first.path("clat_ns").path("percentile");
        }
        return new FioResult(root.path("fio version").asText("fio"), ios, bytes, iops, bw / 1e6,
                percentileUs(pct, "50.000000"), percentileUs(pct, "95.000000"), percentileUs(pct, "99.000000"),
                cpuMs * 1e3, usrMs * 1e3, ctx, jobs.get(0).path("usr_cpu").asDouble(),
                jobs.get(0).path("sys_cpu").asDouble(), null);
    }

    private static @Nullable Double percentileUs(JsonNode pct, String key) {
        JsonNode v = pct.get(key);
        return v == null ? null : v.asDouble() / 1e3;
    }
}
