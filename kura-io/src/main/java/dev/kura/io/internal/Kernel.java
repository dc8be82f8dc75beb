package dev.kura.io.internal;

import java.nio.file.Files;
import java.nio.file.Path;

/** Facts about the running kernel, read from {@code /proc}. */
public final class Kernel {
    private Kernel() {
    }

    /** {@code uname -r}, from {@code /proc/sys/kernel/osrelease}; "unknown" off Linux. */
    public static String release() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (Exception e) {
            return System.getProperty("os.name") + " " + System.getProperty("os.version");
        }
    }

    /**
     * The value of the {@code kernel.io_uring_disabled} sysctl (Linux 6.6+; 0 allowed, 1 only for
     * the {@code io_uring_group}, 2 disabled), or -1 when the file does not exist.
     */
    public static int ioUringDisabled() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/kernel/io_uring_disabled")).trim());
        } catch (Exception e) {
            return -1;
        }
    }
}
