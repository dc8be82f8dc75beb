package dev.kura.bench;

import dev.kura.testing.Requires;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class FioTest {

    /** A report fio 3.33 printed for 2 psync jobs of 4 KiB random O_DIRECT reads, 300 ms each. */
    @Test
    void parsesARealFioReport() throws Exception {
        String json = new String(FioTest.class.getResourceAsStream("/fio-psync-randread.json").readAllBytes());
        FioResult r = Fio.parse(json);
        assertThat(r.version()).isEqualTo("fio-3.33");
        assertThat(r.ios()).isEqualTo(11757);
        assertThat(r.bytes()).isEqualTo(48156672);
        assertThat(r.iops()).isCloseTo(39059.8, within(0.01));
        assertThat(r.mbPerS()).isCloseTo(159.988943, within(1e-6));
        assertThat(r.p50Us()).isCloseTo(47.872, within(1e-9));
        assertThat(r.p95Us()).isCloseTo(62.208, within(1e-9));
        assertThat(r.p99Us()).isCloseTo(117.248, within(1e-9));
        // (4.333333 + 19.5) % of job_runtime 600 ms (2 jobs x 300 ms)
        assertThat(r.cpuMicros()).isCloseTo((4.333333 + 19.5) / 100 * 600 * 1000, within(1e-3));
        assertThat(r.cpuUsPerOp()).isCloseTo(r.cpuMicros() / 11757, within(1e-9));
        assertThat(r.ctx()).isEqualTo(11759);
        assertThat(r.ctxSwitchesPerOp()).isCloseTo(11759.0 / 11757, within(1e-9));
        BenchRow row = r.toRow("cold rand 4k", "fio psync", 2);
        assertThat(row.opsPerS()).isEqualTo(r.iops());
        assertThat(r.process()).isNull();
        // the columns are fio's own figures
        assertThat(row.cpuUsPerOp()).isEqualTo(r.cpuUsPerOp());
        assertThat(row.ctxSwitchesPerOp()).isEqualTo(r.ctxSwitchesPerOp());
        assertThat(row.note()).contains("fio-3.33").contains("usr 4.3%").contains("sys 19.5%")
                .doesNotContain("whole fio");
    }

    @Test
    void refusesWhatIsNotAReport() {
        assertThatThrownBy(() -> Fio.parse("fio: some error")).isInstanceOf(Fio.FioException.class);
        assertThatThrownBy(() -> Fio.parse("{\"jobs\": []}")).isInstanceOf(Fio.FioException.class)
                .hasMessageContaining("no jobs");
    }

    /** Runs the real fio (CI installs the Debian package) on a small file. */
    @Test
    void runsFioAndReadsItsReport() throws Exception {
        Requires.tool("fio", "fio");
        Path fio = Fio.locate(System.err, false);
        Path file = Files.createTempFile(Path.of("target"), "fio-", ".dat");
        try {
            Files.write(file, new byte[1 << 20]);
            FioResult r = Fio.run(fio, List.of("--name=t", "--filename=" + file, "--size=1m", "--rw=randread",
                    "--bs=4k", "--ioengine=psync", "--time_based", "--runtime=100ms"), Duration.ofSeconds(30));
            assertThat(r.ios()).isPositive();
            assertThat(r.p50Us()).isNotNull().isPositive();
            assertThat(r.cpuMicros()).isPositive();
            // the whole fio process tree (RUSAGE_CHILDREN) includes the job threads fio measures itself
            assertThat(r.process()).isNotNull();
            assertThat(r.process().cpuNanos() / 1e3).isGreaterThanOrEqualTo(r.cpuMicros() * 0.99 - 1000);
            assertThat(r.process().ctxSwitches()).isGreaterThanOrEqualTo(r.ctx());
            BenchRow row = r.toRow("w", "fio psync", 1);
            assertThat(row.cpuUsPerOp()).isEqualTo(r.cpuUsPerOp());
            assertThat(row.note()).contains("whole fio incl. start-up");
            assertThatThrownBy(() -> Fio.run(fio, List.of("--name=t", "--filename=" + file, "--rw=nonsense"),
                    Duration.ofSeconds(30))).isInstanceOf(Fio.FioException.class).hasMessageContaining("exited");
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
