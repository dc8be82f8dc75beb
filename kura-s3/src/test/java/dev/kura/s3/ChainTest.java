package dev.kura.s3;

import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tiered caching (issue 12 §2): an edge kura whose origin is a shield kura whose origin is a real
 * S3Proxy, all over real HTTP on loopback. The edge signs its origin requests (SigV4, the AWS SDK
 * inside kura's origin client) with an access key of the shield's {@code serve.clients}; the
 * shield's bucket is private, so an unsigned or wrongly signed request would fail. Both tiers
 * slice objects larger than {@value #SLICE} bytes, so ranges cross slice boundaries at both.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChainTest {
    static final int SLICE = 64 * 1024;
    static final String LIMITED_KEY = "KURAEDGELIMITED001";
    static final String LIMITED_SECRET = "kura-edge-limited-secret-01";

    @TempDir
    static Path tmp;
    Fixture shield;
    Fixture edge;
    EmbeddedOrigin s3;
    final byte[] big = random(5 * SLICE + 1234, 11);

    @BeforeAll
    void start() throws Exception {
        shield = new Fixture(tmp.resolve("shield")).startOrigin();
        s3 = shield.origin;
        s3.put(Fixture.BUCKET, "big.bin", big, "application/octet-stream", null);
        shield.testAccess = BucketConfig.Access.PRIVATE;
        shield.sliceSize = SLICE;
        // A shield bucket whose origin refuses kura's signature: S3Proxy answers 403 AccessDenied.
        shield.extraBuckets.add(shield.bucket("/forbidden", "forbidden", s3.endpoint(),
                OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, "wrong-secret"), Duration.ofSeconds(5),
                Duration.ZERO));
        // A shield client that may read only "forbidden": its requests for "test" get AccessDenied.
        shield.clients.add(new ClientConfig(LIMITED_KEY, LIMITED_SECRET, List.of("forbidden")));
        shield.startProxy();

        edge = new Fixture(tmp.resolve("edge"));
        edge.originCredentials = OriginCredentials.ofStatic(Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET);
        edge.sliceSize = SLICE;
        edge.extraBuckets.add(BucketConfig.builder().prefix("/forbidden").bucket("forbidden").name("forbidden")
                .endpoint(shield.url("")).pathStyle(true).credentials(edge.originCredentials)
                .connectTimeout(Duration.ofSeconds(2)).readTimeout(Duration.ofSeconds(10))
                .access(BucketConfig.Access.PUBLIC).build());
        edge.extraBuckets.add(BucketConfig.builder().prefix("/denied").bucket(Fixture.BUCKET).name("denied")
                .endpoint(shield.url("")).pathStyle(true)
                .credentials(OriginCredentials.ofStatic(LIMITED_KEY, LIMITED_SECRET))
                .connectTimeout(Duration.ofSeconds(2)).readTimeout(Duration.ofSeconds(10))
                .access(BucketConfig.Access.PUBLIC).build());
        edge.startProxy(shield.url(""));
    }

    @AfterAll
    void stop() throws Exception {
        if (edge != null) {
            edge.close();
        }
        if (shield != null) {
            shield.close();
        }
    }

    @Test
    void bytesAndRangesPassThroughBothTiers() throws Exception {
        HttpResponse<byte[]> whole = edge.get("/test/big.bin");
        assertThat(whole.statusCode()).isEqualTo(200);
        assertThat(sha256(whole.body())).isEqualTo(sha256(big));
        assertThat(whole.headers().firstValue("ETag")).contains("\"" + s3ETag("big.bin") + "\"");
        // The shield's bucket is private: only the edge's signed requests get through.
        assertThat(shield.get("/test/big.bin").statusCode()).isEqualTo(403);
        HttpResponse<byte[]> again = edge.get("/test/big.bin");
        assertThat(again.headers().firstValue("X-Cache")).contains("HIT");
        assertThat(sha256(again.body())).isEqualTo(sha256(big));

        // A range inside one slice, one across a slice boundary, one across three slices, the tail.
        long[][] ranges = {{10, 99}, {SLICE - 100, SLICE + 99}, {SLICE / 2, 3L * SLICE + 7}, {big.length - 500,
                big.length - 1}};
        for (long[] r : ranges) {
            HttpResponse<byte[]> part = edge.get("/test/big.bin", "Range", "bytes=" + r[0] + "-" + r[1]);
            assertThat(part.statusCode()).as("range %d-%d", r[0], r[1]).isEqualTo(206);
            assertThat(part.headers().firstValue("Content-Range"))
                    .contains("bytes " + r[0] + "-" + r[1] + "/" + big.length);
            assertThat(part.body()).isEqualTo(Arrays.copyOfRange(big, (int) r[0], (int) r[1] + 1));
        }
    }

    @Test
    void rangesOfAnUncachedObjectFillOnlyTheirSlicesAtBothTiers() throws Exception {
        byte[] data = random(6 * SLICE, 12);
        s3.put(Fixture.BUCKET, "cold-range.bin", data, "application/octet-stream", null);
        long before = s3.getCount();
        HttpResponse<byte[]> part = edge.get("/test/cold-range.bin", "Range", "bytes=" + (2L * SLICE - 10) + "-"
                + (2L * SLICE + 9));
        assertThat(part.statusCode()).isEqualTo(206);
        assertThat(part.body()).isEqualTo(Arrays.copyOfRange(data, 2 * SLICE - 10, 2 * SLICE + 10));
        // Two slices (1 and 2) at the shield, each one ranged GET at S3; never the whole object.
        assertThat(s3.getCount() - before).isBetween(1L, 3L);
    }

    @Test
    void conditionalsPassThroughBothTiers() throws Exception {
        byte[] data = "conditional through two tiers\n".getBytes(StandardCharsets.UTF_8);
        s3.put(Fixture.BUCKET, "cond.txt", data, "text/plain", null);
        HttpResponse<byte[]> first = edge.get("/test/cond.txt");
        assertThat(first.statusCode()).isEqualTo(200);
        String etag = first.headers().firstValue("ETag").orElseThrow();
        assertThat(edge.get("/test/cond.txt", "If-None-Match", etag).statusCode()).isEqualTo(304);
        assertThat(edge.get("/test/cond.txt", "If-Match", "\"nope\"").statusCode()).isEqualTo(412);
        assertThat(edge.get("/test/cond.txt", "If-Match", etag).body()).isEqualTo(data);
        HttpResponse<byte[]> other = edge.get("/test/cond.txt", "If-None-Match", "\"other\"");
        assertThat(other.statusCode()).isEqualTo(200);
        assertThat(other.body()).isEqualTo(data);
        // The edge's ETag is S3's ETag: the shield neither rewrites nor weakens it.
        assertThat(etag).isEqualTo("\"" + s3ETag("cond.txt") + "\"");
        // Conditionals on an uncached object at the edge go through as well.
        s3.put(Fixture.BUCKET, "cond-cold.txt", data, "text/plain", null);
        assertThat(edge.get("/test/cond-cold.txt", "If-Match", "\"nope\"").statusCode()).isEqualTo(412);
        assertThat(edge.get("/test/cond-cold.txt", "If-None-Match", etag).statusCode()).isEqualTo(304);
    }

    @Test
    void revalidationPassesThroughBothTiers() throws Exception {
        byte[] v1 = "version one\n".getBytes(StandardCharsets.UTF_8);
        s3.put(Fixture.BUCKET, "reval.txt", v1, "text/plain", "max-age=0");
        HttpResponse<byte[]> first = edge.get("/test/reval.txt");
        assertThat(first.headers().firstValue("X-Cache")).contains("MISS");
        assertThat(first.headers().firstValue("Cache-Control")).contains("max-age=0");
        long before = s3.getCount();
        HttpResponse<byte[]> reval = edge.get("/test/reval.txt");
        assertThat(reval.headers().firstValue("X-Cache")).contains("REVALIDATED");
        assertThat(reval.body()).isEqualTo(v1);
        // The shield revalidated too: its conditional GET reached S3, which answered 304.
        assertThat(s3.getCount() - before).isEqualTo(1);

        // A new version at S3 reaches the edge on its next revalidation, through the shield.
        byte[] v2 = "version two, longer\n".getBytes(StandardCharsets.UTF_8);
        s3.put(Fixture.BUCKET, "reval.txt", v2, "text/plain", "max-age=0");
        HttpResponse<byte[]> changed = edge.get("/test/reval.txt");
        assertThat(changed.statusCode()).isEqualTo(200);
        assertThat(changed.body()).isEqualTo(v2);
        assertThat(changed.headers().firstValue("ETag")).contains("\"" + s3ETag("reval.txt") + "\"");
    }

    @Test
    void errorsPassThroughBothTiersAsS3Xml() throws Exception {
        HttpResponse<byte[]> missing = edge.get("/test/no-such-key");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(new String(missing.body(), StandardCharsets.UTF_8)).contains("<Code>NoSuchKey</Code>");
        // The shield refuses the edge's key for this bucket: AccessDenied, passed on by the edge.
        HttpResponse<byte[]> denied = edge.get("/denied/big.bin");
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(new String(denied.body(), StandardCharsets.UTF_8)).contains("<Code>AccessDenied</Code>");
        // S3 refuses the shield's signature: S3's own code travels through both tiers unchanged.
        HttpResponse<byte[]> badSignature = edge.get("/forbidden/anything.txt");
        assertThat(badSignature.statusCode()).isEqualTo(403);
        assertThat(new String(badSignature.body(), StandardCharsets.UTF_8))
                .contains("<Code>SignatureDoesNotMatch</Code>");
        // The edge still serves after both errors.
        assertThat(edge.get("/test/big.bin", "Range", "bytes=0-9").statusCode()).isEqualTo(206);
    }

    @Test
    void concurrentMissesAtTheEdgeMakeOneRequestAtS3() throws Exception {
        byte[] data = random(40_000, 13);
        s3.put(Fixture.BUCKET, "hot.bin", data, "application/octet-stream", null);
        long before = s3.getCount();
        ExecutorService pool = Executors.newFixedThreadPool(20);
        try {
            List<Future<HttpResponse<byte[]>>> all = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                all.add(pool.submit(() -> edge.get("/test/hot.bin")));
            }
            for (Future<HttpResponse<byte[]>> r : all) {
                HttpResponse<byte[]> resp = r.get();
                assertThat(resp.statusCode()).isEqualTo(200);
                assertThat(resp.body()).isEqualTo(data);
            }
        } finally {
            pool.shutdown();
        }
        assertThat(s3.getCount() - before).as("GETs at S3 for 20 concurrent edge misses").isEqualTo(1);
    }

    /** The S3 ETag of {@code key} as S3Proxy holds it (without quotes). */
    private String s3ETag(String key) {
        try (var c = shield.originClient()) {
            return c.headObject(b -> b.bucket(Fixture.BUCKET).key(key)).eTag().replace("\"", "");
        }
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
