package dev.kura.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {

    enum Mode { FAST, SAFE_MODE }

    record Bucket(String prefix, String region, DataSize maxSize) {
        Bucket {
            if (region == null) {
                throw new IllegalArgumentException("region must be set");
            }
        }
    }

    record Section(String listenAddress, int port, Duration timeout, Mode mode, List<Bucket> buckets, boolean enabled) {
        Section {
            if (port == 0) {
                port = 8080;
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port must be 1..65535, was " + port);
            }
        }
    }

    record Root(Section serve) {
    }

    private static final Map<String, String> ENV = Map.of("REGION", "eu-west-1", "SECRET", "s3cr3t");

    private static Root parse(String yaml) {
        return ConfigLoader.parse(yaml, "kura.yaml", Root.class, ENV::get);
    }

    @Test
    void bindsKebabCaseKeysSizesDurationsEnumsAndEnv() {
        Root r = parse("""
                serve:
                  listen-address: 127.0.0.1
                  timeout: 250ms
                  mode: safe_mode
                  enabled: true
                  buckets:
                    - prefix: /data
                      region: ${REGION}
                      max-size: 10GiB
                    - prefix: /other
                      region: ${MISSING:-us-east-1}
                      max-size: 4096
                """);
        assertThat(r.serve().listenAddress()).isEqualTo("127.0.0.1");
        assertThat(r.serve().port()).isEqualTo(8080);
        assertThat(r.serve().timeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(r.serve().mode()).isEqualTo(Mode.SAFE_MODE);
        assertThat(r.serve().enabled()).isTrue();
        assertThat(r.serve().buckets()).extracting(Bucket::region).containsExactly("eu-west-1", "us-east-1");
        assertThat(r.serve().buckets().get(0).maxSize().bytes()).isEqualTo(10L << 30);
        assertThat(r.serve().buckets().get(1).maxSize().bytes()).isEqualTo(4096);
    }

    @Test
    void emptyFileBindsDefaults() {
        assertThat(parse("").serve()).isNull();
        assertThat(parse("# nothing\n").serve()).isNull();
    }

    @Test
    void unknownKeyNamesKeyLineAndKnownKeys() {
        assertThatThrownBy(() -> parse("""
                serve:
                  port: 9000
                  max_size: 3
                """))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("kura.yaml:3: serve.max_size: unknown key 'max_size'")
                .hasMessageContaining("listen-address");
    }

    @Test
    void constructorValidationPointsAtTheKeysLine() {
        ConfigException e = (ConfigException) org.assertj.core.api.Assertions.catchThrowable(() -> parse("""
                serve:
                  timeout: 1s
                  port: 70000
                """));
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).contains("port must be 1..65535, was 70000");
    }

    @Test
    void missingRequiredValueInListElementNamesThePath() {
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - prefix: /a
                      region: x
                    - prefix: /b
                """))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("serve.buckets[1]")
                .hasMessageContaining("region must be set");
    }

    @Test
    void wrongTypeAndBadUnitsAreRefusedWithTheLine() {
        assertThatThrownBy(() -> parse("serve:\n  port: lots\n"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("kura.yaml:2: serve.port:");
        assertThatThrownBy(() -> parse("serve:\n  timeout: 5\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("serve.timeout").hasMessageContaining("unit");
        assertThatThrownBy(() -> parse("serve:\n  buckets:\n    - region: a\n      max-size: 3 parsecs\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("unknown size unit");
        assertThatThrownBy(() -> parse("serve:\n  mode: turbo\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("serve.mode");
    }

    @Test
    void duplicateKeyAndBrokenYamlAreRefused() {
        assertThatThrownBy(() -> parse("serve:\n  port: 1\n  port: 2\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("port");
        assertThatThrownBy(() -> parse("serve: [\n"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("kura.yaml:");
    }

    @Test
    void unsetEnvironmentVariableIsAnErrorOnItsLine() {
        assertThatThrownBy(() -> parse("serve:\n  listen-address: ${NOPE}\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("kura.yaml:2:")
                .hasMessageContaining("NOPE is not set");
        assertThat(parse("serve:\n  listen-address: $${NOPE}\n").serve().listenAddress()).isEqualTo("${NOPE}");
    }

    @Test
    void dataSizesAndDurationsRoundTrip() {
        assertThat(DataSize.parse("512MiB").bytes()).isEqualTo(512L << 20);
        assertThat(DataSize.parse("1 GB").bytes()).isEqualTo(1_000_000_000L);
        assertThat(DataSize.parse("64k").bytes()).isEqualTo(65536);
        assertThat(DataSize.parse("1.5KiB").bytes()).isEqualTo(1536);
        assertThat(DataSize.ofBytes(512L << 20).toString()).isEqualTo("512MiB");
        assertThatThrownBy(() -> DataSize.parse("MiB")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(Durations.parse("PT30S")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
        assertThat(Durations.format(Duration.ofHours(2))).isEqualTo("2h");
    }
}
