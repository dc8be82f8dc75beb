package dev.kura.io.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the Debian tools the fixtures need (mount, umount, mksquashfs), failing loudly. */
final class Commands {
    private Commands() {
    }

    /**
     * Runs {@code cmd} and returns its output.
     *
     * @param why what the command needs, added to the error (e.g. "root and util-linux")
     * @throws IOException when it cannot start, times out or exits non-zero, with its output
     */
    static String run(List<String> cmd, String why) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException(String.join(" ", cmd) + ": cannot start (" + why + " needed)", e);
        }
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(String.join(" ", cmd) + ": interrupted", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "; " + why
                    + " needed): " + out);
        }
        return out;
    }
}
