package dev.kura.bench;

import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.Locale;

/**
 * What one fio run measured (see {@link Fio#parse(String)} for how each figure is derived).
 *
 * @param version fio's version string, e.g. {@code fio-3.33}
 * @param ios read operations completed
 * @param bytes bytes read
 * @param iops read operations per second
 * @param mbPerS megabytes (10^6 bytes) read per second
 * @param p50Us median total latency (submission to completion) in µs, or null
 * @param p95Us 95th percentile in µs, or null
 * @param p99Us 99th percentile in µs, or null
 * @param cpuMicros CPU time (user + system) of fio's jobs, µs
 * @param userMicros the user-mode part of it, µs
 * @param ctx context switches of fio's jobs
 * @param usrCpuPct fio's {@code usr_cpu}: user CPU as a percentage of the (per-job) run time
 * @param sysCpuPct fio's {@code sys_cpu}
 * @param process the whole fio process tree's usage over its run, start-up included
 *     ({@code getrusage(RUSAGE_CHILDREN)} around it, see {@link Fio#run}); null when unknown (the
 *     result was parsed from text, or the native call is unavailable)
 *
 * <p>Thread-safety: immutable.
 */
public record FioResult(String version, long ios, long bytes, double iops, double mbPerS, @Nullable Double p50Us,
                        @Nullable Double p95Us, @Nullable Double p99Us, double cpuMicros, double userMicros, long ctx,
                        double usrCpuPct, double sysCpuPct, @Nullable ProcessUsage process) {

    /** This result with {@code process} as its whole-process usage. */
    public FioResult withProcess(@Nullable ProcessUsage process) {
        return new FioResult(version, ios, bytes, iops, mbPerS, p50Us, p95Us, p99Us, cpuMicros, userMicros, ctx,
                usrCpuPct, sysCpuPct, process);
    }

    /** CPU µs per operation as fio reports it (its job threads only); NaN when no operation completed. */
    public double cpuUsPerOp() {
        return ios == 0 ? Double.NaN : cpuMicros / ios;
    }

    /** Context switches per operation as fio reports them (its job threads only); NaN when none completed. */
    public double ctxSwitchesPerOp() {
        return ios == 0 ? Double.NaN : (double) ctx / ios;
    }

    /**
     * This result as a report row.
     *
     * <p>The CPU and context-switch columns are fio's own figures, as it printed them: measured with
     * {@code getrusage(RUSAGE_THREAD)} in each job thread, over the measured run only. They miss
     * work io_uring hands to its io-wq worker threads (e.g. buffered reads punted off the submitting
     * thread), which kura's whole-process figures include, so for such loads they flatter fio. The
     * note adds the whole fio process tree's figures ({@link #process()}: all threads, io-wq
     * included), which in turn include fio's start-up (about 0.15-0.25 s of CPU on a 2-core VM), so
     * they are an upper bound that tightens as the run gets longer.
     */
    public BenchRow toRow(String workload, String backend, int inflight) {
        double seconds = iops > 0 ? ios / iops : Double.NaN;
        String note = String.format(Locale.ROOT, "usr/sys %.2f/%.2f us/op (fio job threads: usr %.1f%% sys %.1f%%)",
                ios == 0 ? Double.NaN : userMicros / ios, ios == 0 ? Double.NaN : (cpuMicros - userMicros) / ios,
                usrCpuPct, sysCpuPct);
        if (process != null && ios > 0) {
            note += String.format(Locale.ROOT, "; whole fio incl. start-up: %.2f cpu us/op, %.3f cs/op",
                    process.cpuMicrosPer(ios), process.ctxSwitchesPer(ios));
        }
        return new BenchRow(workload, backend, inflight, ios, seconds, iops, mbPerS, p50Us, p95Us, p99Us,
                cpuUsPerOp(), ctxSwitchesPerOp(), List.of(), note + "; " + version, null);
    }
}
