package dev.kura.bench;

import dev.kura.bench.internal.Units;
import dev.kura.bench.internal.io.IoBench;
import dev.kura.bench.internal.io.IoWorkload;
import dev.kura.bench.internal.io.TestFiles;
import dev.kura.io.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code kura bench io}: kura-io's backends against each other and against fio, the physical limit
 * (issue 2, section 7; what each column means: {@code docs/BENCH-IO.md}).
 *
 * <p>Workloads: 4 KiB random and 1 MiB sequential reads of one file, cold (O_DIRECT on a disk
 * file in {@code --dir}) and warm (a file on tmpfs, {@code --warm-dir}); 1, 32 and 256 operations
 * in flight; backends nio and io_uring, each beside fio (psync with N jobs for nio, io_uring with
 * depth N for io_uring) on the same file, block size and depth. Prints a table, or with
 * {@code --json} one JSON array with one object per row; then the targets, met or missed.
 * {@code --quick} runs inflight 1 and 32 with short rows and smaller files, in under a minute.
 *
 * <p>The test files are created once and reused; {@code --clean} deletes them. Progress goes to
 * stderr, the report to stdout. Exit code 0 when the run completed (rows that could not run say so
 * in the report), 1 when it could not (e.g. a test file cannot be created), 2 on bad options.
 *
 * <p>Pattern for other {@code kura bench} workloads: options here, the measuring in
 * {@code dev.kura.bench.internal.<workload>}, the shared parts from {@code dev.kura.bench}.
 */
@Command(name = "io", mixinStandardHelpOptions = true,
        description = {"Benchmark kura-io's backends (nio, io_uring) against fio on the same file.",
                "4 KiB random and 1 MiB sequential reads, cold (O_DIRECT on disk) and warm (tmpfs), with 1, 32"
                        + " and 256 operations in flight. Reports ops/s, MB/s, p50/p95/p99 latency, CPU time and"
                        + " context switches per operation (whole process), with ratios vs fio and vs nio."
                        + " Column meanings: docs/BENCH-IO.md."})
public final class IoBenchCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--quick", description = "Short run (under a minute): inflight 1 and 32, 150 ms warm-up"
            + " and 600 ms per row, 256 MiB cold and 64 MiB warm files.")
    boolean quick;

    @Option(names = "--json", description = "Print one JSON array, one object per row, instead of the table.")
    boolean json;

    @Option(names = "--clean", description = "Delete the test files in --dir and --warm-dir, then exit.")
    boolean clean;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "bench-data",
            description = "Directory of the cold test file, on a disk supporting O_DIRECT (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--warm-dir", paramLabel = "DIR", defaultValue = "/dev/shm",
            description = "Directory of the warm test file, on tmpfs (default: ${DEFAULT-VALUE}).")
    Path warmDir;

    @Option(names = "--size", paramLabel = "SIZE", converter = Units.SizeConverter.class,
            description = "Cold file size, e.g. 1g (default: 1g, --quick 256m).")
    Long size;

    @Option(names = "--warm-size", paramLabel = "SIZE", converter = Units.SizeConverter.class,
            description = "Warm file size, e.g. 256m (default: 256m, --quick 64m).")
    Long warmSize;

    @Option(names = "--inflight", paramLabel = "N", split = ",",
            description = "Operations in flight, comma-separated (default: 1,32,256; --quick 1,32).")
    List<Integer> inflight;

    @Option(names = "--workload", paramLabel = "W", split = ",", converter = WorkloadConverter.class,
            description = "cold-rand-4k, cold-seq-1m, warm-rand-4k, warm-seq-1m, comma-separated (default: all).")
    List<IoWorkload> workloads;

    @Option(names = "--backend", paramLabel = "B", split = ",", defaultValue = "nio,io_uring",
            converter = BackendConverter.class,
            description = "Backends to run, comma-separated (default: ${DEFAULT-VALUE}).")
    List<Backend> backends;

    @Option(names = "--warmup", paramLabel = "TIME", converter = Units.DurationConverter.class,
            description = "Warm-up before each row, e.g. 500ms (default: 1s, --quick 150ms).")
    Duration warmup;

    @Option(names = "--duration", paramLabel = "TIME", converter = Units.DurationConverter.class,
            description = "Measured time per row, e.g. 5s (default: 4s, --quick 600ms).")
    Duration duration;

    @Option(names = "--no-fio", negatable = false, description = "Do not run fio (no reference rows, no ratios to fio).")
    boolean noFio;

    @Option(names = "--no-install", description = "Do not apt-get install fio when it is missing.")
    boolean noInstall;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (clean) {
            for (Path p : TestFiles.clean(List.of(dir, warmDir))) {
                out.println("deleted " + p);
            }
            out.flush();
            return 0;
        }
        IoBench.Plan plan = new IoBench.Plan(dir, warmDir,
                size != null ? size : quick ? 256L << 20 : 1L << 30,
                warmSize != null ? warmSize : quick ? 64L << 20 : 256L << 20,
                workloads == null ? List.of(IoWorkload.values()) : workloads.stream().distinct().toList(),
                inflight != null ? inflight : quick ? List.of(1, 32) : List.of(1, 32, 256),
                backends.stream().distinct().toList(),
                warmup != null ? warmup : quick ? Duration.ofMillis(150) : Duration.ofSeconds(1),
                duration != null ? duration : quick ? Duration.ofMillis(600) : Duration.ofSeconds(4),
                !noFio, !noInstall);
        if (plan.measure().isZero()) {
            throw new IllegalArgumentException("--duration must be positive");
        }
        long t0 = System.nanoTime();
        PrintStream log = new PrintStream(new WriterOutputStream(err), true, StandardCharsets.UTF_8);
        BenchReport report = new IoBench(plan, log).run();
        if (json) {
            out.println(report.toJson());
        } else {
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            report.printText(new PrintStream(text, true, StandardCharsets.UTF_8));
            out.print(text.toString(StandardCharsets.UTF_8));
        }
        out.flush();
        log.printf("kura bench io: %d rows in %.1f s%n", report.rows().size(), (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    static final class WorkloadConverter implements CommandLine.ITypeConverter<IoWorkload> {
        @Override
        public IoWorkload convert(String value) {
            return IoWorkload.parse(value);
        }
    }

    static final class BackendConverter implements CommandLine.ITypeConverter<Backend> {
        @Override
        public Backend convert(String value) {
            Backend b = Backend.parse(value);
            if (b == Backend.AUTO) {
                throw new CommandLine.TypeConversionException("name the backends to benchmark: nio, io_uring");
            }
            return b;
        }
    }

    /** Lets the progress log, a PrintStream, go to picocli's error writer (which tests capture). */
    private static final class WriterOutputStream extends OutputStream {
        private final PrintWriter w;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        WriterOutputStream(PrintWriter w) {
            this.w = w;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                flush();
            }
        }

        @Override
        public synchronized void flush() {
            w.print(line.toString(StandardCharsets.UTF_8));
            w.flush();
            line.reset();
        }
    }
}
