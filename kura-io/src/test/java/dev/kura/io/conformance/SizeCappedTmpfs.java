package dev.kura.io.conformance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import dev.kura.testing.Requires;

/**
 * A real tmpfs of a fixed size, mounted by the test ({@code mount -t tmpfs -o size=N tmpfs DIR})
 * and unmounted by {@link #close()}: the honest way to get {@code ENOSPC} from the kernel.
 *
 * <p>Needs root (CAP_SYS_ADMIN) and {@code mount}/{@code umount} from util-linux. When either is
 * missing the constructor skips the test saying which ({@link Requires}; a failure on CI).
 *
 * <p>Published in kura-io's test-jar so that kura-cache can fill a real disk too.
 */
public final class SizeCappedTmpfs implements AutoCloseable {
    private final Path dir;
    private boolean mounted;

    /**
     * Mounts a tmpfs of {@code sizeBytes} on a new directory under {@code parent}.
     *
     * @param sizeBytes the size cap in bytes; tmpfs rounds it up to whole pages
     * @throws IOException when the mount fails (no tmpfs), with mount's output
     */
    public SizeCappedTmpfs(Path parent, long sizeBytes) throws IOException {
        Requires.root("mount a size-capped tmpfs");
        Requires.tool("mount", "util-linux");
        this.dir = Files.createTempDirectory(parent, "tmpfs-");
        run(List.of("mount", "-t", "tmpfs", "-o", "size=" + sizeBytes + ",mode=0755", "tmpfs", dir.toString()));
        mounted = true;
    }

    /** The mount point. */
    public Path dir() {
        return dir;
    }

    /** Unmounts (lazily, so that a leaked descriptor cannot make it fail) and removes the directory. */
    @Override
    public void close() throws IOException {
        if (mounted) {
            mounted = false;
            run(List.of("umount", "-l", dir.toString()));
        }
        Files.deleteIfExists(dir);
    }

    private static void run(List<String> cmd) throws IOException {
        Commands.run(cmd, "root and util-linux");
    }
}
