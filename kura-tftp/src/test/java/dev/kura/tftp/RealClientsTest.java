package dev.kura.tftp;

import dev.kura.testing.Requires;
import dev.kura.config.DataSize;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * kura's server against the real clients from Debian: tftp-hpa's {@code tftp}, {@code atftp}
 * and {@code curl}. They must be installed ({@code .ci/run} installs them); a missing one fails
 * the test, it is not skipped.
 */
class RealClientsTest extends ServerFixture {

    @TempDir
    Path work;

    @BeforeAll
    static void clientsInstalled() {
        Requires.tool("tftp", "tftp-hpa");
        Requires.tool("atftp", "atftp");
        Requires.tool("curl", "curl");
    }

    record Run(int exit, String output) {
    }

    private Run run(String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(work.toFile());
        Process p = pb.start();
        // tftp-hpa reads commands from stdin when -c is absent; give it nothing.
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("client finished: " + Arrays.toString(cmd)).isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private String port() {
        return Integer.toString(server.port());
    }

    @Test
    void tftpHpaDownloadsInOctetAndNetascii() throws Exception {
        start(defaults());
        byte[] content = randomFile("boot/kernel.img", 1_500_000, 1);
        String text = "menu\nlabel linux\r\n  kernel vmlinuz\rend\n".repeat(300);
        Files.writeString(root.resolve("boot/menu.cfg"), text);
        Run r = run("tftp", "-m", "octet", "127.0.0.1", port(), "-c", "get", "boot/kernel.img", "k.img");
        assertThat(sha256(work.resolve("k.img"))).as(r.output()).isEqualTo(sha256(content));
        r = run("tftp", "-m", "netascii", "127.0.0.1", port(), "-c", "get", "boot/menu.cfg", "menu.cfg");
        assertThat(Files.readString(work.resolve("menu.cfg"))).as(r.output()).isEqualTo(text);
    }

    @Test
    void tftpHpaRollsOverPast65535BlocksOfA33MiBFile() throws Exception {
        start(defaults());
        Path big = root.resolve("sparse.img");
        long size = 65_536L * 512 + 777;
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(size);
            f.seek(size - 5);
            f.write("tail!".getBytes(StandardCharsets.US_ASCII));
            f.seek(40_000_000L / 2);
            f.write("middle".getBytes(StandardCharsets.US_ASCII));
        }
        Run r = run("tftp", "-m", "octet", "127.0.0.1", port(), "-c", "get", "sparse.img", "s.img");
        assertThat(Files.size(work.resolve("s.img"))).as(r.output()).isEqualTo(size);
        assertThat(sha256(work.resolve("s.img"))).isEqualTo(sha256(big));
    }

    @Test
    void atftpNegotiatesBlksizeTsizeTimeoutAndWindowsize() throws Exception {
        start(defaults().withMaxima(1468, 16));
        byte[] content = randomFile("pxe.bin", 2_000_000, 2);
        Run r = run("atftp", "--trace", "--option", "blksize 1400", "--option", "windowsize 8", "--option", "tsize",
                "--option", "timeout 2", "-g", "-r", "pxe.bin", "-l", "pxe.bin", "127.0.0.1", port());
        assertThat(r.output()).contains("received OACK").contains("blksize: 1400").contains("windowsize: 8")
                .contains("tsize: 2000000").contains("timeout: 2");
        assertThat(sha256(work.resolve("pxe.bin"))).isEqualTo(sha256(content));
        // A windowsize over the cap is lowered to it in the OACK.
        r = run("atftp", "--trace", "--option", "windowsize 64", "-g", "-r", "pxe.bin", "-l", "pxe2.bin", "127.0.0.1", port());
        assertThat(r.output()).contains("windowsize: 16");
        assertThat(sha256(work.resolve("pxe2.bin"))).isEqualTo(sha256(content));
        Files.writeString(root.resolve("a.txt"), "x\ny\r\n");
        run("atftp", "--option", "mode netascii", "-g", "-r", "a.txt", "-l", "a.txt", "127.0.0.1", port());
        assertThat(Files.readString(work.resolve("a.txt"))).isEqualTo("x\ny\r\n");
    }

    @Test
    void curlDownloadsWithBlksizeAndTsize() throws Exception {
        start(defaults());
        byte[] content = randomFile("img/rootfs.bin", 3_000_000, 3);
        for (String blksize : new String[]{"512", "1024", "1468"}) {
            Run r = run("curl", "-sS", "--tftp-blksize", blksize, "-o", "c" + blksize, "tftp://127.0.0.1:" + port() + "/img/rootfs.bin");
            assertThat(r.exit()).as(r.output()).isZero();
            assertThat(sha256(work.resolve("c" + blksize))).isEqualTo(sha256(content));
        }
        Run r = run("curl", "-sS", "-o", "none", "tftp://127.0.0.1:" + port() + "/img/missing.bin");
        assertThat(r.exit()).isNotZero();
    }

    @Test
    void curlNetasciiGetsTheWireForm() throws Exception {
        start(defaults());
        String text = "a\nb\r\nc\rd\n".repeat(200);
        Files.writeString(root.resolve("t.txt"), text);
        // curl asks for netascii but stores the bytes as they came: the RFC 764 form.
        Run r = run("curl", "-sS", "-o", "t.txt", "tftp://127.0.0.1:" + port() + "/t.txt;mode=netascii");
        assertThat(r.exit()).as(r.output()).isZero();
        String wire = text.replace("\r", "\r\0").replace("\n", "\r\n");
        assertThat(sha256(work.resolve("t.txt"))).isEqualTo(sha256(wire.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void traversalFromRealClientsIsRefused() throws Exception {
        start(defaults());
        Files.writeString(root.resolve("ok.txt"), "ok");
        Run r = run("tftp", "127.0.0.1", port(), "-c", "get", "../../../../etc/passwd", "p1");
        assertThat(r.output()).contains("Error code 2");
        r = run("tftp", "127.0.0.1", port(), "-c", "get", "/etc/passwd", "p2");
        assertThat(r.output()).contains("Error code 2");
        r = run("curl", "-sS", "-o", "p3", "tftp://127.0.0.1:" + port() + "/..%2f..%2fetc%2fpasswd");
        assertThat(r.exit()).isNotZero();
        assertThat(work.resolve("p1")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyFile());
        assertThat(new String(run("curl", "-sS", "tftp://127.0.0.1:" + port() + "/ok.txt").output())).isEqualTo("ok");
    }

    @Test
    void tftpHpaPutIsRefusedByDefaultAndStoredWhenAllowed() throws Exception {
        byte[] content = new byte[200_000];
        new java.util.Random(4).nextBytes(content);
        Files.write(work.resolve("upload.bin"), content);
        start(defaults());
        Run r = run("tftp", "-m", "octet", "127.0.0.1", port(), "-c", "put", "upload.bin", "upload.bin");
        assertThat(r.output()).contains("Error code 2");
        assertThat(root.resolve("upload.bin")).doesNotExist();
        server.close();
        io.close();

        Files.createDirectories(root.resolve("incoming"));
        start(defaults().withWrite(new TftpConfig.Write(true, List.of("incoming/*.bin"), false, DataSize.ofMebibytes(1))));
        r = run("tftp", "-m", "octet", "127.0.0.1", port(), "-c", "put", "upload.bin", "incoming/upload.bin");
        assertThat(sha256(root.resolve("incoming/upload.bin"))).as(r.output()).isEqualTo(sha256(content));
        r = run("tftp", "-m", "octet", "127.0.0.1", port(), "-c", "put", "upload.bin", "incoming/upload.bin");
        assertThat(r.output()).contains("Error code 6");
        r = run("tftp", "-m", "octet", "127.0.0.1", port(), "-c", "put", "upload.bin", "other.bin");
        assertThat(r.output()).contains("Error code 2");
        List<String> names = new ArrayList<>();
        try (var s = Files.list(root.resolve("incoming"))) {
            s.forEach(p -> names.add(p.getFileName().toString()));
        }
        assertThat(names).containsExactly("upload.bin");
    }
}
