package dev.kura.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs {@code kura bench cache} end to end on NIO with tiny settings: every row must be there,
 * measured, and the JSON valid. It checks that the benchmark runs, not how fast anything is.
 */
@Timeout(180)
class CacheBenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void quickRunOnNioProducesEveryRow() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new CacheBenchCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute("--quick", "--json", "--backend", "nio", "--dir", dir.toString(), "--inflight", "4",
                "--large-inflight", "1", "--warmup", "100ms", "--duration", "600ms", "--recovery", "300");
        assertThat(exit).as(err.toString()).isZero();
        JsonNode rows = new ObjectMapper().readTree(out.toString());
        Set<String> seen = new HashSet<>();
        for (JsonNode r : rows) {
            assertThat(r.get("error").isNull()).as(r.toString()).isTrue();
            assertThat(r.get("ops").asLong()).as(r.toString()).isPositive();
            seen.add(r.get("workload").asText());
        }
        assertThat(seen).contains("get 4k", "put 4k", "mix 70/30 4k", "get 10m", "put 10m",
                "recovery (snapshot)", "recovery (scan)");
        JsonNode snap = null;
        for (JsonNode r : rows) {
            if (r.get("workload").asText().equals("recovery (snapshot)")) {
                snap = r;
            }
        }
        assertThat(snap).isNotNull();
        assertThat(snap.get("ops").asLong()).as("every entry recovered").isEqualTo(300);
    }
}
