package dev.kura.config;

import org.jspecify.annotations.Nullable;

/**
 * A configuration file that cannot be used: an unknown key, a wrong type, a nonsense value, a
 * missing environment variable. The message names the file, the line and the key path, e.g.
 * {@code kura.yaml:12: serve.buckets[0].region: region must be set}.
 *
 * <p>Thread-safety: immutable.
 */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final int line;
    private final String key;

    public ConfigException(String source, int line, String key, String problem, @Nullable Throwable cause) {
        super(source + (line > 0 ? ":" + line : "") + ": " + (key == null || key.isEmpty() ? "" : key + ": ") + problem, cause);
        this.source = source;
        this.line = line;
        this.key = key;
    }

    /** The file name (or other source name) the config came from. */
    public String source() {
        return source;
    }

    /** 1-based line of the offending key, or 0 when unknown. */
    public int line() {
        return line;
    }

    /** The key path, e.g. {@code serve.buckets[0].region}, or empty for the whole file. */
    public String key() {
        return key;
    }
}
