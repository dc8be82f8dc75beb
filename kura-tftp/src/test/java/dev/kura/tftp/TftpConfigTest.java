package dev.kura.tftp;

import dev.kura.config.ConfigException;
import dev.kura.config.ConfigLoader;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code tftp:} section binds from YAML with kebab-case keys, defaults and key-naming errors. */
class TftpConfigTest {

    record Root(TftpConfig tftp) {
    }

    @Test
    void bindsEveryKey() {
        String yaml = """
                tftp:
                  listen: ["0.0.0.0:6969", "[::1]:6970"]
                  root: /srv/tftp
                  blksize-max: 8192
                  windowsize-max: 32
                  timeout: 2s
                  max-timeout: 10s
                  retries: 7
                  max-transfers: 500
                  max-transfers-per-client: 20
                  read-chunk: 32KiB
                  metrics-listen: 127.0.0.1:9169
                  write:
                    enabled: true
                    allow: ["uploads/*.log"]
                    overwrite: true
                    max-size: 1MiB
                """;
        TftpConfig c = ConfigLoader.parse(yaml, "kura.yaml", Root.class).tftp();
        assertThat(c.listen()).containsExactly("0.0.0.0:6969", "[::1]:6970");
        assertThat(c.root()).isEqualTo("/srv/tftp");
        assertThat(c.blksizeMax()).isEqualTo(8192);
        assertThat(c.windowsizeMax()).isEqualTo(32);
        assertThat(c.timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.maxTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.retries()).isEqualTo(7);
        assertThat(c.maxTransfers()).isEqualTo(500);
        assertThat(c.maxTransfersPerClient()).isEqualTo(20);
        assertThat(c.readChunk().bytes()).isEqualTo(32 * 1024);
        assertThat(c.metricsListen()).isEqualTo("127.0.0.1:9169");
        assertThat(c.write().enabled()).isTrue();
        assertThat(c.write().allow()).containsExactly("uploads/*.log");
        assertThat(c.write().overwrite()).isTrue();
        assertThat(c.write().maxSize().bytes()).isEqualTo(1 << 20);
    }

    @Test
    void missingKeysTakeDefaults() {
        TftpConfig c = ConfigLoader.parse("tftp:\n  root: /srv\n", "kura.yaml", Root.class).tftp();
        assertThat(c.listen()).containsExactly("[::]:69");
        assertThat(c.blksizeMax()).isEqualTo(1468);
        assertThat(c.windowsizeMax()).isEqualTo(16);
        assertThat(c.timeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.retries()).isEqualTo(5);
        assertThat(c.write().enabled()).isFalse();
        assertThat(c.write().maxSize().bytes()).isEqualTo(64L << 20);
    }

    @Test
    void badValuesNameTheKeyAndLine() {
        assertThatThrownBy(() -> ConfigLoader.parse("tftp:\n  blksize-max: 70000\n", "kura.yaml", Root.class))
                .isInstanceOf(ConfigException.class).hasMessageContaining("kura.yaml:").hasMessageContaining("tftp.blksize-max");
        assertThatThrownBy(() -> ConfigLoader.parse("tftp:\n  windowsize: 4\n", "kura.yaml", Root.class))
                .isInstanceOf(ConfigException.class).hasMessageContaining("windowsize");
        assertThatThrownBy(() -> ConfigLoader.parse("tftp:\n  write:\n    enabled: true\n", "kura.yaml", Root.class))
                .isInstanceOf(ConfigException.class).hasMessageContaining("tftp.write.allow");
        assertThatThrownBy(() -> ConfigLoader.parse("tftp:\n  listen: [\"nohost\"]\n", "kura.yaml", Root.class))
                .isInstanceOf(ConfigException.class).hasMessageContaining("tftp.listen");
        assertThatThrownBy(() -> new TftpConfig.Write(true, List.of("../etc/*"), false, null))
                .hasMessageContaining("tftp.write.allow");
    }
}
