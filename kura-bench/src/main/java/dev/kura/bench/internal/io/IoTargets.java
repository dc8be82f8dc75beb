package dev.kura.bench.internal.io;

import dev.kura.bench.BenchReport;
import dev.kura.bench.BenchRow;
import dev.kura.bench.Ratio;

import java.util.Locale;

/**
 * The targets of issue 2, section 7, checked against one run's ratios and added to the report as
 * notes: met, missed (by how much), or not measured (and why). The figures are not tuned to pass;
 * a miss is reported as it is.
 *
 * <ul>
 *   <li>cold rand 4k, 32 in flight: io_uring &gt;= 0.9x fio io_uring and &gt;= 1.0x nio in ops/s,
 *       at &lt;= 0.5x nio's CPU per op and &lt;= 0.1x its context switches per op;</li>
 *   <li>cold seq 1m (every depth run): io_uring &gt;= 0.9x fio io_uring in ops/s;</li>
 *   <li>warm rand 4k, 32 in flight: io_uring &gt;= 0.9x nio in ops/s.</li>
 * </ul>
 */
final class IoTargets {
    private IoTargets() {
    }

    private enum Figure { OPS, CPU, CTX }

    static void check(BenchReport report) {
        String cr = IoWorkload.COLD_RAND_4K.label();
        check(report, cr, 32, "fio io_uring", Figure.OPS, 0.9, true);
        check(report, cr, 32, "nio", Figure.OPS, 1.0, true);
        check(report, cr, 32, "nio", Figure.CPU, 0.5, false);
        check(report, cr, 32, "nio", Figure.CTX, 0.1, false);
        String cs = IoWorkload.COLD_SEQ_1M.label();
        boolean anySeq = false;
        for (BenchRow r : report.rows()) {
            if (r.workload().equals(cs) && r.backend().equals("io_uring")) {
                check(report, cs, r.inflight(), "fio io_uring", Figure.OPS, 0.9, true);
                anySeq = true;
            }
        }
        if (!anySeq) {
            report.addNote("target " + cs + ": io_uring ops/s >= 0.9x fio io_uring: not measured (row not in this run)");
        }
        check(report, IoWorkload.WARM_RAND_4K.label(), 32, "nio", Figure.OPS, 0.9, true);
    }

    private static void check(BenchReport report, String workload, int inflight, String vs, Figure fig,
                              double bound, boolean atLeast) {
        String what = String.format(Locale.ROOT, "target %s @%d: io_uring %s %s %.1fx %s", workload, inflight,
                fig.name().toLowerCase(Locale.ROOT) + (fig == Figure.OPS ? "/s" : "/op"), atLeast ? ">=" : "<=",
                bound, vs);
        BenchRow row = report.find(r -> r.workload().equals(workload) && r.inflight() == inflight
                && r.backend().equals("io_uring"));
        if (row == null) {
            report.addNote(what + ": not measured (row not in this run)");
            return;
        }
        if (!row.ran()) {
            report.addNote(what + ": not measured (io_uring did not run, see its row)");
            return;
        }
        Ratio ratio = row.ratios().stream().filter(x -> x.vs().equals(vs)).findFirst().orElse(null);
        Double v = ratio == null ? null : switch (fig) {
            case OPS -> ratio.ops();
            case CPU -> ratio.cpu();
            case CTX -> ratio.ctx();
        };
        if (v == null) {
            report.addNote(what + ": not measured (no " + vs + " figure in this run)");
            return;
        }
        boolean met = atLeast ? v >= bound : v <= bound;
        report.addNote(String.format(Locale.ROOT, "%s: %.2fx, %s", what, v,
                met ? "met" : String.format(Locale.ROOT, "MISSED by %.2fx", Math.abs(v - bound))));
    }
}
