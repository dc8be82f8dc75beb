package dev.kura.bench.internal.io;

import dev.kura.bench.internal.Units;
import dev.kura.io.Backend;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IoBenchTest {

    @Test
    void fioRunsNiosReferenceAsPsyncJobsOverDisjointRegions() {
        List<String> a = IoBench.fioArgs(IoWorkload.COLD_SEQ_1M, Backend.NIO, 32, Path.of("/d/f"), 1L << 30,
                Duration.ofSeconds(4));
        assertThat(a).contains("--filename=/d/f", "--rw=read", "--bs=1048576", "--direct=1", "--ioengine=psync",
                "--numjobs=32", "--size=33554432", "--offset_increment=33554432", "--time_based", "--runtime=4000ms");
        assertThat(a).noneMatch(s -> s.startsWith("--iodepth"));
    }

    @Test
    void fioRunsIoUringsReferenceAtTheSameDepth() {
        List<String> a = IoBench.fioArgs(IoWorkload.WARM_RAND_4K, Backend.IO_URING, 256, Path.of("/dev/shm/f"),
                256L << 20, Duration.ofMillis(500));
        assertThat(a).contains("--rw=randread", "--bs=4096", "--direct=0", "--ioengine=io_uring", "--iodepth=256",
                "--size=268435456", "--norandommap", "--runtime=500ms");
        assertThat(a).noneMatch(s -> s.startsWith("--numjobs"));
    }

    @Test
    void workloadsParseAndName() {
        assertThat(IoWorkload.parse("cold-rand-4k")).isEqualTo(IoWorkload.COLD_RAND_4K);
        assertThat(IoWorkload.parse("warm seq 1m")).isEqualTo(IoWorkload.WARM_SEQ_1M);
        assertThat(IoWorkload.COLD_SEQ_1M.label()).isEqualTo("cold seq 1m");
        assertThat(IoWorkload.WARM_RAND_4K.blockSize()).isEqualTo(4096);
        assertThatThrownBy(() -> IoWorkload.parse("hot")).hasMessageContaining("cold-rand-4k");
    }

    @Test
    void sizesAndDurations() {
        assertThat(Units.parseSize("4k")).isEqualTo(4096);
        assertThat(Units.parseSize("256m")).isEqualTo(256L << 20);
        assertThat(Units.parseSize("1G")).isEqualTo(1L << 30);
        assertThat(Units.parseSize("1GiB")).isEqualTo(1L << 30);
        assertThat(Units.parseSize("512")).isEqualTo(512);
        assertThatThrownBy(() -> Units.parseSize("0")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Units.parseSize("x")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Units.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Units.parseDuration("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(Units.parseDuration("2")).isEqualTo(Duration.ofSeconds(2));
        assertThat(Units.parseDuration("1m")).isEqualTo(Duration.ofMinutes(1));
        assertThatThrownBy(() -> Units.parseDuration("soon")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Units.formatSize(1L << 30)).isEqualTo("1g");
        assertThat(Units.formatSize(64L << 20)).isEqualTo("64m");
    }

    @Test
    void planRefusesAutoAndSillyDepths() {
        assertThatThrownBy(() -> new IoBench.Plan(Path.of("a"), Path.of("b"), 4 << 20, 4 << 20,
                List.of(IoWorkload.COLD_RAND_4K), List.of(0), List.of(Backend.NIO), Duration.ZERO,
                Duration.ofSeconds(1), false, false)).hasMessageContaining("in flight");
        assertThatThrownBy(() -> new IoBench.Plan(Path.of("a"), Path.of("b"), 4 << 20, 4 << 20,
                List.of(IoWorkload.COLD_RAND_4K), List.of(1), List.of(Backend.AUTO), Duration.ZERO,
                Duration.ofSeconds(1), false, false)).hasMessageContaining("nio, io_uring");
    }
}
