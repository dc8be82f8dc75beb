package dev.kura.cli.config;

import dev.kura.config.ConfigLoader;

import java.nio.file.Path;

/**
 * The whole kura.yaml: one section per concern. A missing section takes its defaults.
 *
 * @param io file I/O backend ({@code io:})
 * @param cache the disk and memory cache ({@code cache:})
 * @param serve the S3 caching proxy ({@code serve:}); null when absent (then {@code kura serve}
 *     needs no file: it runs its demo)
 * @param tftp TFTP server ({@code tftp:})
 * @param logging log levels by logger ({@code logging:}), applied again on a hot reload
 */
public record KuraConfig(IoSection io, CacheSection cache, dev.kura.s3.ServeConfig serve, dev.kura.tftp.TftpConfig tftp,
                         LoggingSection logging) {
    public KuraConfig {
        if (io == null) {
            io = IoSection.defaults();
        }
        if (cache == null) {
            cache = CacheSection.defaults();
        }
        if (tftp == null) {
            tftp = dev.kura.tftp.TftpConfig.defaults(null);
        }
        if (logging == null) {
            logging = LoggingSection.defaults();
        }
    }

    /** Reads and validates a config file. @throws dev.kura.config.ConfigException naming key and line */
    public static KuraConfig load(Path file) {
        return ConfigLoader.load(file, KuraConfig.class);
    }

    /** The configuration used when no file is given. */
    public static KuraConfig defaults() {
        return ConfigLoader.parse("", "defaults", KuraConfig.class);
    }
}
