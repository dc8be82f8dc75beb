package dev.kura.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kura serve --config FILE} in a child JVM from the tests' class path, as the tests that
 * kill, signal or drain a real process need: started, its data and ops ports read from the line it
 * prints when listening, its stdout drained afterwards so it never blocks on a full pipe.
 *
 * @param process the child
 * @param port the data listener's port
 * @param opsPort the operations listener's port
 */
record ServeChild(Process process, int port, int opsPort) {
    private static final Pattern LISTENING = Pattern.compile(
            "listening on 127\\.0\\.0\\.1:(\\d+) .*operations on 127\\.0\\.0\\.1:(\\d+)");

    /**
     * Starts the child with heap max {@code xmx} (a JVM flag value such as {@code 256m}), its stderr
     * in {@code stderr}; fails the test (with the stderr) when it exits before listening.
     */
    static ServeChild start(Path config, Path stderr, String xmx) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx" + xmx, "-cp",
                System.getProperty("java.class.path"), "dev.kura.cli.Kura", "serve", "--config", config.toString())
                .redirectError(stderr.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Matcher found = null;
        for (String line; (line = out.readLine()) != null; ) {
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                found = m;
                break;
            }
        }
        Thread.ofPlatform().daemon().start(() -> {
            try {
                out.transferTo(Writer.nullWriter());
            } catch (IOException ignored) {
                // the child ended
            }
        });
        if (found == null) {
            p.destroyForcibly();
        }
        assertThat(found).as("kura serve --config %s printed its ports; stderr: %s", config, Files.readString(stderr))
                .isNotNull();
        return new ServeChild(p, Integer.parseInt(found.group(1)), Integer.parseInt(found.group(2)));
    }
}
