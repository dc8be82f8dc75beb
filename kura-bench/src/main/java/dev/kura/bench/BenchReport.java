package dev.kura.bench;

import org.jspecify.annotations.Nullable;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A benchmark's result: the machine it ran on, a title, and its rows; printed as an aligned text
 * table or as one JSON array.
 *
 * <p>Usage (every {@code kura bench} subcommand does this):
 * <pre>{@code
 * BenchReport report = new BenchReport("kura bench cache", Machine.current());
 * BenchRow ref = report.add(BenchRow.of("get 4k", "nio", 32, resultNio, ""));
 * BenchRow ours = report.add(BenchRow.of("get 4k", "io_uring", 32, resultUring, ""));
 * report.addRatio(ours, ref);                   // appends "vs nio: 1.20x ops 0.40x cpu ..." to ours
 * if (json) System.out.println(report.toJson()); else report.printText(System.out);
 * }</pre>
 * The JSON is a single array with one object per row and nothing else (the machine goes to the
 * text header only), so that {@code jq} and scripts can read it directly; field names are listed
 * in {@link BenchRow}.
 *
 * <p>Thread-safety: not thread-safe; build a report on one thread.
 */
public final class BenchReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String title;
    private final Machine machine;
    private final List<BenchRow> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    /**
     * @param title what ran, e.g. {@code "kura bench io"}
     * @param machine where it ran
     */
    public BenchReport(String title, Machine machine) {
        this.title = title;
        this.machine = machine;
    }

    /** Appends a row and returns it. */
    public BenchRow add(BenchRow row) {
        rows.add(row);
        return row;
    }

    /**
     * Appends to {@code row} (which must be in this report) its {@link Ratio} to {@code reference},
     * when both ran.
     *
     * @return the row as now stored
     * @throws IllegalArgumentException when {@code row} is not in this report
     */
    public BenchRow addRatio(BenchRow row, BenchRow reference) {
        int i = indexOf(row);
        if (!row.ran() || !reference.ran()) {
            return row;
        }
        BenchRow updated = row.withRatio(Ratio.of(row, reference));
        rows.set(i, updated);
        return updated;
    }

    private int indexOf(BenchRow row) {
        for (int i = 0; i < rows.size(); i++) {
            if (rows.get(i) == row) {
                return i;
            }
        }
        throw new IllegalArgumentException("row not in this report: " + row.workload() + " " + row.backend());
    }

    /** Adds a line printed under the table (text only), e.g. a target check or a warning. */
    public void addNote(String line) {
        notes.add(line);
    }

    /** The rows, in the order added. */
    public List<BenchRow> rows() {
        return Collections.unmodifiableList(rows);
    }

    /** The lines added with {@link #addNote(String)}. */
    public List<String> notes() {
        return Collections.unmodifiableList(notes);
    }

    /** The first row matching {@code p}, or null. */
    public @Nullable BenchRow find(Predicate<BenchRow> p) {
        return rows.stream().filter(p).findFirst().orElse(null);
    }

    public Machine machine() {
        return machine;
    }

    /** The rows as one JSON array, one object per row (see {@link BenchRow} for the fields). */
    public String toJson() {
        try {
            return JSON.writeValueAsString(rows);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("rows are plain records; Jackson cannot fail on them", e);
        }
    }

    /** Prints the title, the machine, the table with its ratios, then the notes. */
    public void printText(PrintStream out) {
        out.println(title);
        out.println(machine.describe());
        out.println();
        List<Column> cols = List.of(
                new Column("workload", false, BenchRow::workload),
                new Column("backend", false, BenchRow::backend),
                new Column("inflight", true, r -> Integer.toString(r.inflight())),
                new Column("ops/s", true, r -> fmt(r.opsPerS(), 0)),
                new Column("MB/s", true, r -> fmt(r.mbPerS(), 1)),
                new Column("p50 us", true, r -> fmt(r.p50Us(), 1)),
                new Column("p95 us", true, r -> fmt(r.p95Us(), 1)),
                new Column("p99 us", true, r -> fmt(r.p99Us(), 1)),
                new Column("cpu us/op", true, r -> fmt(r.cpuUsPerOp(), 2)),
                new Column("cs/op", true, r -> fmt(r.ctxSwitchesPerOp(), 3)),
                new Column("ratios (ops, cpu, cs)", false, BenchReport::ratios),
                new Column("note", false, r -> r.ran() ? r.note() : "NOT RUN: " + r.error()));
        int[] w = new int[cols.size()];
        List<String[]> cells = new ArrayList<>();
        String[] head = new String[cols.size()];
        for (int c = 0; c < cols.size(); c++) {
            head[c] = cols.get(c).name;
            w[c] = head[c].length();
        }
        for (BenchRow r : rows) {
            String[] line = new String[cols.size()];
            for (int c = 0; c < cols.size(); c++) {
                line[c] = cols.get(c).value.apply(r);
                w[c] = Math.max(w[c], line[c].length());
            }
            cells.add(line);
        }
        out.println(line(head, w, cols));
        String prev = null;
        for (int i = 0; i < rows.size(); i++) {
            if (prev != null && !prev.equals(rows.get(i).workload())) {
                out.println();
            }
            prev = rows.get(i).workload();
            out.println(line(cells.get(i), w, cols));
        }
        if (!notes.isEmpty()) {
            out.println();
            notes.forEach(out::println);
        }
    }

    private static String line(String[] cells, int[] w, List<Column> cols) {
        StringBuilder sb = new StringBuilder();
        for (int c = 0; c < cells.length; c++) {
            if (c > 0) {
                sb.append("  ");
            }
            String v = cells[c];
            boolean last = c == cells.length - 1;
            if (cols.get(c).right) {
                sb.append(" ".repeat(w[c] - v.length())).append(v);
            } else {
                sb.append(v);
                if (!last) {
                    sb.append(" ".repeat(w[c] - v.length()));
                }
            }
        }
        return sb.toString().stripTrailing();
    }

    private static String ratios(BenchRow r) {
        List<String> parts = new ArrayList<>();
        for (Ratio x : r.ratios()) {
            parts.add("vs " + x.vs() + ": " + times(x.ops()) + " " + times(x.cpu()) + " " + times(x.ctx()));
        }
        return String.join("; ", parts);
    }

    private static String times(@Nullable Double d) {
        return d == null ? "-" : String.format(Locale.ROOT, "%.2fx", d);
    }

    /** Formats a figure with {@code decimals} places, or "-" when it is missing. */
    static String fmt(@Nullable Double d, int decimals) {
        if (d == null) {
            return "-";
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", d);
    }

    private record Column(String name, boolean right, Function<BenchRow, String> value) {
    }
}
