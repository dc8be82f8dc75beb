package dev.kura.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.jspecify.annotations.Nullable;

/**
 * What a test needs from the machine it runs on: root, a Debian tool, a kernel feature.
 *
 * <h2>Why</h2>
 * kura's honest tests use real parts: tmpfs and loop mounts, {@code setpriv}, the
 * {@code kernel.io_uring_disabled} sysctl, fio, curl, tftp-hpa. On a developer's laptop (no root,
 * few tools) those tests must skip and say why, the way Netty's native transport tests skip where
 * the transport is unavailable; {@code ./mvnw verify} then passes and lists the skips. On CI the
 * same skip would hide a test that never ran, so there the need is a requirement: when the
 * environment variable {@code CI} is {@code true} (set by {@code .ci/run} and by every common CI
 * service) a missing need <em>fails</em> the test with the same reason.
 *
 * <p>This was chosen over scanning surefire's XML for skips after the build: the failure is
 * reported at the test, with its reason, in the normal test report, and no list of "allowed"
 * skip messages has to be kept in step with the tests. {@code .ci/run} still prints every skip
 * it finds, as a check that the rule above holds.
 *
 * <p>Each reason starts with {@value #PREFIX}, so that skips for a machine need can be told apart
 * from other skips in surefire's reports.
 *
 * <p>Thread-safety: stateless; every method may be called from any thread.
 */
public final class Requires {
    /** The start of every skip (or, on CI, failure) message this class produces. */
    public static final String PREFIX = "requires ";

    private static final List<Path> SYSTEM_DIRS =
            List.of(Path.of("/usr/local/sbin"), Path.of("/usr/sbin"), Path.of("/sbin"));

    private Requires() {
    }

    /**
     * The test needs root (uid 0), e.g. for a mount or another user id.
     *
     * @param forWhat what root is needed for, e.g. "mount a 1 MiB tmpfs"
     * @throws org.opentest4j.TestAbortedException when not root (the test is skipped)
     * @throws AssertionError when not root on CI
     */
    public static void root(String forWhat) {
        need(isRoot(), () -> "root (uid 0) to " + forWhat + "; running as uid " + uid());
    }

    /**
     * The test runs {@code command}, from the Debian package {@code debianPackage}; returns where it
     * is. Looks on {@code PATH} and in the sbin directories (where util-linux and tftpd-hpa put
     * theirs, often not on a user's {@code PATH}).
     *
     * @param command a program name without directory, e.g. "curl"
     * @param debianPackage the package that installs it, named in the reason ("apt-get install ...")
     * @return the absolute path of the executable
     * @throws org.opentest4j.TestAbortedException when absent (skipped)
     * @throws AssertionError when absent on CI
     */
    public static Path tool(String command, String debianPackage) {
        Path found = locate(command);
        need(found != null, () -> "the tool " + command + " (apt-get install " + debianPackage + "); not found on PATH or in "
                + SYSTEM_DIRS);
        return Objects.requireNonNull(found, command); // need() has thrown when it is absent
    }

    /**
     * The test needs a kernel feature the machine may lack or have disabled.
     *
     * @param available whether the feature works here (the caller probes it)
     * @param feature the feature, e.g. "io_uring"
     * @param why what the probe found, e.g. "EPERM: kernel.io_uring_disabled=2"
     * @throws org.opentest4j.TestAbortedException when unavailable (skipped)
     * @throws AssertionError when unavailable on CI
     */
    public static void kernel(boolean available, String feature, String why) {
        need(available, () -> "the kernel feature " + feature + ": " + why);
    }

    /**
     * The test stores files whose names are not ASCII (for example S3 keys in the embedded
     * S3Proxy origin, which keeps one file per key). The JVM encodes file names with
     * {@code sun.jnu.encoding}, taken from the locale ({@code LANG}, {@code LC_ALL}); under the
     * POSIX locale it is ASCII and such a name cannot be created.
     *
     * @param sample a name the test will use
     * @throws org.opentest4j.TestAbortedException when the name cannot be encoded (skipped)
     * @throws AssertionError when it cannot be encoded on CI
     */
    public static void fileNames(String sample) {
        String enc = System.getProperty("sun.jnu.encoding", "UTF-8");
        boolean ok;
        try {
            ok = java.nio.charset.Charset.forName(enc).newEncoder().canEncode(sample);
        } catch (IllegalArgumentException e) {
            ok = false;
        }
        need(ok, () -> "a locale whose file-name encoding holds \"" + sample + "\" (sun.jnu.encoding is " + enc
                + "; run with LANG=C.UTF-8 or another UTF-8 locale)");
    }

    /**
     * Whether this run is CI's, which must provide every need: the environment variable {@code CI}
     * is {@code true}.
     */
    public static boolean onCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Whether this process runs as root (uid 0), read from {@code /proc/self/status}. */
    public static boolean isRoot() {
        return uid() == 0;
    }

    private static void need(boolean met, Supplier<String> what) {
        if (met) {
            return;
        }
        String reason = PREFIX + what.get();
        if (onCi()) {
            Assertions.fail(reason + " (CI=true: CI must provide it, so this is a failure, not a skip)");
        }
        Assumptions.abort(reason);
    }

    private static long uid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    // "Uid:\treal\teffective\tsaved\tfs": the effective id decides privileges
                    return Long.parseLong(line.substring("Uid:".length()).trim().split("\\s+", -1)[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static @Nullable Path locate(String command) {
        List<Path> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(":", -1)) {
                if (!d.isEmpty()) {
                    dirs.add(Path.of(d));
                }
            }
        }
        dirs.addAll(SYSTEM_DIRS);
        for (Path d : dirs) {
            Path p = d.resolve(command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p.toAbsolutePath();
            }
        }
        return null;
    }
}
