package dev.kura.bench;

import dev.kura.testing.Requires;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs {@code kura bench io} end to end with tiny files and 100 ms rows: every row must be there
 * and the JSON valid. It checks that the benchmark runs, not how fast anything is. Needs fio
 * (Debian package, installed by {@code .ci/run}).
 */
@Timeout(120)
class IoBenchCommandTest {
    private final String id = UUID.randomUUID().toString().substring(0, 8);
    private final Path coldDir = Path.of("target", "bench-smoke-" + id);
    private final Path warmDir = Path.of("/dev/shm", "kura-bench-smoke-" + id);

    private record Run(int exit, String out, String err) {
    }

    private Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new IoBenchCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of("--warm-dir", warmDir.toString(),
                "--size", "4m", "--warm-size", "4m", "--warmup", "0ms", "--duration", "100ms", "--no-install"));
        if (!List.of(args).contains("--dir")) {
            all.addAll(List.of("--dir", coldDir.toString()));
        }
        all.addAll(List.of(args));
        int exit = cl.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    @AfterEach
    void removeFiles() throws IOException {
        for (Path d : List.of(coldDir, warmDir)) {
            if (Files.isDirectory(d)) {
                try (Stream<Path> s = Files.list(d)) {
                    for (Path p : s.toList()) {
                        Files.delete(p);
                    }
                }
                Files.delete(d);
            }
        }
    }

    @Test
    void jsonHasEveryRowForEveryWorkloadDepthAndBackend() throws Exception {
        Requires.tool("fio", "fio");
        Run r = run("--json", "--inflight", "4");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode rows = new ObjectMapper().readTree(r.out());
        assertThat(rows.isArray()).isTrue();
        // 4 workloads x (nio, fio psync, io_uring, fio io_uring); one depth keeps the test short
        assertThat(rows).hasSize(16);
        Set<String> seen = new HashSet<>();
        for (JsonNode row : rows) {
            String key = row.get("workload").asText() + "|" + row.get("backend").asText() + "|" + row.get("inflight").asInt();
            assertThat(seen.add(key)).as("duplicate " + key).isTrue();
            for (String f : List.of("workload", "backend", "inflight", "ops_per_s", "p50_us", "p99_us",
                    "cpu_us_per_op", "ctx_switches_per_op")) {
                assertThat(row.has(f)).as(key + " has " + f).isTrue();
            }
            String backend = row.get("backend").asText();
            if (backend.equals("io_uring")) {
                // runs once the io_uring backend is in the build; until then the row says why not
                if (!row.get("error").isNull()) {
                    assertThat(row.get("error").asText()).contains("could not start");
                    continue;
                }
            }
            assertThat(row.get("error").isNull()).as(key + ": " + row.get("error")).isTrue();
            assertThat(row.get("ops").asLong()).as(key).isPositive();
            assertThat(row.get("ops_per_s").asDouble()).as(key).isPositive();
            assertThat(row.get("p50_us").asDouble()).as(key).isPositive();
            assertThat(row.get("p99_us").asDouble()).as(key).isGreaterThanOrEqualTo(row.get("p50_us").asDouble());
            assertThat(row.get("cpu_us_per_op").asDouble()).as(key).isPositive();
        }
        for (String w : List.of("cold rand 4k", "cold seq 1m", "warm rand 4k", "warm seq 1m")) {
            for (int n : List.of(4)) {
                for (String b : List.of("nio", "fio psync", "io_uring", "fio io_uring")) {
                    assertThat(seen).contains(w + "|" + b + "|" + n);
                }
            }
        }
        JsonNode nio = rows.get(0);
        assertThat(nio.get("backend").asText()).isEqualTo("nio");
        assertThat(nio.get("ratios").get(0).get("vs").asText()).isEqualTo("fio psync");
        assertThat(nio.get("ratios").get(0).get("ops").asDouble()).isPositive();
        // the cold file is read with O_DIRECT in 4 KiB and 1 MiB blocks: MB/s follows from ops/s
        assertThat(nio.get("mb_per_s").asDouble()).isEqualTo(nio.get("ops_per_s").asDouble() * 4096 / 1e6,
                org.assertj.core.data.Offset.offset(1e-6 * nio.get("mb_per_s").asDouble()));
        assertThat(r.err()).contains("creating");
    }

    @Test
    void textTableWithTargetsAndCleanDeletesTheFiles() {
        Run r = run("--workload", "cold-rand-4k", "--inflight", "32", "--no-fio");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("kura bench io\n").contains("CPUs").contains("kernel").contains("JDK");
        assertThat(r.out()).contains("workload").contains("cpu us/op").contains("cold rand 4k  nio");
        assertThat(r.out()).contains("target cold rand 4k @32: io_uring ops/s >= 0.9x fio io_uring");
        assertThat(r.out()).contains("target warm rand 4k @32").contains("not measured (row not in this run)");
        assertThat(r.out()).contains("target cold seq 1m: io_uring ops/s >= 0.9x fio io_uring: not measured");
        assertThat(r.out()).doesNotContain("warning");
        assertThat(Files.exists(coldDir.resolve("kura-bench-io-4m.dat"))).isTrue();

        Run again = run("--workload", "cold-rand-4k", "--inflight", "1", "--no-fio", "--backend", "nio");
        assertThat(again.err()).as("the file is reused").doesNotContain("creating");

        Run clean = run("--clean");
        assertThat(clean.exit()).isZero();
        assertThat(clean.out()).contains("deleted");
        assertThat(Files.exists(coldDir.resolve("kura-bench-io-4m.dat"))).isFalse();
    }

    @Test
    void warnsWhenTheColdFileIsOnTmpfs() {
        Path shmCold = warmDir.resolve("cold");
        Run r = run("--dir", shmCold.toString(), "--workload", "cold-rand-4k", "--inflight", "1", "--no-fio",
                "--backend", "nio");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("warning: --dir " + shmCold + " is on tmpfs");
        assertThat(run("--clean", "--dir", shmCold.toString()).exit()).isZero();
        assertThat(shmCold.toFile().delete()).isTrue();
    }

    @Test
    void badOptionsAreRefusedWithExitCode2() {
        assertThat(run("--workload", "lukewarm").exit()).isEqualTo(2);
        assertThat(run("--size", "lots").exit()).isEqualTo(2);
        assertThat(run("--backend", "auto").exit()).isEqualTo(2);
        assertThat(run("--inflight", "0").exit()).isNotZero();
    }
}
