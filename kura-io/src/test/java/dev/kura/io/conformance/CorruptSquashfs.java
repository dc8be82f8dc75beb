package dev.kura.io.conformance;

import dev.kura.testing.Requires;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real read-only filesystem whose disk returns damaged data, so that reading one file region
 * fails in the kernel with {@code EIO}: the honest way to get EIO without device-mapper or fault
 * injection (neither is in every kernel).
 *
 * <p>It builds a gzip-compressed squashfs image ({@code mksquashfs}, Debian package
 * {@code squashfs-tools}) holding one compressible file of {@link #FILE_SIZE} bytes, overwrites
 * bytes of the file's first compressed data block in the image, and loop-mounts the image
 * ({@code mount -o loop,ro}, root). Squashfs then fails to decompress that block and
 * {@code read(2)} returns EIO for offsets in the first {@link #BLOCK_SIZE} bytes, while the rest of
 * the file, its size and the mount stay fine. Missing tools or privileges skip the test saying
 * which ({@link Requires}; a failure on CI).
 *
 * <p>Published in kura-io's test-jar for kura-cache's own EIO tests.
 */
public final class CorruptSquashfs implements AutoCloseable {
    /** The squashfs data block size (mksquashfs default); the damaged region is the first block. */
    public static final int BLOCK_SIZE = 128 * 1024;
    /** Size in bytes of {@link #file()}: four blocks. */
    public static final int FILE_SIZE = 4 * BLOCK_SIZE;

    private final Path root;
    private final Path mountPoint;
    private boolean mounted;

    public CorruptSquashfs(Path parent) throws IOException {
        Requires.root("loop-mount a squashfs image");
        Requires.tool("mksquashfs", "squashfs-tools");
        Requires.tool("mount", "util-linux");
        root = Files.createTempDirectory(parent, "squashfs-");
        Path src = Files.createDirectory(root.resolve("src"));
        Files.write(src.resolve("data"), content());
        Path image = root.resolve("image.sqfs");
        Commands.run(List.of("mksquashfs", src.toString(), image.toString(), "-comp", "gzip", "-b",
                Integer.toString(BLOCK_SIZE), "-noappend", "-no-progress", "-quiet"), "mksquashfs (squashfs-tools)");
        // The superblock is 96 bytes and data blocks follow it in file order: bytes 200..455 lie
        // inside the only file's first compressed block.
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
            raf.seek(200);
            raf.write(new byte[256]);
        }
        mountPoint = Files.createDirectory(root.resolve("mnt"));
        Commands.run(List.of("mount", "-t", "squashfs", "-o", "loop,ro", image.toString(), mountPoint.toString()),
                "root, loop devices and squashfs");
        mounted = true;
    }

    /** Text-like content that gzip compresses well, so every block is stored compressed. */
    public static byte[] content() {
        byte[] b = new byte[FILE_SIZE];
        String[] words = {"alpha ", "beta ", "gamma ", "delta "};
        int at = 0;
        long x = 12345;
        while (at < b.length) {
            x = x * 6364136223846793005L + 1442695040888963407L;
            byte[] w = words[(int) ((x >>> 33) & 3)].getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            int n = Math.min(w.length, b.length - at);
            System.arraycopy(w, 0, b, at, n);
            at += n;
        }
        return b;
    }

    /** The damaged file: reads in {@code [0, BLOCK_SIZE)} fail with EIO, the rest match {@link #content()}. */
    public Path file() {
        return mountPoint.resolve("data");
    }

    /** Unmounts (which detaches the loop device) and deletes the image. */
    @Override
    public void close() throws IOException {
        if (mounted) {
            mounted = false;
            Commands.run(List.of("umount", "-l", mountPoint.toString()), "root and util-linux");
        }
        try (var s = Files.walk(root)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
