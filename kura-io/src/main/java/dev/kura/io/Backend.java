package dev.kura.io;

/**
 * Which file I/O backend to use: the config key {@code io.backend}.
 *
 * <ul>
 *   <li>{@link #AUTO}: probe io_uring at start (ring set-up, then {@code IORING_REGISTER_PROBE} for
 *       every opcode kura uses) and fall back to {@link #NIO} when it cannot run, logging one line
 *       that names the backend chosen and why.</li>
 *   <li>{@link #IO_URING}: io_uring or an error saying why it cannot run here.</li>
 *   <li>{@link #NIO}: {@link java.nio.channels.FileChannel} positional I/O on a pool of platform
 *       threads; portable, and the baseline io_uring is measured against.</li>
 * </ul>
 */
public enum Backend {
    AUTO, IO_URING, NIO;

    /** The name used in config files and reports: {@code auto}, {@code io_uring}, {@code nio}. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Parses a config value, case-insensitively; {@code io-uring} and {@code iouring} are accepted.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Backend parse(String value) {
        String v = value.trim().toLowerCase(java.util.Locale.ROOT).replace('-', '_');
        return switch (v) {
            case "auto" -> AUTO;
            case "io_uring", "iouring", "uring" -> IO_URING;
            case "nio" -> NIO;
            default -> throw new IllegalArgumentException(
                    "io.backend: '" + value + "' is not one of auto, io_uring, nio");
        };
    }
}
