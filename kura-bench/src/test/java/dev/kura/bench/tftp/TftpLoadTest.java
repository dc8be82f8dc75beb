package dev.kura.bench.tftp;

import dev.kura.testing.Requires;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The load client of {@code kura bench tftp} against a real server, tftpd-hpa ({@code in.tftpd},
 * Debian package tftpd-hpa, installed by {@code .ci/run}): it must count every byte and transfer,
 * and report a missing file as failures.
 */
class TftpLoadTest {

    @Test
    void countsTransfersBytesAndFailuresAgainstTftpdHpa(@TempDir Path root) throws Exception {
        Path tftpd = Requires.tool("in.tftpd", "tftpd-hpa");
        Requires.root("run in.tftpd, which chroots into the served directory (-s) and sets its user (-u root)");
        byte[] content = new byte[100_000];
        new Random(1).nextBytes(content);
        Files.write(root.resolve("f.bin"), content);
        int port;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Process p = new ProcessBuilder(tftpd.toString(), "-L", "-a", "127.0.0.1:" + port, "-s", "-u", "root", root.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            InetSocketAddress server = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            // in.tftpd binds at start; the first requests may arrive before it does: retry a little.
            TftpLoad.Result ok = null;
            for (int i = 0; i < 20 && (ok == null || ok.failures() > 0); i++) {
                Thread.sleep(100);
                ok = new TftpLoad(server, "f.bin", content.length, 1024, 1).run(4, TimeUnit.MILLISECONDS.toNanos(300));
            }
            assertThat(ok.failures()).as(String.valueOf(ok.firstError())).isZero();
            assertThat(ok.transfers()).isGreaterThanOrEqualTo(4);
            assertThat(ok.bytes()).isEqualTo(ok.transfers() * content.length);
            assertThat(ok.transferNanos().getTotalCount()).isEqualTo(ok.transfers());
            assertThat(ok.grantedWindowsize()).isEqualTo(1);

            TftpLoad.Result missing = new TftpLoad(server, "nope.bin", 1, 1024, 1).run(2, TimeUnit.MILLISECONDS.toNanos(100));
            assertThat(missing.failures()).isEqualTo(missing.transfers()).isPositive();
            assertThat(missing.firstError()).startsWith("ERROR 1");
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
