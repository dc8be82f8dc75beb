package dev.kura.s3;

import java.util.List;

/**
 * Where a hot reload ({@code SIGHUP}, {@code POST /admin/reload}) reads the configuration from:
 * usually the {@code kura.yaml} that {@code kura serve --config} started with, read and validated
 * again by the strict binder. See {@link ProxyServer#reloadFrom(ConfigSource)}.
 *
 * <p>Thread-safety: {@link #read()} is called from one reload at a time, on a thread of its own.
 */
@FunctionalInterface
public interface ConfigSource {

    /**
     * What a read found.
     *
     * @param serve the new {@code serve:} section
     * @param restartNeeded keys outside {@code serve:} that differ from the running process's and
     *     cannot change without a restart (e.g. {@code cache}, {@code io}); reported, not applied
     * @param alsoApply what else the file sets that is not kura-s3's (log levels), run once the
     *     reload is applied, never when it is refused
     */
    record Read(ServeConfig serve, List<String> restartNeeded, Runnable alsoApply) {
        public Read {
            restartNeeded = List.copyOf(restartNeeded);
            if (alsoApply == null) {
                alsoApply = () -> { };
            }
        }

        /** A read with nothing else to apply. */
        public Read(ServeConfig serve, List<String> restartNeeded) {
            this(serve, restartNeeded, () -> { });
        }
    }

    /**
     * Reads and validates the configuration again.
     *
     * @throws dev.kura.config.ConfigException when the file cannot be read or fails validation;
     *     its message ({@code file:line: key: message}) is what the operator sees
     */
    Read read();
}
