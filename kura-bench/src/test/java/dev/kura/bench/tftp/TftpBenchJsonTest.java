package dev.kura.bench.tftp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code kura bench tftp --json}: the rows come out as JSON that parses, field for field. */
class TftpBenchJsonTest {
    @Test
    void rowsAreWrittenAsParsableJsonWithEveryFigure() throws Exception {
        TftpBench.Row ok = new TftpBench.Row("kura", "1m \"quoted\"", 10, 16, 16, 812.345, 93.1, 900, 0, 1.5, 9.25,
                3.456, 7.891, 110.04, 0, null, TftpBench.Losses.NONE);
        TftpBench.Row failed = new TftpBench.Row("tftpd-hpa", "64m", 100, 1, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 12.5,
                "timeout\nafter 5 s", new TftpBench.Losses(12, 4, 1.5, 2500.25,
                java.util.Map.of(Download.Failure.NO_ANSWER, 3L), new NetCounters(7, 0, 40, 2), 1001, 12.3, 3.5, 41.25));
        JsonNode rows = new ObjectMapper().readTree(TftpBench.toJson(List.of(ok, failed)));
        assertThat(rows.isArray()).isTrue();
        assertThat(rows).hasSize(2);
        JsonNode a = rows.get(0);
        assertThat(a.get("server").asText()).isEqualTo("kura");
        assertThat(a.get("file").asText()).isEqualTo("1m \"quoted\"");
        assertThat(a.get("concurrency").asInt()).isEqualTo(10);
        assertThat(a.get("windowsizeGranted").asInt()).isEqualTo(16);
        assertThat(a.get("mbPerSecond").asDouble()).isEqualTo(812.35);
        assertThat(a.get("p99Ms").asDouble()).isEqualTo(9.25);
        assertThat(a.get("clientCpuMsPerMiB").asDouble()).isEqualTo(7.89);
        assertThat(a.get("serverRssMiB").asDouble()).isEqualTo(110.04);
        assertThat(a.has("error")).isFalse();
        JsonNode b = rows.get(1);
        assertThat(b.get("failures").asLong()).isEqualTo(3);
        assertThat(b.get("serverPssMiB").asDouble()).isEqualTo(12.5);
        assertThat(b.get("error").asText()).isEqualTo("timeout\nafter 5 s");
        assertThat(b.get("clientRetransmits").asLong()).isEqualTo(12);
        assertThat(b.get("outOfOrderData").asLong()).isEqualTo(4);
        assertThat(b.get("firstAnswerP99Ms").asDouble()).isEqualTo(2500.25);
        assertThat(b.get("udpRcvbufErrors").asLong()).isEqualTo(7);
        assertThat(b.get("udpNoPorts").asLong()).isEqualTo(40);
        assertThat(b.get("backlogDrops").asLong()).isEqualTo(2);
        assertThat(b.get("serverPeakProcesses").asLong()).isEqualTo(1001);
        assertThat(b.get("clientLagMaxMs").asDouble()).isEqualTo(41.25);
        assertThat(b.get("failuresByKind").get("NO_ANSWER").asLong()).isEqualTo(3);
        assertThat(a.get("failuresByKind").size()).isZero();
    }
}
