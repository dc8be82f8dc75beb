package dev.kura.cache.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Random;

/**
 * The process {@link CrashTest} kills: inserts, overwrites, deletes and metadata updates
 * (revalidations, {@code M}/{@code m}) from many threads until
 * SIGKILL, journaling each operation before it starts ({@code I}/{@code x}) and after it returns
 * ({@code D}/{@code X}). Each thread owns its keys, so per key the journal order is the real order.
 * A journal line is a plain write(2): it survives the death of the process (not a power loss,
 * which this test does not simulate).
 *
 * <p>Args: cache dir, journal file, backend, durability, seed, threads.
 */
public final class CrashChild {
    private CrashChild() {
    }

    /** Size of version {@code s}: mostly small, some over several blocks. */
    static int sizeOf(long s) {
        long m = Math.floorMod(s, 10);
        return (int) (m == 0 ? 100_000 + Math.floorMod(s, 50_000) : Math.floorMod(s * 31, 9000));
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path journal = Path.of(args[1]);
        Backend backend = Backend.parse(args[2]);
        CacheConfig.Durability durability = CacheConfig.Durability.valueOf(args[3]);
        long seed = Long.parseLong(args[4]);
        int threads = Integer.parseInt(args[5]);
        FileIo io = FileIo.create(IoConfig.defaults().withBackend(backend).withNioThreads(8));
        Cache c = TieredCache.open(new CacheConfig(dir, 64 << 20, 0, 1 << 20, 256 << 10, 16 << 10, durability),
                io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096);
        FileChannel j = FileChannel.open(journal, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        System.out.println("READY");
        System.out.flush();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread.ofPlatform().start(() -> {
                Random rnd = new Random(seed * 1000 + id);
                Map<String, Long> versions = new java.util.HashMap<>(); // this thread's keys: last committed version
                try {
                    while (true) {
                        String k = "t" + id + "/" + rnd.nextInt(12);
                        int op = rnd.nextInt(100);
                        if (op < 70) {
                            long s = rnd.nextLong() & Long.MAX_VALUE;
                            log(j, "I " + k + " " + s);
                            Fill f = c.fill(k);
                            if (!(f instanceof Fill.Leader l)) {
                                throw new IllegalStateException("own key has a fill in flight");
                            }
                            int size = sizeOf(s);
                            CacheWriter w = l.begin(new EntryMetadata(size, null, "\"" + s + "\"", null, null, Map.of()));
                            byte[] b = TestSupport.bytes(s, size);
                            for (int i = 0; i < size; i += 5000) {
                                w.write(ByteBuffer.wrap(b, i, Math.min(5000, size - i)));
                            }
                            w.commit().close();
                            versions.put(k, s);
                            log(j, "D " + k + " " + s);
                        } else if (op < 85) {
                            log(j, "x " + k);
                            versions.remove(k);
                            c.delete(k);
                            log(j, "X " + k);
                        } else if (op < 93) {
                            Long v = versions.get(k);
                            if (v != null) {
                                // a revalidation: new metadata for the committed version, bytes untouched
                                int rev = rnd.nextInt(1_000_000);
                                log(j, "M " + k + " " + rev);
                                boolean ok = c.updateMetadata(k, "\"" + v + "\"", new EntryMetadata(sizeOf(v), null,
                                        "\"" + v + "\"", null, null, Map.of("x-rev", Integer.toString(rev))));
                                log(j, "m " + k + " " + rev + " " + ok);
                            }
                        } else {
                            c.get(k).ifPresent(e -> e.close());
                        }
                    }
                } catch (Throwable e) {
                    e.printStackTrace();
                    System.exit(3);
                }
            });
        }
    }

    private static void log(FileChannel j, String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        synchronized (j) {
            while (b.hasRemaining()) {
                j.write(b);
            }
        }
    }
}
