package dev.kura.bench.tftp;

import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * CPU time and memory of a server process together with its children, read from {@code /proc}:
 * tftpd-hpa forks a child per transfer, so its cost is the tree's, not the listener's.
 *
 * <ul>
 *   <li>CPU: {@code utime + stime + cutime + cstime} of the process ({@code /proc/PID/stat} fields
 *       14-17: its own threads and its reaped children) plus {@code utime + stime} of the children
 *       alive now; clock ticks, converted at 100 Hz (10 ms resolution: measure over seconds).</li>
 *   <li>Memory: the peak over time of the summed RSS ({@code VmRSS}) and of the summed PSS
 *       ({@code Pss} of {@code /proc/PID/smaps_rollup}: shared pages divided among the processes
 *       sharing them, so 1,000 forked children are not counted 1,000 times).</li>
 * </ul>
 *
 * <p>Thread-safety: {@link Sampler} runs on its own thread; its peaks are atomics.
 */
final class ProcessTree {

    private static final long NANOS_PER_TICK = 10_000_000L;

    private ProcessTree() {
    }

    /**
     * Exact CPU accounting of a process and everything it forks from now on, through a cgroup of
     * its own: cgroup v1 {@code cpuacct.usage} or v2 {@code cpu.stat usage_usec} count every task
     * of the group, including children that have exited (tftpd-hpa's per-transfer children are
     * not waited for, so {@code /proc}'s {@code cutime} never sees them). Needs root; null where
     * no cgroup can be made, and the caller falls back to {@link #cpuNanos}.
     */
    record CpuGroup(Path dir, boolean v1) implements AutoCloseable {

        static @Nullable CpuGroup create(long pid, String name) {
            for (Path base : new Path[]{Path.of("/sys/fs/cgroup/cpuacct"), Path.of("/sys/fs/cgroup/unified"), Path.of("/sys/fs/cgroup")}) {
                boolean v1 = Files.exists(base.resolve("cpuacct.usage"));
                boolean v2 = Files.exists(base.resolve("cgroup.controllers"));
                if (!v1 && !v2) {
                    continue;
                }
                Path dir = base.resolve("kura-bench-" + ProcessHandle.current().pid() + "-" + name);
                try {
                    Files.createDirectories(dir);
                    Files.writeString(dir.resolve("cgroup.procs"), Long.toString(pid));
                    CpuGroup g = new CpuGroup(dir, v1);
                    g.nanos();
                    return g;
                } catch (IOException | RuntimeException e) {
                    try {
                        Files.deleteIfExists(dir);
                    } catch (IOException ignored) {
                        // not ours to keep; nothing else to do
                    }
                }
            }
            return null;
        }

        /** CPU nanoseconds used by every task that has been in the group. */
        long nanos() {
            try {
                if (v1) {
                    return Long.parseLong(Files.readString(dir.resolve("cpuacct.usage")).trim());
                }
                for (String line : Files.readAllLines(dir.resolve("cpu.stat"))) {
                    if (line.startsWith("usage_usec ")) {
                        return Long.parseLong(line.substring(11).trim()) * 1000;
                    }
                }
                throw new IllegalStateException("no usage_usec in " + dir.resolve("cpu.stat"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** Removes the group once its processes have exited (tftpd-hpa's children linger briefly); best effort, 5 s. */
        @Override
        public void close() {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (true) {
                try {
                    Files.deleteIfExists(dir);
                    return;
                } catch (IOException busy) {
                    // a process still in it (EBUSY): wait for it to exit
                    if (System.nanoTime() > deadline) {
                        System.err.println("cgroup " + dir + " still in use, left behind");
                        return;
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    /** CPU nanoseconds used by {@code pid} and its waited-for children so far (fallback without a cgroup). */
    static long cpuNanos(long pid) {
        long ticks = statTicks(pid, true);
        for (ProcessHandle d : descendants(pid)) {
            ticks += statTicks(d.pid(), false);
        }
        return ticks * NANOS_PER_TICK;
    }

    /** Summed VmRSS of the tree now, bytes. */
    static long rss(long pid) {
        return rss(pid, descendants(pid));
    }

    /** Summed PSS of the tree now, bytes. */
    static long pss(long pid) {
        return pss(pid, descendants(pid));
    }

    private static long rss(long pid, List<ProcessHandle> descendants) {
        long sum = status(pid, "VmRSS:");
        for (ProcessHandle d : descendants) {
            sum += status(d.pid(), "VmRSS:");
        }
        return sum;
    }

    private static long pss(long pid, List<ProcessHandle> descendants) {
        long sum = pssOf(pid);
        for (ProcessHandle d : descendants) {
            sum += pssOf(d.pid());
        }
        return sum;
    }

    private static List<ProcessHandle> descendants(long pid) {
        return ProcessHandle.of(pid).map(ph -> ph.descendants().toList()).orElse(List.of());
    }

    private static long statTicks(long pid, boolean withChildren) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // Fields after the command name, which is in parentheses and may hold spaces.
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // f[0] is field 3 (state); utime is field 14 -> f[11].
            long t = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            if (withChildren) {
                t += Long.parseLong(f[13]) + Long.parseLong(f[14]);
            }
            return t;
        } catch (IOException | RuntimeException e) {
            return 0; // exited between listing and reading
        }
    }

    private static long status(long pid, String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // exited: it holds no memory any more
        }
        return 0;
    }

    private static long pssOf(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                if (line.startsWith("Pss:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // exited
        }
        return 0;
    }

    /**
     * Peak RSS and process count (every {@link #PERIOD_MS}, or less often, see below) and PSS
     * (every fifth sample) of a tree until stopped, and the CPU the sampling itself cost.
     *
     * <p>Why it holds back: it runs in the load client's JVM, and each sample lists every process
     * on the machine (to find the children) and reads each child's {@code /proc} files. Sampling
     * every 50 ms (PSS every 250 ms) cost 6.5 s of CPU in a 30 s tftpd-hpa cell with ~450 children,
     * and every 200 ms still 10.7 s in a 60 s cell with 1,000 (2026-12-01, issue 14): a fifth of a
     * CPU taken from the client and the server it measured, and only in tftpd-hpa's cells. So after
     * each sample it sleeps at least nine times as long as the sample took (at most a tenth of one
     * CPU). The peaks it looks for are plateaus that last seconds.
     */
    static final class Sampler implements Runnable {
        final long pid;
        final AtomicLong peakRss = new AtomicLong();
        final AtomicLong peakPss = new AtomicLong();
        static final long PERIOD_MS = 200;
        final AtomicLong peakProcesses = new AtomicLong();
        /** This sampler thread's CPU, nanoseconds; set when it stops. */
        volatile long cpuNanos;
        volatile boolean stop;

        Sampler(long pid) {
            this.pid = pid;
        }

        @Override
        public void run() {
            for (int i = 0; !stop; i++) {
                long t0 = System.nanoTime();
                List<ProcessHandle> children = descendants(pid);
                peakProcesses.accumulateAndGet(1 + children.size(), Math::max);
                peakRss.accumulateAndGet(rss(pid, children), Math::max);
                if (i % 5 == 0) {
                    peakPss.accumulateAndGet(pss(pid, children), Math::max);
                }
                long spentMs = (System.nanoTime() - t0) / 1_000_000;
                try {
                    Thread.sleep(Math.max(PERIOD_MS, 9 * spentMs));
                } catch (InterruptedException e) {
                    break;
                }
            }
            cpuNanos = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        }
    }
}
