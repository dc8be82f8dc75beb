package dev.kura.bench.internal.io;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The files {@code kura bench io} reads: created once with random bytes (so no layer can shortcut
 * zeros), reused by later runs while their size matches, deleted by {@code --clean}.
 *
 * <p>Names are {@code kura-bench-io-<size>.dat}, so a quick run (smaller file) and a full run keep
 * their own files side by side.
 */
public final class TestFiles {
    static final String PREFIX = "kura-bench-io-";
    static final String SUFFIX = ".dat";

    private TestFiles() {
    }

    /** The path of the test file of {@code size} bytes in {@code dir}. */
    public static Path path(Path dir, long size) {
        return dir.resolve(PREFIX + dev.kura.bench.internal.Units.formatSize(size) + SUFFIX);
    }

    /**
     * Returns the test file of {@code size} bytes in {@code dir}, creating the directory and the file
     * when missing or of another size. The file is written through the page cache, then fsynced so
     * that O_DIRECT reads find it on the device.
     *
     * @throws IOException when the directory or file cannot be created (e.g. ENOSPC)
     */
    public static Path ensure(Path dir, long size, PrintStream log) throws IOException {
        Files.createDirectories(dir);
        Path p = path(dir, size);
        if (Files.isRegularFile(p) && Files.size(p) == size) {
            return p;
        }
        log.printf("creating %s (%d MiB)...%n", p, size >> 20);
        Path tmp = dir.resolve(p.getFileName() + ".tmp");
        SplittableRandom rnd = new SplittableRandom(size);
        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long written = 0;
            while (written < size) {
                chunk.clear();
                while (chunk.remaining() >= 8) {
                    chunk.putLong(rnd.nextLong());
                }
                chunk.flip();
                chunk.limit((int) Math.min(chunk.limit(), size - written));
                while (chunk.hasRemaining()) {
                    written += ch.write(chunk, written);
                }
            }
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return p;
    }

    /**
     * Deletes every test file (and leftover {@code .tmp}) in {@code dirs}; directories that do not
     * exist are skipped.
     *
     * @return the files deleted
     */
    public static List<Path> clean(List<Path> dirs) throws IOException {
        List<Path> deleted = new ArrayList<>();
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, PREFIX + "*")) {
                for (Path p : ds) {
                    String n = p.getFileName().toString();
                    if ((n.endsWith(SUFFIX) || n.endsWith(SUFFIX + ".tmp")) && Files.deleteIfExists(p)) {
                        deleted.add(p);
                    }
                }
            }
        }
        return deleted;
    }
}
