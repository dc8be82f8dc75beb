package dev.kura.bench;

import org.jspecify.annotations.Nullable;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One row's figures divided by a reference row's, measured in the same run: the form in which kura
 * quotes performance (absolute figures drift on shared machines, ratios much less).
 *
 * @param vs the reference row's backend, e.g. {@code "fio io_uring"} or {@code "nio"}
 * @param ops this row's ops/s over the reference's: above 1 is faster
 * @param cpu this row's CPU time per op over the reference's: below 1 is cheaper
 * @param ctx this row's context switches per op over the reference's: below 1 is fewer; null
 *     when the reference had none
 *
 * <p>Each ratio is null when either figure is missing. Thread-safety: immutable.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record Ratio(@JsonProperty("vs") String vs, @JsonProperty("ops") @Nullable Double ops,
                    @JsonProperty("cpu") @Nullable Double cpu, @JsonProperty("ctx") @Nullable Double ctx) {

    /** The ratios of {@code row} to {@code reference}; the reference is named by its backend. */
    public static Ratio of(BenchRow row, BenchRow reference) {
        return new Ratio(reference.backend(), div(row.opsPerS(), reference.opsPerS()),
                div(row.cpuUsPerOp(), reference.cpuUsPerOp()),
                div(row.ctxSwitchesPerOp(), reference.ctxSwitchesPerOp()));
    }

    private static @Nullable Double div(@Nullable Double a, @Nullable Double b) {
        if (a == null || b == null || b == 0 || a.isNaN() || b.isNaN()) {
            return null;
        }
        return a / b;
    }
}
