package dev.kura.bench.internal.io;

import dev.kura.bench.BenchReport;
import dev.kura.bench.BenchRow;
import dev.kura.bench.Machine;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class IoTargetsTest {
    private static final Machine MACHINE = new Machine(2, "cpu", "6.8", "25", Instant.EPOCH);

    private static BenchRow row(String workload, String backend, int n, double ops, double cpu, double cs) {
        return new BenchRow(workload, backend, n, (long) ops, 1.0, ops, ops * 4096 / 1e6, 10.0, 20.0, 30.0, cpu, cs,
                List.of(), "", null);
    }

    @Test
    void metMissedAndNotMeasuredAreTold() {
        BenchReport r = new BenchReport("t", MACHINE);
        String cr = "cold rand 4k";
        BenchRow nio = r.add(row(cr, "nio", 32, 60_000, 20, 1.0));
        BenchRow fio = r.add(row(cr, "fio io_uring", 32, 70_000, 5, 0.03));
        BenchRow ours = r.add(row(cr, "io_uring", 32, 66_500, 12, 0.05));
        ours = r.addRatio(ours, fio);
        r.addRatio(ours, nio);
        r.add(BenchRow.failed("cold seq 1m", "io_uring", 32, "no ring"));
        IoTargets.check(r);
        assertThat(r.notes()).containsExactly(
                "target cold rand 4k @32: io_uring ops/s >= 0.9x fio io_uring: 0.95x, met",
                "target cold rand 4k @32: io_uring ops/s >= 1.0x nio: 1.11x, met",
                "target cold rand 4k @32: io_uring cpu/op <= 0.5x nio: 0.60x, MISSED by 0.10x",
                "target cold rand 4k @32: io_uring ctx/op <= 0.1x nio: 0.05x, met",
                "target cold seq 1m @32: io_uring ops/s >= 0.9x fio io_uring: not measured (io_uring did not run, see its row)",
                "target warm rand 4k @32: io_uring ops/s >= 0.9x nio: not measured (row not in this run)");
    }
}
