package dev.kura.bench.internal.io;

import org.jspecify.annotations.Nullable;
import dev.kura.bench.BenchReport;
import dev.kura.bench.BenchRow;
import dev.kura.bench.ClosedLoop;
import dev.kura.bench.Fio;
import dev.kura.bench.FioResult;
import dev.kura.bench.Machine;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Runs {@code kura bench io}: each workload, at each number of operations in flight, on each
 * backend, each beside fio on the same file, block size and depth.
 *
 * <h2>What is compared with what</h2>
 * <ul>
 *   <li><b>nio</b> at N in flight: N asynchronous reads kept outstanding
 *       ({@link ClosedLoop}) on the NIO backend, whose pool gets N threads so that N blocking
 *       {@code pread}s really are outstanding. Its physical limit: <b>fio psync</b> with
 *       {@code --numjobs=N} (N processes each doing blocking {@code pread}; psync has no depth).</li>
 *   <li><b>io_uring</b> at N in flight: the same loop on the io_uring backend with its default
 *       rings and queue depth. Its physical limit: <b>fio io_uring</b> with {@code --iodepth=N},
 *       one job.</li>
 * </ul>
 * Ratios: nio vs fio psync; io_uring vs fio io_uring and vs nio. The backend is chosen only through
 * the public API ({@link IoConfig#withBackend}); a backend that cannot start yields rows saying why.
 *
 * <h2>Offsets</h2>
 * Random reads pick a uniformly random block-aligned offset per read (fio: {@code --norandommap
 * --randrepeat=0}). Sequential reads take consecutive blocks from one cursor shared by all slots,
 * wrapping at the end of the file; fio psync with N jobs reads N consecutive regions of the file
 * ({@code --offset_increment}), one per job.
 *
 * <p>fio runs without a ramp time: it has no JIT to warm up, and its whole-process CPU time
 * (start-up included, shown in the note, see {@link FioResult#toRow}) is then divided by
 * operations that all count.
 *
 * <p>Cold files are opened with {@link OpenFlag#DIRECT} and read into 4096-aligned native buffers;
 * warm files (tmpfs) are read buffered, and fio gets {@code --direct=0}.
 */
public final class IoBench {

    /**
     * What to run.
     *
     * @param coldDir directory of the cold file, on a disk that supports O_DIRECT
     * @param warmDir directory of the warm file, on tmpfs
     * @param coldSize cold file size in bytes
     * @param warmSize warm file size in bytes
     * @param workloads workloads, in order
     * @param inflights operations in flight, in order
     * @param backends kura backends to run (NIO, IO_URING)
     * @param warmup warm-up before each measurement
     * @param measure measured interval per row
     * @param fio run fio beside each row
     * @param installFio allow {@code apt-get install fio} when it is missing and we are root
     */
    public record Plan(Path coldDir, Path warmDir, long coldSize, long warmSize, List<IoWorkload> workloads,
                       List<Integer> inflights, List<Backend> backends, Duration warmup, Duration measure,
                       boolean fio, boolean installFio) {
        public Plan {
            workloads = List.copyOf(workloads);
            inflights = List.copyOf(inflights);
            backends = List.copyOf(backends);
            for (int n : inflights) {
                if (n < 1 || n > 4096) {
                    throw new IllegalArgumentException("operations in flight must be 1..4096, was " + n);
                }
            }
            for (Backend b : backends) {
                if (b == Backend.AUTO) {
                    throw new IllegalArgumentException("name the backends to benchmark: nio, io_uring");
                }
            }
            if (coldSize < (2 << 20) || warmSize < (2 << 20)) {
                throw new IllegalArgumentException("test files must be at least 2 MiB (two 1 MiB blocks)");
            }
        }
    }

    private final Plan plan;
    private final PrintStream log;

    /** @param log progress lines (stderr), one per row */
    public IoBench(Plan plan, PrintStream log) {
        this.plan = plan;
        this.log = log;
    }

    /**
     * Runs the plan and returns the report, with target checks as notes.
     *
     * @throws IOException when a test file cannot be created
     */
    public BenchReport run() throws IOException, InterruptedException {
        BenchReport report = new BenchReport("kura bench io", Machine.current());
        Path fio = null;
        String fioMissing = null;
        if (plan.fio()) {
            try {
                fio = Fio.locate(log, plan.installFio());
            } catch (Fio.FioException e) {
                fioMissing = e.getMessage();
                log.println("kura bench io: " + fioMissing);
            }
        }
        checkFileSystems(report);
        for (IoWorkload w : plan.workloads()) {
            Path file = w.cold()
                    ? TestFiles.ensure(plan.coldDir(), plan.coldSize(), log)
                    : TestFiles.ensure(plan.warmDir(), plan.warmSize(), log);
            long size = w.cold() ? plan.coldSize() : plan.warmSize();
            for (int n : plan.inflights()) {
                BenchRow nio = null;
                BenchRow uring = null;
                for (Backend b : plan.backends()) {
                    BenchRow ours = report.add(measure(w, b, n, file, size));
                    BenchRow ref = null;
                    if (plan.fio()) {
                        ref = report.add(fio == null
                                ? BenchRow.failed(w.label(), fioName(b), n, fioMissing)
                                : runFio(fio, w, b, n, file, size));
                        ours = report.addRatio(ours, ref);
                    }
                    if (b == Backend.NIO) {
                        nio = ours;
                    } else {
                        uring = ours;
                    }
                }
                if (nio != null && uring != null) {
                    report.addRatio(uring, nio);
                }
            }
        }
        IoTargets.check(report);
        return report;
    }

    /**
     * Warns (in the report and on the log) when the cold directory is on tmpfs (O_DIRECT there is not
     * a device read) or the warm directory is not on tmpfs (its reads may reach the device).
     */
    private void checkFileSystems(BenchReport report) throws IOException {
        boolean anyCold = plan.workloads().stream().anyMatch(IoWorkload::cold);
        boolean anyWarm = plan.workloads().stream().anyMatch(w -> !w.cold());
        if (anyCold) {
            String type = fileSystemType(plan.coldDir());
            if (type.equals("tmpfs") || type.equals("ramfs")) {
                warn(report, "warning: --dir " + plan.coldDir() + " is on " + type
                        + ": the cold rows read memory, not a device; use a directory on a disk");
            }
        }
        if (anyWarm) {
            String type = fileSystemType(plan.warmDir());
            if (!type.equals("tmpfs")) {
                warn(report, "warning: --warm-dir " + plan.warmDir() + " is on " + type
                        + ", not tmpfs: the warm rows may read the device");
            }
        }
    }

    private void warn(BenchReport report, String line) {
        log.println(line);
        report.addNote(line);
    }

    private static String fileSystemType(Path dir) throws IOException {
        Files.createDirectories(dir);
        return Files.getFileStore(dir).type();
    }

    static String fioName(Backend b) {
        return b == Backend.NIO ? "fio psync" : "fio io_uring";
    }

    private BenchRow measure(IoWorkload w, Backend b, int inflight, Path file, long size) throws InterruptedException {
        String backend = b.configName();
        IoConfig config = IoConfig.defaults().withBackend(b);
        if (b == Backend.NIO) {
            config = config.withNioThreads(inflight);
        } else {
            config = config.withQueueDepth(Math.max(config.queueDepth(), Math.min(inflight, IoConfig.MAX_QUEUE_DEPTH)));
        }
        FileIo io;
        try {
            io = FileIo.create(config);
        } catch (Exception e) {
            log.printf("%-13s %-13s %4d  NOT RUN: %s%n", w.label(), backend, inflight, e.getMessage());
            return BenchRow.failed(w.label(), backend, inflight, "backend could not start: " + e.getMessage());
        }
        try (io; Arena arena = Arena.ofShared()) {
            OpenFlag[] flags = w.cold() ? new OpenFlag[] {OpenFlag.READ, OpenFlag.DIRECT} : new OpenFlag[] {OpenFlag.READ};
            try (IoFile f = io.open(file, flags)) {
                int bs = w.blockSize();
                MemorySegment all = arena.allocate((long) bs * inflight, 4096);
                MemorySegment[] buf = new MemorySegment[inflight];
                for (int s = 0; s < inflight; s++) {
                    buf[s] = all.asSlice((long) s * bs, bs);
                }
                long blocks = size / bs;
                ClosedLoop.Result r = ClosedLoop.run(inflight, plan.warmup(), plan.measure(), (slot, seq) -> {
                    long block = w.random() ? ThreadLocalRandom.current().nextLong(blocks) : seq % blocks;
                    return f.readAsync(buf[slot], block * bs);
                });
                if (r.error() != null) {
                    log.printf("%-13s %-13s %4d  FAILED: %s%n", w.label(), backend, inflight, r.error());
                    return BenchRow.failed(w.label(), backend, inflight, "read failed: " + r.error().getMessage());
                }
                String note = b == Backend.NIO ? "pool of " + inflight + " threads"
                        : io.info().rings() + " rings x " + io.info().queueDepth() + " SQEs";
                BenchRow row = BenchRow.of(w.label(), backend, inflight, r, note);
                progress(row);
                return row;
            }
        } catch (Exception e) {
            log.printf("%-13s %-13s %4d  FAILED: %s%n", w.label(), backend, inflight, e.getMessage());
            return BenchRow.failed(w.label(), backend, inflight, e.getMessage());
        }
    }

    private BenchRow runFio(Path fio, IoWorkload w, Backend b, int inflight, Path file, long size) {
        String name = fioName(b);
        List<String> args = fioArgs(w, b, inflight, file, size, plan.measure());
        try {
            Duration timeout = plan.measure().plusSeconds(60);
            FioResult r = Fio.run(fio, args, timeout);
            BenchRow row = r.toRow(w.label(), name, inflight);
            progress(row);
            return row;
        } catch (Fio.FioException e) {
            log.printf("%-13s %-13s %4d  FAILED: %s%n", w.label(), name, inflight, e.getMessage());
            return BenchRow.failed(w.label(), name, inflight, e.getMessage());
        }
    }

    /** fio's options for the reference of backend {@code b} (see the class comment). */
    static List<String> fioArgs(IoWorkload w, Backend b, int inflight, Path file, long size, Duration measure) {
        int bs = w.blockSize();
        List<String> a = new ArrayList<>(List.of("--name=kura-" + w.name().toLowerCase(java.util.Locale.ROOT),
                "--filename=" + file, "--rw=" + w.fioRw(), "--bs=" + bs, "--direct=" + (w.cold() ? 1 : 0),
                "--time_based", "--runtime=" + Math.max(1, measure.toMillis()) + "ms", "--invalidate=0"));
        if (w.random()) {
            a.add("--norandommap");
            a.add("--randrepeat=0");
        }
        if (b == Backend.NIO) {
            a.add("--ioengine=psync");
            a.add("--numjobs=" + inflight);
            if (!w.random() && inflight > 1) {
                long region = size / inflight / bs * bs;
                a.add("--size=" + region);
                a.add("--offset_increment=" + region);
            } else {
                a.add("--size=" + size);
            }
        } else {
            a.add("--ioengine=io_uring");
            a.add("--iodepth=" + inflight);
            a.add("--size=" + size);
        }
        return a;
    }

    private void progress(BenchRow r) {
        log.printf(java.util.Locale.ROOT, "%-13s %-13s %4d  %10.0f ops/s %8.1f MB/s  p50 %7.1f us  p99 %8.1f us  cpu %7.2f us/op  cs %6.3f/op%n",
                r.workload(), r.backend(), r.inflight(), nz(r.opsPerS()), nz(r.mbPerS()), nz(r.p50Us()), nz(r.p99Us()),
                nz(r.cpuUsPerOp()), nz(r.ctxSwitchesPerOp()));
    }

    private static double nz(@Nullable Double d) {
        return d == null ? Double.NaN : d;
    }
}
