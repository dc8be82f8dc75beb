package dev.kura.tftp;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link TftpServer#warmUp()}: the server answers its own two requests and keeps serving clients. */
class WarmupTest extends ServerFixture {

    @Test
    void warmUpIsAnsweredAndLeavesNothingBehind() throws Exception {
        byte[] small = randomFile("a-small.bin", 700, 1);
        randomFile("big.bin", 200_000, 2);
        start(defaults());
        assertThat(server.warmUp()).isTrue();
        // The self-request of the first block ended with the client's ERROR: nothing stays active.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.activeTransfers() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(server.activeTransfers()).isZero();
        assertThat(counter("kura.tftp.requests.refused")).isEqualTo(1);
        try (TestClient c = new TestClient(address())) {
            TestClient.Result r = c.get("a-small.bin", "octet", Map.of());
            assertThat(r.ok()).as(r.errorMessage()).isTrue();
            assertThat(r.data()).isEqualTo(small);
        }
    }

    @Test
    void warmUpOfAnEmptyRootOnlyProbesTheRefusal() throws Exception {
        start(defaults());
        assertThat(server.warmUp()).isTrue();
        assertThat(counter("kura.tftp.requests.refused")).isEqualTo(1);
        assertThat(counter("kura.tftp.transfers.failed") + counter("kura.tftp.transfers.completed")).isZero();
    }
}
