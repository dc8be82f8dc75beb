package dev.kura.s3.embedded;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Runs the embedded origin alone, for {@code bench/serve.sh}: anonymous S3Proxy on
 * {@code 127.0.0.1:<port>} with bucket {@code bench} holding {@code 4k.bin} (4096 bytes) and
 * {@code 1m.bin} (1 MiB). Usage: {@code OriginMain <dir> <port>}. Runs until killed.
 *
 * <p>System properties add objects for {@code bench/soak.sh}: {@code kura.origin.soak-objects=N}
 * puts {@code soak/0.bin .. soak/<N-1>.bin} (64 KiB each); {@code kura.origin.large-objects=N}
 * puts {@code large/0.bin .. large/<N-1>.bin} (64 MiB each, for the slow-client check).
 */
public final class OriginMain {
    private OriginMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: OriginMain <dir> <port>");
            System.exit(2);
        }
        EmbeddedOrigin o = EmbeddedOrigin.start(Path.of(args[0]), "127.0.0.1", Integer.parseInt(args[1]), true);
        o.createBucket("bench");
        o.put("bench", "4k.bin", bytes(4096, 1), "application/octet-stream", null);
        o.put("bench", "1m.bin", bytes(1 << 20, 2), "application/octet-stream", null);
        // bench/soak.sh: many small objects whose cache entries expire and refill all the time.
        int soak = Integer.getInteger("kura.origin.soak-objects", 0);
        for (int i = 0; i < soak; i++) {
            o.put("bench", "soak/" + i + ".bin", bytes(64 << 10, 100 + i), "application/octet-stream", null);
        }
        int large = Integer.getInteger("kura.origin.large-objects", 0);
        for (int i = 0; i < large; i++) {
            o.put("bench", "large/" + i + ".bin", bytes(64 << 20, 1000 + i), "application/octet-stream", null);
        }
        System.out.println("origin ready on " + o.endpoint());
        System.out.flush();
        Thread.currentThread().join();
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }
}
