package dev.kura.bench;

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
 *
 * <p>Thread-safety: immutable.
 */
public record FioResult(String version, long ios, long bytes, double iops, double mbPerS, Double p50Us,
                        Double p95Us, Double p99Us, double cpuMicros, double userMicros, long ctx,
                        double usrCpuPct, double sysCpuPct) {

    /** CPU µs per operation; NaN when no operation completed. */
    public double cpuUsPerOp() {
        return ios == 0 ? Double.NaN : cpuMicros / ios;
    }

    /** Context switches per operation; NaN when no operation completed. */
    public double ctxSwitchesPerOp() {
        return ios == 0 ? Double.NaN : (double) ctx / ios;
    }

    /** This result as a report row; the note carries fio's own usr/sys percentages and ctx count. */
    public BenchRow toRow(String workload, String backend, int inflight) {
        double seconds = iops > 0 ? ios / iops : Double.NaN;
        String note = String.format(Locale.ROOT, "usr/sys %.2f/%.2f us/op; %s usr %.1f%% sys %.1f%% ctx %d",
                ios == 0 ? Double.NaN : userMicros / ios, ios == 0 ? Double.NaN : (cpuMicros - userMicros) / ios,
                version, usrCpuPct, sysCpuPct, ctx);
        return new BenchRow(workload, backend, inflight, ios, seconds, iops, mbPerS, p50Us, p95Us, p99Us,
                cpuUsPerOp(), ctxSwitchesPerOp(), List.of(), note, null);
    }
}
