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

    /**
     * {@code python3} where it can import {@code modules} (e.g. {@code "boto3, s3transfer"}); skips
     * the test with the reason otherwise ({@code .ci/run} installs python3-boto3 in CI).
     */
    static String python(String modules, Path home) throws IOException, InterruptedException {
        String python = require("python3", "python3-boto3");
        Result has = run(List.of(python, "-c", "import " + modules), Map.of(), home);
        assumeTrue(has.exit() == 0, "requires " + modules + " for " + python
                + " (Debian package python3-boto3; .ci/run installs it)");
        return python;
    }

    /** Copies the test resource {@code name} (e.g. {@code /clients/boto3_checks.py}) into {@code dir}; returns the copy. */
    static Path resource(String name, Path dir) throws IOException {
        Path to = dir.resolve(name.substring(name.lastIndexOf('/') + 1));
        try (java.io.InputStream in = ExternalTool.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new java.io.FileNotFoundException("test resource " + name);
            }
            Files.write(to, in.readAllBytes());
        }
        return to;
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
