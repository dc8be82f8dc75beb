package dev.kura.cli;

import dev.kura.tftp.TftpConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The launcher's JVM sizing follows the configured limits. */
class JvmOptionsCommandTest {

    @Test
    void tftpHeapAndDirectMemoryFollowTheTransferLimits() {
        TftpConfig small = TftpConfig.defaults("/srv").withLimits(100, 100);
        TftpConfig big = TftpConfig.defaults("/srv").withLimits(2000, 1000);
        JvmOptionsCommand.Sizing s = JvmOptionsCommand.tftp(small);
        JvmOptionsCommand.Sizing b = JvmOptionsCommand.tftp(big);
        // 32 MiB + 100 x 16 KiB = 33.6 MiB, rounded up; 64 MiB + 100 x (16 x 1472 + 2 x 16 KiB).
        assertThat(s.flags()).contains("-XX:+UseSerialGC").contains("-Xmx34m").contains("-XX:MaxDirectMemorySize=70m");
        assertThat(b.flags()).contains("-Xmx64m").contains("-XX:MaxDirectMemorySize=172m");
        assertThat(b.why()).contains("2000 max-transfers");
        // Serving a bucket through the cache: room for fills; the memory tier itself is native memory.
        TftpConfig bucket = big.withSource(new TftpConfig.Source("boot", null, null, null, false, null, null, null,
                null, null, 0));
        assertThat(JvmOptionsCommand.tftp(bucket).flags()).contains("-Xmx128m");
    }

    @Test
    void serveHeapLeavesTheNativeMemoryTierOut() {
        JvmOptionsCommand.Sizing s = JvmOptionsCommand.serve(1L << 30);
        assertThat(s.flags()).contains("-XX:+UseG1GC").contains("-Xmx1024m").contains("-XX:MaxDirectMemorySize=512m");
        assertThat(s.why()).contains("memory tier 1024 MiB native");
    }
}
