package dev.kura.s3.embedded;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The sample bucket of {@code kura serve}'s no-config default: a few objects of different kinds
 * and sizes, so that the printed curl commands show text, JSON, a binary, a Range and a hit.
 */
public final class SampleData {

    /** Name of the sample bucket (public in the demo). */
    public static final String BUCKET = "sample";
    /** Name of the demo's private bucket (readable with the demo keys). */
    public static final String PRIVATE_BUCKET = "private";

    /** One sample object. */
    public record SampleObject(String key, String contentType, byte[] bytes) {
    }

    private SampleData() {
    }

    /** The sample objects: {@code hello.txt}, {@code data/info.json}, {@code blobs/random-5MiB.bin}. */
    public static List<SampleObject> objects() {
        byte[] text = "Hello from kura: this object came through the cache.\n".getBytes(StandardCharsets.UTF_8);
        byte[] json = """
                {"name": "kura", "what": "read-only S3 caching proxy", "tiers": ["memory", "disk"]}
                """.getBytes(StandardCharsets.UTF_8);
        byte[] bin = new byte[5 << 20];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < bin.length; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8; j++) {
                bin[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return List.of(
                new SampleObject("hello.txt", "text/plain; charset=utf-8", text),
                new SampleObject("data/info.json", "application/json", json),
                new SampleObject("blobs/random-5MiB.bin", "application/octet-stream", bin));
    }

    /**
     * Creates the sample bucket with its objects unless it exists (a restart keeps the objects, so
     * their ETags and the cache's entries stay valid).
     *
     * @return true when the bucket was created now
     */
    public static boolean loadIfMissing(EmbeddedOrigin origin) {
        if (origin.bucketExists(BUCKET)) {
            return false;
        }
        load(origin);
        return true;
    }

    /** Creates the private demo bucket with one object, {@code secret.txt}, unless it exists. */
    public static void loadPrivateIfMissing(EmbeddedOrigin origin) {
        if (!origin.bucketExists(PRIVATE_BUCKET)) {
            origin.createBucket(PRIVATE_BUCKET);
            origin.put(PRIVATE_BUCKET, "secret.txt",
                    "Only holders of the demo keys can read this.\n".getBytes(StandardCharsets.UTF_8),
                    "text/plain; charset=utf-8", null);
        }
    }

    /** Creates the sample bucket and its objects in {@code origin} (overwriting them). */
    public static void load(EmbeddedOrigin origin) {
        origin.createBucket(BUCKET);
        for (SampleObject o : objects()) {
            origin.put(BUCKET, o.key(), o.bytes(), o.contentType(), null);
        }
    }
}
