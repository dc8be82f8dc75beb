package dev.kura.cli;

import dev.kura.cli.config.KuraConfig;
import dev.kura.config.ConfigLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The tftp: section in kura.yaml and the exit codes of {@code kura tftp} on bad usage. */
class TftpCommandTest {

    @Test
    void tftpSectionBindsInKuraYaml() {
        KuraConfig c = ConfigLoader.parse("tftp:\n  root: /srv/tftp\n  windowsize-max: 8\n", "kura.yaml", KuraConfig.class);
        assertThat(c.tftp().root()).isEqualTo("/srv/tftp");
        assertThat(c.tftp().windowsizeMax()).isEqualTo(8);
        assertThat(KuraConfig.defaults().tftp().write().enabled()).isFalse();
    }

    @Test
    void missingRootAndBadConfigExitTwo(@TempDir Path dir) throws Exception {
        StringWriter err = new StringWriter();
        var cl = Kura.commandLine();
        cl.setErr(new PrintWriter(err, true));
        assertThat(cl.execute("tftp", "--listen", "127.0.0.1:0")).isEqualTo(2);
        assertThat(err.toString()).contains("--root");
        Path bad = dir.resolve("kura.yaml");
        Files.writeString(bad, "tftp:\n  blksize-max: 3\n");
        assertThat(cl.execute("tftp", "--root", dir.toString(), "--config", bad.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("kura.yaml:2").contains("tftp.blksize-max must be 8..65464");
    }
}
