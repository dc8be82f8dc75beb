package dev.kura.io.conformance;

import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a small {@code main} of kura-io's test classes in a fresh JVM: for what cannot be arranged
 * inside the test JVM, such as another user id ({@code setpriv}) or a virtual-thread scheduler
 * with a single carrier (system properties read once at start).
 *
 * <p>The child's class path holds only kura-io's main and test classes (no jars), copied into a
 * world-readable directory so that an unprivileged child can load them.
 */
public final class ChildJvm {
    private ChildJvm() {
    }

    /** What a child printed and how it exited. */
    public record Result(int exitCode, String output) {
    }

    /**
     * Runs {@code main} with {@code args}, prefixed by {@code launcher} (e.g. {@code setpriv ...}).
     *
     * @param scratch a directory for the copied class path; it is made world-traversable
     * @throws IOException when the child cannot be started or does not end within {@code timeoutSeconds}
     */
    public static Result run(Path scratch, List<String> launcher, List<String> jvmOptions, Class<?> main,
                             List<String> args, long timeoutSeconds) throws IOException, InterruptedException {
        Path cp = Files.createTempDirectory(scratch, "cp-");
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(cp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Set<Path> sources = new LinkedHashSet<>();
        sources.add(location(FileIo.class));
        sources.add(location(main));
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (Path src : sources) {
            Path dst = cp.resolve("e" + i++ + (Files.isDirectory(src) ? "" : ".jar"));
            copyReadable(src, dst);
            entries.add(dst.toString());
        }
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:-UsePerfData");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(String.join(java.io.File.pathSeparator, entries));
        cmd.add(main.getName());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).directory(cp.toFile()).redirectErrorStream(true).start();
        byte[][] out = new byte[1][];
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = ("reading child output failed: " + e).getBytes(StandardCharsets.UTF_8);
            }
        });
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            reader.join(5000);
            throw new IOException("child " + main.getSimpleName() + " did not finish in " + timeoutSeconds
                    + " s: " + String.join(" ", cmd) + "\n" + (out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8)));
        }
        reader.join(10_000);
        return new Result(p.exitValue(), out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8));
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void copyReadable(Path src, Path dst) throws IOException {
        if (!Files.isDirectory(src)) {
            Files.copy(src, dst, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(dst, PosixFilePermissions.fromString("rw-r--r--"));
            return;
        }
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                    Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rwxr-xr-x"));
                } else {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
    }

    /** Encodes every field of {@code c}, for {@link #decode(String)} in the child. */
    public static String encode(IoConfig c) {
        return String.join(",", c.backend().name(), "" + c.rings(), "" + c.queueDepth(), "" + c.sqPoll(),
                "" + c.sqPollCpu(), "" + c.fixedBuffers(), "" + c.fixedBufferSize(), "" + c.registeredFiles(),
                "" + c.nioThreads());
    }

    /** The inverse of {@link #encode(IoConfig)}. */
    public static IoConfig decode(String s) {
        String[] f = s.split(",");
        return new IoConfig(Backend.valueOf(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                Boolean.parseBoolean(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]), Integer.parseInt(f[6]),
                Integer.parseInt(f[7]), Integer.parseInt(f[8]));
    }
}
