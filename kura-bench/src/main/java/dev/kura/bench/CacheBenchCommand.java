package dev.kura.bench;

import dev.kura.bench.internal.Units;
import dev.kura.bench.internal.cache.CacheBench;
import dev.kura.io.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code kura bench cache}: kura-cache's disk tier over each kura-io backend, side by side
 * (issue 3, section 9): gets and puts of 4 KiB and 10 MiB values, a 70/30 get/put mix, 1 and 1000
 * operations in flight; ops/s, p50/p95/p99, CPU time and context switches per operation, io_uring
 * rows with ratios to nio. Also the recovery rate at open ({@code --recovery N} entries) and the
 * eviction policies' hit ratios on a Zipf trace.
 *
 * <p>Progress goes to stderr, the report (table, or {@code --json}) to stdout. Exit code 0 when the
 * run completed (rows that could not run say why), 1 on failure, 2 on bad options.
 */
@Command(name = "cache", mixinStandardHelpOptions = true,
        description = {"Benchmark kura-cache over each kura-io backend (nio, io_uring).",
                "Get/put 4 KiB and 10 MiB values, 70/30 mix, 1 and 1000 operations in flight; recovery rate;"
                        + " eviction hit ratios on a Zipf trace."})
public final class CacheBenchCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--quick", description = "Short run: 150 ms warm-up and 600 ms per row, 2,000 small and 4 large"
            + " entries, recovery of 20,000 entries.")
    boolean quick;

    @Option(names = "--json", description = "Print one JSON array, one object per row, instead of the table.")
    boolean json;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "bench-data",
            description = "Directory for the caches, on the disk to measure (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--backend", paramLabel = "B", split = ",", defaultValue = "nio,io_uring",
            description = "Backends to run, comma-separated (default: ${DEFAULT-VALUE}).")
    List<String> backends;

    @Option(names = "--inflight", paramLabel = "N", split = ",",
            description = "Operations in flight for the 4 KiB rows (default: 1,1000).")
    List<Integer> inflight;

    @Option(names = "--large-inflight", paramLabel = "N", split = ",",
            description = "Operations in flight for the 10 MiB rows (default: 1,16).")
    List<Integer> largeInflight;

    @Option(names = "--recovery", paramLabel = "N",
            description = "Entries to insert and recover at reopen, 0 to skip (default: 1000000, --quick 20000).")
    Integer recovery;

    @Option(names = "--recovery-only", description = "Measure only the recovery rate (and the eviction hit ratios).")
    boolean recoveryOnly;

    @Option(names = "--warmup", paramLabel = "TIME", converter = Units.DurationConverter.class,
            description = "Warm-up before each row (default: 1s, --quick 150ms).")
    Duration warmup;

    @Option(names = "--duration", paramLabel = "TIME", converter = Units.DurationConverter.class,
            description = "Measured time per row (default: 4s, --quick 600ms).")
    Duration duration;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Backend> bs = backends.stream().map(Backend::parse).distinct().toList();
        if (bs.contains(Backend.AUTO)) {
            throw new IllegalArgumentException("--backend: name the backends to benchmark: nio, io_uring");
        }
        CacheBench.Plan plan = new CacheBench.Plan(dir, recoveryOnly ? List.of() : bs,
                inflight != null ? inflight : List.of(1, 1000),
                largeInflight != null ? largeInflight : List.of(1, 16),
                quick ? 2_000 : 20_000, quick ? 4 : 24, quick ? 256L << 20 : 1L << 30,
                warmup != null ? warmup : quick ? Duration.ofMillis(150) : Duration.ofSeconds(1),
                duration != null ? duration : quick ? Duration.ofMillis(600) : Duration.ofSeconds(4),
                recovery != null ? recovery : quick ? 20_000 : 1_000_000, true);
        PrintStream log = new PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                err.write(b);
                if (b == '\n') {
                    err.flush();
                }
            }
        }, true, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        BenchReport report = new CacheBench(plan, log).run();
        if (json) {
            out.println(report.toJson());
        } else {
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            report.printText(new PrintStream(text, true, StandardCharsets.UTF_8));
            out.print(text.toString(StandardCharsets.UTF_8));
        }
        out.flush();
        log.printf("kura bench cache: %d rows in %.1f s%n", report.rows().size(), (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
