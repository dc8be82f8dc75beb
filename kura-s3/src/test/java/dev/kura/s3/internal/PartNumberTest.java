package dev.kura.s3.internal;

import dev.kura.io.Backend;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * GetObject and HeadObject with {@code partNumber} through kura, with a real disk cache on both io
 * backends and {@link FakeOrigin} as the origin: it answers HEAD ?partNumber as S3 does (part
 * ranges of objects "uploaded in parts", part 1 of a single PUT), which S3Proxy 4.1.0, the
 * end-to-end origin, does not for multipart objects (it answers 501; see S3ApiTest).
 *
 * <p>The client is the AWS SDK for Java v2's multipart download (S3AsyncClient with
 * {@code multipartEnabled(true)}): it GETs {@code ?partNumber=1}, reads
 * {@code x-amz-mp-parts-count}, then GETs parts 2..N. The file's SHA-256 is the origin's.
 */
class PartNumberTest {
    /** Not a multiple of the part size nor of the 4 MiB slice size: parts straddle slices. */
    static final int SIZE = 13 * (1 << 20) + 12_345;
    static final long PART = 5L << 20;
    static final long SLICE = 4L << 20;

    @TempDir
    Path tmp;

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static S3AsyncClient sdk(FakeOriginProxy p) {
        return S3AsyncClient.builder().multipartEnabled(true).region(Region.US_EAST_1).forcePathStyle(true)
                .endpointOverride(p.url("/")).credentialsProvider(AnonymousCredentialsProvider.create())
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().connectionTimeout(Duration.ofSeconds(5)))
                .build();
    }

    HttpResponse<byte[]> send(FakeOriginProxy p, String method, String path, String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(p.url(path)).timeout(Duration.ofSeconds(30))
                .method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i + 1 < headers.length; i += 2) {
            r.header(headers[i], headers[i + 1]);
        }
        return p.http.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void sdkMultipartDownloadOfAMultipartObjectUncachedThenCached(Backend backend) throws Exception {
        byte[] obj = random(SIZE, 8);
        try (FakeOriginProxy p = new FakeOriginProxy(tmp, backend, Duration.ofSeconds(10), SLICE);
             S3AsyncClient s3 = sdk(p)) {
            String etag = p.origin.putParts("big.bin", obj, PART, "max-age=3600");
            double originBefore = dev.kura.testing.PrometheusText.sum(p.metrics(), "kura_origin_requests_seconds_count", "");
            Path file = tmp.resolve("uncached.bin");
            GetObjectResponse r = s3.getObject(GetObjectRequest.builder().bucket("b").key("big.bin").build(),
                    AsyncResponseTransformer.toFile(file)).get(60, TimeUnit.SECONDS);
            assertThat(sha256(Files.readAllBytes(file))).isEqualTo(sha256(obj));
            assertThat(r.eTag()).isEqualTo(etag);
            // The SDK read it by parts: kura asked the origin for each part's range once.
            assertThat(p.origin.partHeads.get()).as("origin log %s", p.origin.log).isEqualTo(3);
            assertThat(p.origin.log).contains("big.bin HEAD partNumber=1", "big.bin HEAD partNumber=2",
                    "big.bin HEAD partNumber=3");
            p.awaitFillsDone();
            // every origin request is in kura_origin_requests_seconds: the 3 part HEADs and the GETs
            assertThat(dev.kura.testing.PrometheusText.sum(p.metrics(), "kura_origin_requests_seconds_count", "")
                    - originBefore).as("origin log %s", p.origin.log)
                    .isEqualTo(3 + p.origin.gets("big.bin") + p.origin.heads.get());
            int heads = p.origin.partHeads.get();
            int gets = p.origin.gets("big.bin");
            // Cached: the same download costs no origin request at all (ranges remembered, bytes in slices).
            ResponseBytes<GetObjectResponse> again = s3.getObject(GetObjectRequest.builder().bucket("b")
                    .key("big.bin").build(), AsyncResponseTransformer.toBytes()).get(60, TimeUnit.SECONDS);
            assertThat(sha256(again.asByteArray())).isEqualTo(sha256(obj));
            assertThat(p.origin.partHeads.get()).isEqualTo(heads);
            assertThat(p.origin.gets("big.bin")).isEqualTo(gets);

            // The raw answers, part by part.
            HttpResponse<byte[]> p2 = send(p, "GET", "/b/big.bin?partNumber=2");
            assertThat(p2.statusCode()).isEqualTo(206);
            assertThat(p2.headers().firstValue("Content-Range")).contains("bytes " + PART + "-" + (2 * PART - 1) + "/" + SIZE);
            assertThat(p2.headers().firstValue("x-amz-mp-parts-count")).contains("3");
            assertThat(p2.headers().firstValue("ETag")).contains(etag);
            assertThat(p2.body()).isEqualTo(Arrays.copyOfRange(obj, (int) PART, (int) (2 * PART)));
            HttpResponse<byte[]> head3 = send(p, "HEAD", "/b/big.bin?partNumber=3");
            assertThat(head3.statusCode()).isEqualTo(206);
            assertThat(head3.headers().firstValue("Content-Length")).contains(Long.toString(SIZE - 2 * PART));
            assertThat(head3.headers().firstValue("Content-Range")).contains("bytes " + 2 * PART + "-" + (SIZE - 1) + "/" + SIZE);
            assertThat(head3.headers().firstValue("x-amz-mp-parts-count")).contains("3");
            assertThat(head3.body()).isEmpty();

            HttpResponse<byte[]> p4 = send(p, "GET", "/b/big.bin?partNumber=4");
            assertThat(p4.statusCode()).isEqualTo(416);
            assertThat(new String(p4.body(), StandardCharsets.UTF_8)).contains("<Code>InvalidPartNumber</Code>");
            HttpResponse<byte[]> both = send(p, "GET", "/b/big.bin?partNumber=1", "Range", "bytes=0-9");
            assertThat(both.statusCode()).isEqualTo(400);
            assertThat(new String(both.body(), StandardCharsets.UTF_8)).contains("<Code>InvalidRequest</Code>",
                    "Cannot specify both Range header and partNumber query parameter");
            for (String bad : new String[] {"0", "abc", "10001"}) {
                HttpResponse<byte[]> b = send(p, "GET", "/b/big.bin?partNumber=" + bad);
                assertThat(b.statusCode()).as(bad).isEqualTo(400);
                assertThat(new String(b.body(), StandardCharsets.UTF_8)).as(bad).contains("<Code>InvalidArgument</Code>",
                        "Part number must be an integer between 1 and 10000, inclusive");
            }
            HttpResponse<byte[]> ifMatch = send(p, "GET", "/b/big.bin?partNumber=2", "If-Match", "\"other\"");
            assertThat(ifMatch.statusCode()).isEqualTo(412);

            // A HEAD miss with partNumber: the origin's part range, no body.
            String e2 = p.origin.putParts("head.bin", obj, PART, "max-age=3600");
            HttpResponse<byte[]> headMiss = send(p, "HEAD", "/b/head.bin?partNumber=2");
            assertThat(headMiss.statusCode()).isEqualTo(206);
            assertThat(headMiss.headers().firstValue("ETag")).contains(e2);
            assertThat(headMiss.headers().firstValue("Content-Length")).contains(Long.toString(PART));
            assertThat(headMiss.headers().firstValue("Content-Range")).contains("bytes " + PART + "-" + (2 * PART - 1) + "/" + SIZE);
            assertThat(headMiss.headers().firstValue("x-amz-mp-parts-count")).contains("3");
            assertThat(headMiss.body()).isEmpty();
            assertThat(p.origin.gets("head.bin")).as("a HEAD reads no bytes").isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void singlePutObjectIsItsOwnPartOne(Backend backend) throws Exception {
        byte[] obj = random(SIZE, 9);
        try (FakeOriginProxy p = new FakeOriginProxy(tmp, backend, Duration.ofSeconds(10), SLICE);
             S3AsyncClient s3 = sdk(p)) {
            p.origin.putSingle("one.bin", obj, "max-age=3600");
            Path file = tmp.resolve("one.bin");
            s3.getObject(GetObjectRequest.builder().bucket("b").key("one.bin").build(),
                    AsyncResponseTransformer.toFile(file)).get(60, TimeUnit.SECONDS);
            assertThat(sha256(Files.readAllBytes(file))).isEqualTo(sha256(obj));
            p.awaitFillsDone();
            int heads = p.origin.partHeads.get();
            HttpResponse<byte[]> p1 = send(p, "GET", "/b/one.bin?partNumber=1");
            assertThat(p1.statusCode()).isEqualTo(206);
            assertThat(p1.headers().firstValue("Content-Range")).contains("bytes 0-" + (SIZE - 1) + "/" + SIZE);
            assertThat(p1.headers().firstValue("x-amz-mp-parts-count")).isEmpty();
            assertThat(sha256(p1.body())).isEqualTo(sha256(obj));
            HttpResponse<byte[]> p2 = send(p, "GET", "/b/one.bin?partNumber=2");
            assertThat(p2.statusCode()).isEqualTo(416);
            assertThat(new String(p2.body(), StandardCharsets.UTF_8)).contains("<Code>InvalidPartNumber</Code>");
            assertThat(p.origin.partHeads.get()).as("a single PUT's parts are known from its cached ETag")
                    .isEqualTo(heads);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void anOriginThatIgnoresPartNumberGetsNoGuess(Backend backend) throws Exception {
        byte[] obj = random(3 << 20, 10);
        try (FakeOriginProxy p = new FakeOriginProxy(tmp, backend, Duration.ofSeconds(10), SLICE)) {
            p.origin.ignorePartNumber = true;
            p.origin.putParts("multi.bin", obj, 1 << 20, "max-age=3600");
            p.origin.putSingle("single.bin", obj, "max-age=3600");
            HttpResponse<byte[]> multi = send(p, "GET", "/b/multi.bin?partNumber=2");
            assertThat(multi.statusCode()).isEqualTo(501);
            assertThat(new String(multi.body(), StandardCharsets.UTF_8)).contains("<Code>NotImplemented</Code>",
                    "ignores partNumber");
            HttpResponse<byte[]> single = send(p, "GET", "/b/single.bin?partNumber=1");
            assertThat(single.statusCode()).isEqualTo(206);
            assertThat(single.body()).isEqualTo(obj);
            assertThat(send(p, "GET", "/b/single.bin?partNumber=2").statusCode()).isEqualTo(416);
            assertThat(send(p, "GET", "/b/missing.bin?partNumber=1").statusCode()).isEqualTo(404);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void aNewVersionIsNeverCutWithTheOldPartTable(Backend backend) throws Exception {
        byte[] v1 = random(SIZE, 11);
        byte[] v2 = random(SIZE, 12);
        try (FakeOriginProxy p = new FakeOriginProxy(tmp, backend, Duration.ofSeconds(10), SLICE)) {
            // max-age=0: every read revalidates, so the second version is seen at once.
            p.origin.putParts("v.bin", v1, PART, "max-age=0");
            HttpResponse<byte[]> a = send(p, "GET", "/b/v.bin?partNumber=2");
            assertThat(a.statusCode()).isEqualTo(206);
            assertThat(a.body()).isEqualTo(Arrays.copyOfRange(v1, (int) PART, (int) (2 * PART)));
            p.awaitFillsDone();
            // The new version has other part boundaries: 3 MiB parts.
            String e2 = p.origin.putParts("v.bin", v2, 3L << 20, "max-age=0");
            HttpResponse<byte[]> b = send(p, "GET", "/b/v.bin?partNumber=2");
            assertThat(b.statusCode()).isEqualTo(206);
            assertThat(b.headers().firstValue("ETag")).contains(e2);
            assertThat(b.headers().firstValue("x-amz-mp-parts-count")).contains("5");
            assertThat(b.body()).isEqualTo(Arrays.copyOfRange(v2, 3 << 20, 6 << 20));
        }
    }
}
