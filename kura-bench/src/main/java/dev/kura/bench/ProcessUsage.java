package dev.kura.bench;

import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU time and context switches of the whole JVM process, summed over all its threads: what an
 * operation really costs, beyond its latency.
 *
 * <h2>Method</h2>
 * {@link #now()} calls {@code getrusage(RUSAGE_SELF)} (see {@code getrusage(2)}) through the Foreign
 * Function &amp; Memory API. For {@code RUSAGE_SELF} the kernel sums {@code ru_utime},
 * {@code ru_stime}, {@code ru_nvcsw} and {@code ru_nivcsw} over <em>every</em> thread of the
 * process, the living and the exited ({@code kernel/sys.c}, {@code getrusage()}): the caller, the
 * NIO pool threads, the io_uring ring threads, the GC and JIT threads, and since Linux 5.12 also
 * io_uring's io-wq workers and SQPOLL thread, which are created with {@code create_io_thread()} as
 * threads of the submitting process. So a backend cannot look cheap by moving work to a thread the
 * measurement does not see. What it does not see: interrupt and softirq time of the block layer's
 * completions (charged to whichever task the interrupt hit, or to no task), and work done by other
 * processes such as the device's kernel threads. fio is measured the same way (its per-job
 * {@code getrusage}), so the comparison is like for like.
 *
 * <p>When the native call is not available (no {@code --enable-native-access}), {@link #now()}
 * falls back to {@code /proc}: CPU time from {@code /proc/self/stat} fields 14-15 (whole process,
 * in clock ticks of 10 ms, so coarse), context switches summed from
 * {@code /proc/self/task/*}{@code /status} ({@code voluntary_ctxt_switches},
 * {@code nonvoluntary_ctxt_switches}), which misses threads that have exited. {@link #source()}
 * says which method produced a value.
 *
 * <h2>Usage</h2>
 * <pre>{@code
 * ProcessUsage before = ProcessUsage.now();
 * ... run ops ...
 * ProcessUsage used = ProcessUsage.now().minus(before);
 * double cpuUs = used.cpuMicrosPer(ops), cs = used.ctxSwitchesPer(ops);
 * }</pre>
 * Measure over an interval of at least a few hundred milliseconds: {@code getrusage} CPU times have
 * microsecond resolution but are sampled per tick for some of the JVM's threads.
 *
 * @param userNanos CPU time in user mode, nanoseconds
 * @param systemNanos CPU time in the kernel, nanoseconds
 * @param voluntaryCtxSwitches switches because a thread blocked ({@code ru_nvcsw}): waiting for
 *     I/O, a lock, a queue
 * @param involuntaryCtxSwitches switches because a thread was preempted ({@code ru_nivcsw})
 * @param source {@code "getrusage"} or {@code "proc"}
 *
 * <p>Thread-safety: immutable; {@link #now()} may be called from any thread.
 */
public record ProcessUsage(long userNanos, long systemNanos, long voluntaryCtxSwitches,
                           long involuntaryCtxSwitches, String source) {

    private static final int RUSAGE_SELF = 0;
    private static final int RUSAGE_CHILDREN = -1;
    /** {@code sizeof(struct rusage)} on 64-bit Linux: two {@code struct timeval}, then 14 longs. */
    private static final long RUSAGE_SIZE = 144;
    private static final long RU_UTIME = 0;
    private static final long RU_STIME = 16;
    private static final long RU_NVCSW = 32 + 12 * 8;
    private static final long RU_NIVCSW = 32 + 13 * 8;
    /** {@code USER_HZ}: the unit of {@code /proc} CPU times, 100 on every Linux ABI kura runs on. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private static final @Nullable MethodHandle GETRUSAGE = lookup();

    private static @Nullable MethodHandle lookup() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("getrusage")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS)))
                    .orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null; // native access denied or no libc: the /proc fallback takes over
        }
    }

    /** Total CPU time, user plus system, in nanoseconds. */
    public long cpuNanos() {
        return userNanos + systemNanos;
    }

    /** Context switches, voluntary plus involuntary. */
    public long ctxSwitches() {
        return voluntaryCtxSwitches + involuntaryCtxSwitches;
    }

    /** The usage between {@code earlier} and this snapshot. */
    public ProcessUsage minus(ProcessUsage earlier) {
        return new ProcessUsage(userNanos - earlier.userNanos, systemNanos - earlier.systemNanos,
                voluntaryCtxSwitches - earlier.voluntaryCtxSwitches,
                involuntaryCtxSwitches - earlier.involuntaryCtxSwitches,
                source.equals(earlier.source) ? source : source + "-" + earlier.source);
    }

    /** CPU microseconds per operation over {@code ops} operations; NaN when {@code ops} is 0. */
    public double cpuMicrosPer(long ops) {
        return ops == 0 ? Double.NaN : cpuNanos() / 1e3 / ops;
    }

    /** Context switches per operation over {@code ops} operations; NaN when {@code ops} is 0. */
    public double ctxSwitchesPer(long ops) {
        return ops == 0 ? Double.NaN : (double) ctxSwitches() / ops;
    }

    /**
     * The process's usage so far: {@code getrusage(RUSAGE_SELF)}, or {@link #fromProc()} when the
     * native call is unavailable.
     *
     * @throws UncheckedIOException when neither method works (not Linux)
     */
    public static ProcessUsage now() {
        if (GETRUSAGE != null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ru = arena.allocate(RUSAGE_SIZE, 8);
                int rc = (int) GETRUSAGE.invokeExact(RUSAGE_SELF, ru);
                if (rc == 0) {
                    return new ProcessUsage(timeval(ru, RU_UTIME), timeval(ru, RU_STIME),
                            ru.get(ValueLayout.JAVA_LONG, RU_NVCSW), ru.get(ValueLayout.JAVA_LONG, RU_NIVCSW),
                            "getrusage");
                }
            } catch (Throwable e) {
                // IllegalCallerException when native access is not enabled; fall back below
            }
        }
        return fromProc();
    }

    /**
     * The usage of this process's children that have terminated and been waited for, and of their
     * own waited-for descendants: {@code getrusage(RUSAGE_CHILDREN)}. Read it before starting a
     * child and after {@link Process#waitFor()} to get the child's whole usage, all its threads
     * included (see {@link Fio#run}). Any other child reaped in between is counted too.
     *
     * @return the usage, or null when the native call is unavailable ({@code /proc} has no
     *     equivalent that includes the children's threads)
     */
    public static @Nullable ProcessUsage children() {
        if (GETRUSAGE == null) {
            return null;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ru = arena.allocate(RUSAGE_SIZE, 8);
            int rc = (int) GETRUSAGE.invokeExact(RUSAGE_CHILDREN, ru);
            if (rc != 0) {
                return null;
            }
            return new ProcessUsage(timeval(ru, RU_UTIME), timeval(ru, RU_STIME),
                    ru.get(ValueLayout.JAVA_LONG, RU_NVCSW), ru.get(ValueLayout.JAVA_LONG, RU_NIVCSW),
                    "getrusage-children");
        } catch (Throwable e) {
            return null;
        }
    }

    /** True when {@link #now()} uses {@code getrusage} rather than the coarser {@code /proc} fallback. */
    public static boolean nativeAvailable() {
        return GETRUSAGE != null && now().source().equals("getrusage");
    }

    private static long timeval(MemorySegment ru, long offset) {
        return ru.get(ValueLayout.JAVA_LONG, offset) * 1_000_000_000L
                + ru.get(ValueLayout.JAVA_LONG, offset + 8) * 1_000L;
    }

    /**
     * The process's usage read from {@code /proc}; see the class comment for what it misses.
     *
     * @throws UncheckedIOException when {@code /proc/self} cannot be read
     */
    public static ProcessUsage fromProc() {
        try {
            long[] cpu = parseStatCpuTicks(Files.readString(Path.of("/proc/self/stat")));
            long vol = 0;
            long invol = 0;
            try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path t : (Iterable<Path>) tasks::iterator) {
                    String status;
                    try {
                        status = Files.readString(t.resolve("status"));
                    } catch (NoSuchFileException gone) {
                        continue; // the thread exited between list and read
                    }
                    long[] cs = parseStatusCtxSwitches(status);
                    vol += cs[0];
                    invol += cs[1];
                }
            }
            return new ProcessUsage(cpu[0] * NANOS_PER_TICK, cpu[1] * NANOS_PER_TICK, vol, invol, "proc");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self (not Linux?)", e);
        }
    }

    /**
     * Parses {@code utime} and {@code stime} (fields 14 and 15, clock ticks) from the text of
     * {@code /proc/[pid]/stat} ({@code proc(5)}). The command name, field 2, may hold spaces and
     * parentheses, so fields are counted after its last {@code ')'}.
     *
     * @return {@code {utime, stime}} in clock ticks
     * @throws IllegalArgumentException when the text is not in that format
     */
    static long[] parseStatCpuTicks(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not /proc/[pid]/stat: no ')' after the command name");
        }
        String[] f = stat.substring(close + 1).trim().split("\\s+");
        // f[0] is field 3 (state), so field n is f[n - 3]
        if (f.length < 13) {
            throw new IllegalArgumentException("not /proc/[pid]/stat: " + f.length + " fields after the name");
        }
        return new long[] {Long.parseLong(f[14 - 3]), Long.parseLong(f[15 - 3])};
    }

    /**
     * Parses {@code voluntary_ctxt_switches} and {@code nonvoluntary_ctxt_switches} from the text of
     * {@code /proc/[pid]/task/[tid]/status} ({@code proc(5)}).
     *
     * @return {@code {voluntary, nonvoluntary}}
     * @throws IllegalArgumentException when either line is missing
     */
    static long[] parseStatusCtxSwitches(String status) {
        long vol = -1;
        long invol = -1;
        for (String line : status.split("\n")) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
                vol = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                invol = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        if (vol < 0 || invol < 0) {
            throw new IllegalArgumentException("status text lacks voluntary/nonvoluntary_ctxt_switches");
        }
        return new long[] {vol, invol};
    }
}
