package dev.kura.cli;

import dev.kura.cli.config.KuraConfig;
import dev.kura.config.ConfigException;
import dev.kura.config.ConfigLoader;
import dev.kura.io.Backend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KuraConfigTest {

    @Test
    void ioSectionBindsAndFillsDefaults() {
        KuraConfig c = ConfigLoader.parse("io:\n  backend: io_uring\n  queue-depth: 64\n  fixed-buffer-size: 128KiB\n",
                "kura.yaml", KuraConfig.class);
        assertThat(c.io().toIoConfig().backend()).isEqualTo(Backend.IO_URING);
        assertThat(c.io().toIoConfig().queueDepth()).isEqualTo(64);
        assertThat(c.io().toIoConfig().fixedBufferSize()).isEqualTo(128 * 1024);
        assertThat(KuraConfig.defaults().io().toIoConfig().backend()).isEqualTo(Backend.AUTO);
    }

    @Test
    void cacheSectionBindsSizesAndDurability() {
        KuraConfig c = ConfigLoader.parse("""
                cache:
                  dir: /var/cache/kura
                  max-size: 2GiB
                  max-item-size: 512MiB
                  durability: fsync
                  memory:
                    max-size: 64MiB
                    max-item-size: 256KiB
                """, "kura.yaml", KuraConfig.class);
        var cc = c.cache().toCacheConfig();
        assertThat(cc.dir()).isEqualTo(Path.of("/var/cache/kura"));
        assertThat(cc.maxSize()).isEqualTo(2L << 30);
        assertThat(cc.maxItemSize()).isEqualTo(512L << 20);
        assertThat(cc.memoryMaxSize()).isEqualTo(64L << 20);
        assertThat(cc.memoryMaxItemSize()).isEqualTo(256L << 10);
        assertThat(cc.durability()).isEqualTo(dev.kura.cache.CacheConfig.Durability.FSYNC);
        assertThat(KuraConfig.defaults().cache().toCacheConfig().dir()).isEqualTo(Path.of("kura-data", "cache"));
        assertThatThrownBy(() -> ConfigLoader.parse("cache:\n  max-size: 1MiB\n  max-item-size: 2MiB\n", "kura.yaml", KuraConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("kura.yaml:3:")
                .hasMessageContaining("cache.max-item-size");
    }

    @Test
    void cacheSharedBindsWithDefaultsAndRefusesNonsense() {
        assertThat(KuraConfig.defaults().cache().shared()).as("off by default").isNull();
        KuraConfig c = ConfigLoader.parse("""
                cache:
                  shared:
                    uris: [redis://127.0.0.1:6379]
                    max-object-size: 256KiB
                    timeout: 20ms
                    breaker: {failure-rate: 25, open-for: 2s}
                """, "kura.yaml", KuraConfig.class);
        dev.kura.s3.SharedCacheConfig s = c.cache().shared();
        assertThat(s).isNotNull();
        assertThat(s.enabled()).isTrue();
        assertThat(s.mode()).isEqualTo(dev.kura.s3.SharedCacheConfig.Mode.STANDALONE);
        assertThat(s.maxObjectSize().bytes()).isEqualTo(256 * 1024);
        assertThat(s.timeout()).isEqualTo(java.time.Duration.ofMillis(20));
        assertThat(s.maxTtl()).isEqualTo(java.time.Duration.ofHours(24));
        assertThat(s.keyPrefix()).isEqualTo("kura:");
        assertThat(s.breaker().failureRate()).isEqualTo(25);
        assertThat(s.breaker().window()).isEqualTo(20);
        assertThat(s.breaker().openFor()).isEqualTo(java.time.Duration.ofSeconds(2));
        assertThatThrownBy(() -> ConfigLoader.parse("cache:\n  shared:\n    uris: [redis://a:1]\n    timeot: 1s\n",
                "kura.yaml", KuraConfig.class)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("kura.yaml:4:").hasMessageContaining("unknown key 'timeot'");
        assertThatThrownBy(() -> ConfigLoader.parse("cache:\n  shared:\n    uris: [http://a:1]\n",
                "kura.yaml", KuraConfig.class)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("shared.uris");
        assertThatThrownBy(() -> ConfigLoader.parse("cache:\n  shared:\n    uris: [redis://a:1, redis://b:1]\n",
                "kura.yaml", KuraConfig.class)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("mode: cluster");
    }

    @Test
    void outOfRangeValueNamesKeyAndLine() {
        assertThatThrownBy(() -> ConfigLoader.parse("io:\n  backend: nio\n  queue-depth: 9000\n", "kura.yaml", KuraConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("kura.yaml:3:")
                .hasMessageContaining("io.queue-depth must be 1..4096, was 9000");
    }

    @Test
    void checkConfigCommandExitsTwoWithTheMessage(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("kura.yaml");
        Files.writeString(bad, "io:\n  backnd: nio\n");
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        int rc;
        try {
            rc = Kura.commandLine().execute("check-config", bad.toString());
        } finally {
            System.setErr(err);
        }
        assertThat(rc).isEqualTo(2);
        assertThat(buf.toString()).contains("kura.yaml:2: io.backnd: unknown key 'backnd'");
        Files.writeString(bad, "io:\n  backend: nio\n");
        assertThat(Kura.commandLine().execute("check-config", bad.toString())).isZero();
    }

    @Test
    void loggingLevelsBindApplyOnReloadAndUndoWhenRemoved(@TempDir Path dir) throws Exception {
        String serve = """
                serve:
                  buckets:
                    - bucket: my-bucket
                      endpoint: http://127.0.0.1:1
                      access: public
                """;
        Path file = dir.resolve("kura.yaml");
        Files.writeString(file, serve + "logging:\n  levels:\n    dev.kura.reload.probe: DEBUG\n    kura.access: \"OFF\"\n");
        KuraConfig started = KuraConfig.load(file);
        assertThat(started.logging().levels()).containsEntry("dev.kura.reload.probe",
                dev.kura.cli.config.LoggingSection.Level.DEBUG);
        ch.qos.logback.classic.Logger probe = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger("dev.kura.reload.probe");
        ch.qos.logback.classic.Level accessBefore = ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger("kura.access")).getLevel();
        var read = ServeCommand.reread(file, started);
        assertThat(read.restartNeeded()).isEmpty();
        read.alsoApply().run();
        assertThat(probe.getLevel()).isEqualTo(ch.qos.logback.classic.Level.DEBUG);
        // The line removed from the file: the logger inherits again; a changed cache section needs a restart.
        Files.writeString(file, serve + "cache:\n  max-size: 3GiB\n");
        read = ServeCommand.reread(file, started);
        assertThat(read.restartNeeded()).containsExactly("cache");
        read.alsoApply().run();
        assertThat(probe.getLevel()).isNull();
        assertThat(((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("kura.access")).getLevel())
                .isEqualTo(accessBefore);
        Files.writeString(file, serve + "logging:\n  levels:\n    dev.kura: LOUD\n");
        assertThatThrownBy(() -> KuraConfig.load(file)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("kura.yaml:8").hasMessageContaining("logging.levels");
    }
}
