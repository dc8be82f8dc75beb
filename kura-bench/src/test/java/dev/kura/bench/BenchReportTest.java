package dev.kura.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BenchReportTest {
    private static final Machine MACHINE = new Machine(2, "Test CPU", "6.8.0-test", "25", Instant.parse("2026-11-22T03:00:00Z"));

    private static BenchRow row(String backend, double ops, double cpu, double cs) {
        return new BenchRow("cold rand 4k", backend, 32, (long) ops, 1.0, ops, ops * 4096 / 1e6, 40.0, 60.0,
                90.5, cpu, cs, List.of(), "", null);
    }

    @Test
    void ratiosAreTakenAgainstTheReferenceRow() {
        BenchReport report = new BenchReport("t", MACHINE);
        BenchRow fio = report.add(row("fio io_uring", 80_000, 5.0, 0.05));
        BenchRow nio = report.add(row("nio", 60_000, 20.0, 2.0));
        BenchRow ours = report.add(row("io_uring", 72_000, 8.0, 0.1));
        ours = report.addRatio(ours, fio);
        ours = report.addRatio(ours, nio);
        assertThat(report.rows().get(2)).isSameAs(ours);
        assertThat(ours.ratios()).hasSize(2);
        assertThat(ours.ratios().get(0).vs()).isEqualTo("fio io_uring");
        assertThat(ours.ratios().get(0).ops()).isCloseTo(0.9, within(1e-9));
        assertThat(ours.ratios().get(1).cpu()).isCloseTo(0.4, within(1e-9));
        assertThat(ours.ratios().get(1).ctx()).isCloseTo(0.05, within(1e-9));
    }

    @Test
    void failedRowsGetNoRatioAndShowTheirError() {
        BenchReport report = new BenchReport("kura bench io", MACHINE);
        BenchRow nio = report.add(row("nio", 60_000, 20.0, 2.0));
        BenchRow bad = report.add(BenchRow.failed("cold rand 4k", "io_uring", 32, "EPERM: io_uring_disabled=2"));
        assertThat(report.addRatio(bad, nio).ratios()).isEmpty();
        String text = print(report);
        assertThat(text).contains("NOT RUN: EPERM: io_uring_disabled=2");
    }

    @Test
    void textTableIsAlignedAndCarriesMachineAndRatios() {
        BenchReport report = new BenchReport("kura bench io", MACHINE);
        BenchRow nio = report.add(row("nio", 60_000, 20.0, 2.0));
        BenchRow ours = report.add(row("io_uring", 72_000, 8.0, 0.1));
        report.addRatio(ours, nio);
        report.addNote("target: ok");
        String[] lines = print(report).split("\n");
        assertThat(lines[0]).isEqualTo("kura bench io");
        assertThat(lines[1]).contains("2 CPUs (Test CPU)").contains("kernel 6.8.0-test").contains("2026-11-22T03:00:00Z");
        String header = lines[3];
        assertThat(header).startsWith("workload").contains("ops/s").contains("cpu us/op").contains("cs/op");
        // right-aligned figures end in the same column as their header
        int opsEnd = header.indexOf("ops/s") + "ops/s".length();
        assertThat(lines[4].substring(0, opsEnd)).endsWith("60000");
        assertThat(lines[5].substring(0, opsEnd)).endsWith("72000");
        assertThat(lines[5]).contains("vs nio: 1.20x 0.40x 0.05x");
        assertThat(lines[lines.length - 1]).isEqualTo("target: ok");
    }

    @Test
    void jsonIsOneArrayOfOneObjectPerRowWithSnakeCaseFields() throws Exception {
        BenchReport report = new BenchReport("kura bench io", MACHINE);
        BenchRow nio = report.add(row("nio", 60_000, 20.0, 2.0));
        report.addRatio(report.add(row("io_uring", 72_000, 8.0, 0.1)), nio);
        report.add(BenchRow.failed("warm rand 4k", "io_uring", 1, "no ring"));
        JsonNode a = new ObjectMapper().readTree(report.toJson());
        assertThat(a.isArray()).isTrue();
        assertThat(a).hasSize(3);
        JsonNode o = a.get(1);
        for (String f : List.of("workload", "backend", "inflight", "ops_per_s", "mb_per_s", "p50_us", "p95_us",
                "p99_us", "cpu_us_per_op", "ctx_switches_per_op", "ratios")) {
            assertThat(o.has(f)).as(f).isTrue();
        }
        assertThat(o.get("backend").asText()).isEqualTo("io_uring");
        assertThat(o.get("inflight").asInt()).isEqualTo(32);
        assertThat(o.get("ops_per_s").asDouble()).isEqualTo(72_000);
        assertThat(o.get("p99_us").asDouble()).isEqualTo(90.5);
        assertThat(o.get("ratios").get(0).get("vs").asText()).isEqualTo("nio");
        assertThat(o.get("ratios").get(0).get("ops").asDouble()).isCloseTo(1.2, within(1e-9));
        assertThat(o.get("error").isNull()).isTrue();
        JsonNode failed = a.get(2);
        assertThat(failed.get("error").asText()).isEqualTo("no ring");
        assertThat(failed.get("ops_per_s").isNull()).isTrue();
    }

    @Test
    void nanFiguresBecomeNull() {
        BenchRow r = new BenchRow("w", "b", 1, 0L, 1.0, 0.0, 0.0, null, null, null, Double.NaN, Double.NaN,
                List.of(), null, null);
        assertThat(r.cpuUsPerOp()).isNull();
        assertThat(r.note()).isEmpty();
        assertThat(BenchReport.fmt(r.cpuUsPerOp(), 2)).isEqualTo("-");
    }

    private static String print(BenchReport report) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        report.printText(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
