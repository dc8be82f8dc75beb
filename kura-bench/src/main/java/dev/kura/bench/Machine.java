package dev.kura.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The machine a benchmark ran on, printed at the top of every report: figures mean little without it.
 *
 * @param cpus processors available to the JVM
 * @param cpuModel the {@code model name} line of {@code /proc/cpuinfo}, or "unknown"
 * @param kernel the kernel release ({@code uname -r})
 * @param jdk the Java runtime version and vendor
 * @param date when the run started, UTC, to the second
 *
 * <p>Thread-safety: immutable.
 */
public record Machine(int cpus, String cpuModel, String kernel, String jdk, Instant date) {

    /** This machine, now. */
    public static Machine current() {
        return new Machine(Runtime.getRuntime().availableProcessors(), readCpuModel(), readKernel(),
                Runtime.version() + " (" + System.getProperty("java.vendor", "?") + ")",
                Instant.now().truncatedTo(ChronoUnit.SECONDS));
    }

    /** One line: {@code "2026-11-22T03:00:00Z  2 CPUs (AMD EPYC ...)  kernel 6.8.0  JDK 25+36 (Eclipse Adoptium)"}. */
    public String describe() {
        return date + "  " + cpus + " CPUs (" + cpuModel + ")  kernel " + kernel + "  JDK " + jdk;
    }

    private static String readCpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (Exception e) {
            // not Linux: fall through
        }
        return "unknown";
    }

    private static String readKernel() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (Exception e) {
            return System.getProperty("os.name") + " " + System.getProperty("os.version");
        }
    }
}
