package dev.kura.s3;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A Debian tool the tests drive (awscli, python3 with boto3, rclone): found, run, its output kept. */
final class ExternalTool {
    /** Exit status and output of one run. */
    record Result(int exit, String out, String err) {
    }

    private ExternalTool() {
    }

    /**
     * The Debian package's executable ({@code /usr/bin/<name>}), else one on the PATH; skips the
     * test with the reason when absent ({@code .ci/run} installs it in CI).
     */
    static String require(String name, String debianPackage) {
        Path deb = Path.of("/usr/bin", name);
        if (Files.isExecutable(deb)) {
            return deb.toString();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir, name);
            if (!dir.isEmpty() && Files.isExecutable(p)) {
                return p.toString();
            }
        }
        assumeTrue(false, name + " is not installed (Debian package " + debianPackage + "; .ci/run installs it)");
        return null;
    }

    /** Runs {@code cmd} with {@code env} added to a clean environment (PATH and HOME kept); waits up to 3 minutes. */
    static Result run(List<String> cmd, Map<String, String> env, Path home) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(cmd));
        Map<String, String> e = pb.environment();
        e.keySet().removeIf(k -> k.startsWith("AWS_") || k.startsWith("RCLONE_"));
        e.put("HOME", home.toString());
        e.putAll(env);
        Path out = Files.createTempFile(home, "out", ".txt");
        Path err = Files.createTempFile(home, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(3, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException(cmd + " did not finish in 3 minutes");
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
