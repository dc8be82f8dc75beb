package dev.kura.cache.internal;

import dev.kura.io.conformance.IoUringHere;
import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

/** Shared fixtures: the backends every suite runs on, and small helpers. */
final class TestSupport {
    private TestSupport() {
    }

    /**
     * Every kura-io backend. IO_URING is listed even where it cannot start: its runs then skip
     * saying why (and fail on CI, see {@link dev.kura.testing.Requires}) rather than pass silently.
     */
    static Stream<Backend> backends() {
        return Stream.of(Backend.NIO, Backend.IO_URING);
    }

    static FileIo io(Backend b) throws IOException {
        if (b == Backend.IO_URING) {
            IoUringHere.require();
        }
        return FileIo.create(IoConfig.defaults().withBackend(b).withNioThreads(16));
    }

    static CacheConfig config(Path dir, long maxSize, long memory) {
        return new CacheConfig(dir, maxSize, 0, maxSize, memory, memory > 0 ? 64 * 1024 : 0, CacheConfig.Durability.NONE);
    }

    static byte[] bytes(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static EntryMetadata md(long size) {
        return new EntryMetadata(size, "application/octet-stream", "\"e" + size + "\"", null, null, Map.of("x-amz-meta-a", "1"));
    }

    /** Inserts through a fill, in chunks of {@code chunk} bytes; returns false if the cache refused. */
    static boolean put(Cache c, String key, byte[] data, EntryMetadata md, int chunk) throws IOException {
        Fill f = c.fill(key);
        if (!(f instanceof Fill.Leader l)) {
            throw new IllegalStateException("unexpected follower for " + key);
        }
        CacheWriter w = l.begin(md);
        if (w == null) {
            return false;
        }
        try (w) {
            for (int i = 0; i < data.length; i += chunk) {
                w.write(ByteBuffer.wrap(data, i, Math.min(chunk, data.length - i)));
            }
            w.commit().close();
        }
        return true;
    }

    static boolean put(Cache c, String key, byte[] data) throws IOException {
        return put(c, key, data, md(data.length), 7919);
    }

    static byte[] readAll(CacheEntry e) throws IOException {
        byte[] out = new byte[(int) e.metadata().size()];
        ByteBuffer b = ByteBuffer.wrap(out);
        while (b.hasRemaining()) {
            int n = e.read(b.position(), b);
            if (n <= 0) {
                throw new IOException("short read at " + b.position());
            }
        }
        return out;
    }

    static Optional<byte[]> getBytes(Cache c, String key) throws IOException {
        Optional<CacheEntry> e = c.get(key);
        if (e.isEmpty()) {
            return Optional.empty();
        }
        try (CacheEntry h = e.get()) {
            return Optional.of(readAll(h));
        }
    }

    static void awaitRecovery(Cache c) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!c.recovered()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("recovery did not finish");
            }
            Thread.sleep(2);
        }
    }

    /** Sum of the sizes of committed entry files under the cache directory (fan-out dirs only). */
    static long bytesOnDisk(Path dir) throws IOException {
        long total = 0;
        for (int i = 0; i < 256; i++) {
            Path d = dir.resolve(String.format("%02x", i));
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> s = Files.list(d)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    if (!isMetaRecord(p)) {
                        total += Files.size(p);
                    }
                }
            }
        }
        return total;
    }

    /** Metadata records ({@code <name>.meta}) are beside entries, not entries (and not counted in diskBytes). */
    static boolean isMetaRecord(Path p) {
        return p.getFileName().toString().endsWith(EntryFormat.META_SUFFIX);
    }

    /** Number of metadata records under the cache directory. */
    static long metaRecordsOnDisk(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(TestSupport::isMetaRecord).count();
        }
    }

    /** Committed entry files under the cache directory (fan-out dirs only). */
    static long filesOnDisk(Path dir) throws IOException {
        long n = 0;
        for (int i = 0; i < 256; i++) {
            Path d = dir.resolve(String.format("%02x", i));
            if (Files.isDirectory(d)) {
                try (Stream<Path> s = Files.list(d)) {
                    n += s.filter(p -> !isMetaRecord(p)).count();
                }
            }
        }
        return n;
    }

    /** Descriptors of this process open on entry files under {@code dir} (not deleted). */
    static long openDescriptorsOf(Path dir) throws IOException {
        return descriptors(dir, false);
    }

    /** Descriptors of this process open on files under {@code dir} that have been unlinked. */
    static long deletedDescriptorsOf(Path dir) throws IOException {
        return descriptors(dir, true);
    }

    /** A committed entry file below the cache directory: {@code xx/<32 hex digits>} (FORMAT.md), maybe unlinked. */
    private static final java.util.regex.Pattern ENTRY_FILE =
            java.util.regex.Pattern.compile("[0-9a-f]{2}/[0-9a-f]{32}( \\(deleted\\))?");

    private static long descriptors(Path dir, boolean deleted) throws IOException {
        String root = dir.toRealPath().toString() + "/";
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString();
                } catch (IOException gone) {
                    return ""; // closed while listing
                }
            }).filter(t -> t.startsWith(root) && ENTRY_FILE.matcher(t.substring(root.length())).matches()
                    && t.endsWith(" (deleted)") == deleted).count();
        }
    }
}
