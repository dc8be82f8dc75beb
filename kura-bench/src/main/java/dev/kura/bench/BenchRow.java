package dev.kura.bench;

import org.jspecify.annotations.Nullable;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of a benchmark report: one workload, run by one backend (or reference tool) at one
 * number of operations in flight.
 *
 * <p>JSON (see {@link BenchReport#toJson()}) uses the snake_case names given by the annotations:
 * {@code workload, backend, inflight, ops, seconds, ops_per_s, mb_per_s, p50_us, p95_us, p99_us,
 * cpu_us_per_op, ctx_switches_per_op, ratios, note, error}.
 *
 * @param workload what was run, e.g. {@code "cold rand 4k"}
 * @param backend who ran it, e.g. {@code "nio"}, {@code "io_uring"}, {@code "fio psync"}
 * @param inflight operations kept outstanding (fio: iodepth, or numjobs for psync)
 * @param ops operations completed in the measured interval
 * @param seconds length of the measured interval in seconds
 * @param opsPerS operations per second
 * @param mbPerS megabytes (10^6 bytes) transferred per second
 * @param p50Us median latency in µs, from submission to completion
 * @param p95Us 95th percentile latency in µs
 * @param p99Us 99th percentile latency in µs
 * @param cpuUsPerOp CPU time (user + system) of the whole process per operation, µs
 *     ({@link ProcessUsage})
 * @param ctxSwitchesPerOp context switches (voluntary + involuntary) of the whole process per
 *     operation
 * @param ratios this row against reference rows of the same run (see {@link Ratio}); may be empty
 * @param note free text shown beside the figures: how CPU splits into user and system, what a
 *     reference tool reported, ...; may be empty
 * @param error why the row has no figures (e.g. the backend could not start); null when it ran.
 *     When set, every figure is null.
 *
 * <p>Figures are null when unknown. Thread-safety: immutable.
 */
@JsonPropertyOrder({"workload", "backend", "inflight", "ops", "seconds", "ops_per_s", "mb_per_s",
        "p50_us", "p95_us", "p99_us", "cpu_us_per_op", "ctx_switches_per_op", "ratios", "note", "error"})
public record BenchRow(
        @JsonProperty("workload") String workload,
        @JsonProperty("backend") String backend,
        @JsonProperty("inflight") int inflight,
        @JsonProperty("ops") @Nullable Long ops,
        @JsonProperty("seconds") @Nullable Double seconds,
        @JsonProperty("ops_per_s") @Nullable Double opsPerS,
        @JsonProperty("mb_per_s") @Nullable Double mbPerS,
        @JsonProperty("p50_us") @Nullable Double p50Us,
        @JsonProperty("p95_us") @Nullable Double p95Us,
        @JsonProperty("p99_us") @Nullable Double p99Us,
        @JsonProperty("cpu_us_per_op") @Nullable Double cpuUsPerOp,
        @JsonProperty("ctx_switches_per_op") @Nullable Double ctxSwitchesPerOp,
        @JsonProperty("ratios") List<Ratio> ratios,
        @JsonProperty("note") @Nullable String note,
        @JsonProperty("error") @Nullable String error) {

    public BenchRow {
        ratios = List.copyOf(ratios);
        note = note == null ? "" : note;
        opsPerS = finite(opsPerS);
        mbPerS = finite(mbPerS);
        p50Us = finite(p50Us);
        p95Us = finite(p95Us);
        p99Us = finite(p99Us);
        cpuUsPerOp = finite(cpuUsPerOp);
        ctxSwitchesPerOp = finite(ctxSwitchesPerOp);
    }

    private static @Nullable Double finite(@Nullable Double d) {
        return d == null || d.isNaN() || d.isInfinite() ? null : d;
    }

    /**
     * A row measured by a {@link ClosedLoop}; the note gets the user/system split of the CPU time
     * appended.
     */
    public static BenchRow of(String workload, String backend, int inflight, ClosedLoop.Result r, @Nullable String note) {
        return new BenchRow(workload, backend, inflight, r.ops(), r.seconds(), r.opsPerSecond(),
                r.megabytesPerSecond(), r.latency().p50Us(), r.latency().p95Us(), r.latency().p99Us(),
                r.usage().cpuMicrosPer(r.ops()), r.usage().ctxSwitchesPer(r.ops()), List.of(),
                note == null || note.isEmpty() ? r.cpuSplit() : note + "; " + r.cpuSplit(), null);
    }

    /**
     * A row that could not be measured, saying why ({@code error}: an exception's message, which
     * may be null; the row then says "unknown error", so that it still counts as not run).
     */
    public static BenchRow failed(String workload, String backend, int inflight, @Nullable String error) {
        return new BenchRow(workload, backend, inflight, null, null, null, null, null, null, null,
                null, null, List.of(), "", error == null ? "unknown error" : error);
    }

    /** This row with {@code ratio} appended to its ratios. */
    public BenchRow withRatio(Ratio ratio) {
        List<Ratio> r = new ArrayList<>(ratios);
        r.add(ratio);
        return new BenchRow(workload, backend, inflight, ops, seconds, opsPerS, mbPerS, p50Us, p95Us,
                p99Us, cpuUsPerOp, ctxSwitchesPerOp, r, note, error);
    }

    /** True when the row carries figures (it ran). */
    public boolean ran() {
        return error == null;
    }
}
