package dev.kura.s3;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The S3 API surface of kura over real HTTP, in front of S3Proxy: addressing (path-style,
 * virtual-hosted, prefix), the refusal of writes and sub-resources with S3 errors and never
 * object bytes, {@code versionId}, {@code partNumber}, {@code response-*} overrides, bucket
 * operations, the listing cache and the RFC 9110/9111 headers (Date, Age, x-amz-request-id).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3ApiTest {
    @TempDir
    static Path tmp;
    Fixture f;
    final byte[] body = "s3 api body\n".getBytes(StandardCharsets.UTF_8);

    @BeforeAll
    void start() throws Exception {
        f = new Fixture(tmp).startOrigin();
        f.origin.put(Fixture.BUCKET, "obj.txt", body, "text/plain", null);
        f.origin.put(Fixture.BUCKET, "list/a", body, "text/plain", null);
        f.baseDomain = "s3.kura.test";
        f.listCacheTtl = Duration.ofSeconds(3);
        // A plain-HTTP prefix for the same bucket, as before S3 addressing existed.
        f.extraBuckets.add(f.originBucket("/files", "files", f.origin.endpoint(), Duration.ofSeconds(10)));
        f.startProxy();
    }

    @AfterAll
    void stop() throws Exception {
        f.close();
    }

    String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    @Test
    void theThreeAddressingStylesReachTheSameObject() throws Exception {
        assertThat(f.get("/test/obj.txt").body()).isEqualTo(body);
        assertThat(f.get("/files/obj.txt").body()).isEqualTo(body);
        // Path-style by name wins over the prefix: /files is also a bucket name here.
        String vhost = raw("GET /obj.txt HTTP/1.1\r\nHost: test.s3.kura.test:8080\r\nConnection: close\r\n\r\n");
        assertThat(vhost).startsWith("HTTP/1.1 200").endsWith(new String(body, StandardCharsets.UTF_8));
        String vlist = raw("GET /?list-type=2&prefix=list/ HTTP/1.1\r\nHost: test.s3.kura.test\r\nConnection: close\r\n\r\n");
        assertThat(vlist).startsWith("HTTP/1.1 200").contains("<Key>list/a</Key>", "<Name>test</Name>");
        String unknown = raw("GET /obj.txt HTTP/1.1\r\nHost: nope.s3.kura.test\r\nConnection: close\r\n\r\n");
        assertThat(unknown).startsWith("HTTP/1.1 404").contains("<Code>NoSuchBucket</Code>");
    }

    @Test
    void writesAndSubResourcesGetS3ErrorsNeverBytes() throws Exception {
        for (String q : List.of("acl", "tagging", "uploads", "torrent", "retention", "attributes")) {
            HttpResponse<byte[]> r = f.get("/test/obj.txt?" + q);
            assertThat(r.statusCode()).as(q).isEqualTo(403);
            assertThat(text(r)).as(q).contains("<Code>AccessDenied</Code>").doesNotContain("s3 api body");
            assertThat(r.headers().firstValue("Content-Type")).contains("application/xml");
        }
        for (String q : List.of("acl", "policy", "versioning", "uploads", "versions")) {
            assertThat(f.get("/test?" + q).statusCode()).as(q).isEqualTo(403);
        }
        HttpResponse<byte[]> part = f.get("/test/obj.txt?partNumber=1");
        assertThat(part.statusCode()).isEqualTo(501);
        assertThat(text(part)).contains("<Code>NotImplemented</Code>");
        for (String m : List.of("PUT", "POST", "DELETE")) {
            HttpResponse<byte[]> r = f.send(m, "/test/obj.txt?uploads");
            assertThat(r.statusCode()).as(m).isEqualTo(403);
            assertThat(text(r)).contains("<Code>AccessDenied</Code>");
        }
        HttpResponse<byte[]> badSig = f.get("/test/obj.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                + Fixture.CLIENT_KEY + "%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
                + java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(java.time.ZoneOffset.UTC)
                .format(Instant.now()) + "&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00");
        assertThat(badSig.statusCode()).isIn(400, 403);
        assertThat(text(badSig)).doesNotContain("s3 api body").contains("<Error>");
    }

    @Test
    void errorsAreS3XmlWithTheRequestId() throws Exception {
        HttpResponse<byte[]> r = f.get("/test/missing.txt");
        assertThat(r.statusCode()).isEqualTo(404);
        String id = r.headers().firstValue("x-amz-request-id").orElseThrow();
        assertThat(text(r)).startsWith("<?xml").contains("<Error><Code>NoSuchKey</Code><Message>",
                "<Resource>/test/missing.txt</Resource>", "<RequestId>" + id + "</RequestId></Error>");
        assertThat(r.headers().firstValue("Date")).isPresent();
        HttpResponse<byte[]> range = f.get("/test/obj.txt", "Range", "bytes=1000-2000");
        assertThat(range.statusCode()).isEqualTo(416);
        assertThat(text(range)).contains("<Code>InvalidRange</Code>");
        assertThat(range.headers().firstValue("Content-Range")).contains("bytes */" + body.length);
        HttpResponse<byte[]> pre = f.get("/test/obj.txt", "If-Match", "\"nope\"");
        assertThat(pre.statusCode()).isEqualTo(412);
        assertThat(text(pre)).contains("<Code>PreconditionFailed</Code>");
    }

    @Test
    void responseOverridesApplyToTheResponseOnly() throws Exception {
        f.origin.put(Fixture.BUCKET, "override.txt", body, "text/plain", null);
        HttpResponse<byte[]> r = f.get("/test/override.txt?response-content-type=application%2Fx-kura"
                + "&response-content-disposition=attachment%3B%20filename%3D%22x.txt%22&response-cache-control=no-cache");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains("application/x-kura");
        assertThat(r.headers().firstValue("Content-Disposition")).contains("attachment; filename=\"x.txt\"");
        assertThat(r.headers().firstValue("Cache-Control")).contains("no-cache");
        // The entry is committed just after the first response ends: wait for the hit.
        HttpResponse<byte[]> plain = f.get("/test/override.txt");
        for (int i = 0; i < 50 && !plain.headers().firstValue("X-Cache").orElse("").equals("HIT"); i++) {
            Thread.sleep(100);
            plain = f.get("/test/override.txt");
        }
        assertThat(plain.headers().firstValue("X-Cache")).contains("HIT");
        assertThat(plain.headers().firstValue("Content-Type")).contains("text/plain");
        assertThat(plain.headers().firstValue("Content-Disposition")).isEmpty();
    }

    @Test
    void hitsCarryDateAndAge() throws Exception {
        f.origin.put(Fixture.BUCKET, "aged.txt", body, "text/plain", null);
        HttpResponse<byte[]> miss = f.get("/test/aged.txt");
        assertThat(miss.headers().firstValue("X-Cache")).contains("MISS");
        Thread.sleep(200); // the entry is committed just after the response ends
        assertThat(miss.headers().firstValue("Date")).isPresent();
        assertThat(miss.headers().firstValue("Age")).isEmpty();
        Thread.sleep(1_100);
        HttpResponse<byte[]> hit = f.get("/test/aged.txt");
        assertThat(hit.headers().firstValue("X-Cache")).contains("HIT");
        assertThat(hit.headers().firstValue("Date")).isEqualTo(miss.headers().firstValue("Date"));
        assertThat(Long.parseLong(hit.headers().firstValue("Age").orElseThrow())).isBetween(1L, 60L);
        HttpResponse<byte[]> notModified = f.get("/test/aged.txt", "If-None-Match",
                hit.headers().firstValue("ETag").orElseThrow());
        assertThat(notModified.statusCode()).isEqualTo(304);
        assertThat(notModified.headers().firstValue("Date")).isPresent();
        assertThat(notModified.headers().firstValue("ETag")).isPresent();
    }

    @Test
    void versionIdIsForwardedAndCachedApart() throws Exception {
        f.origin.put(Fixture.BUCKET, "versioned.txt", body, "text/plain", null);
        assertThat(f.get("/test/versioned.txt").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> v = f.get("/test/versioned.txt?versionId=v-does-not-exist");
        // Forwarded, not served from the current version's entry: kura answers what the origin
        // answers for that version id (S3Proxy's filesystem store has no versions).
        int originStatus;
        try (S3Client o = f.originClient()) {
            ResponseBytes<GetObjectResponse> b = o.getObjectAsBytes(r -> r.bucket(Fixture.BUCKET).key("versioned.txt")
                    .versionId("v-does-not-exist"));
            originStatus = b.response().sdkHttpResponse().statusCode();
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            originStatus = e.statusCode();
        }
        assertThat(originStatus).isNotEqualTo(200).isNotEqualTo(503);
        assertThat(v.statusCode()).isEqualTo(originStatus);
        assertThat(text(v)).doesNotContain("s3 api body");
        assertThat(v.headers().firstValue("X-Cache")).isNotEqualTo(java.util.Optional.of("HIT"));
        HttpResponse<byte[]> empty = f.get("/test/versioned.txt?versionId=");
        assertThat(empty.statusCode()).isEqualTo(400);
        assertThat(text(empty)).contains("<Code>InvalidArgument</Code>");
    }

    @Test
    void bucketOperations() throws Exception {
        HttpResponse<byte[]> loc = f.get("/test?location");
        assertThat(loc.statusCode()).isEqualTo(200);
        assertThat(text(loc)).contains("LocationConstraint");
        HttpResponse<byte[]> head = f.send("HEAD", "/test");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("x-amz-bucket-region")).contains("us-east-1");
        HttpResponse<byte[]> buckets = f.get("/");
        assertThat(text(buckets)).contains("<ListAllMyBucketsResult", "<Name>test</Name>", "<Name>files</Name>");
        HttpResponse<byte[]> v1 = f.get("/test?prefix=list/&max-keys=5");
        assertThat(text(v1)).contains("<Key>list/a</Key>", "<MaxKeys>5</MaxKeys>", "<IsTruncated>false</IsTruncated>");
        assertThat(f.get("/test?list-type=2&max-keys=x").statusCode()).isEqualTo(400);
        assertThat(f.get("/test?list-type=2&encoding-type=base64").statusCode()).isEqualTo(400);
        f.origin.put(Fixture.BUCKET, "enc/with space+plus", body, "text/plain", null);
        HttpResponse<byte[]> enc = f.get("/test?list-type=2&prefix=enc/&encoding-type=url");
        assertThat(text(enc)).contains("<EncodingType>url</EncodingType>", "<Key>enc/with%20space%2Bplus</Key>");
        assertThat(text(f.get("/test?list-type=2&prefix=enc/"))).contains("<Key>enc/with space+plus</Key>");
    }

    @Test
    void listingsAreCachedForTheirTtl() throws Exception {
        f.origin.put(Fixture.BUCKET, "ttl/one", body, "text/plain", null);
        assertThat(text(f.get("/test?list-type=2&prefix=ttl/"))).contains("ttl/one").doesNotContain("ttl/two");
        f.origin.put(Fixture.BUCKET, "ttl/two", body, "text/plain", null);
        // Within serve.list-cache-ttl (3 s here) the same listing is the cached answer...
        assertThat(text(f.get("/test?list-type=2&prefix=ttl/"))).doesNotContain("ttl/two");
        // ...a different listing is not...
        assertThat(text(f.get("/test?list-type=2&prefix=ttl/t"))).contains("ttl/two");
        Thread.sleep(3_500);
        // ...and after it the origin is asked again.
        assertThat(text(f.get("/test?list-type=2&prefix=ttl/"))).contains("ttl/two");
    }

    @Test
    void concurrentIdenticalListingsMakeOneOriginRequest() throws Exception {
        f.origin.put(Fixture.BUCKET, "burst/a", body, "text/plain", null);
        long before = dev.kura.s3.embedded.EmbeddedOrigin.listCount();
        List<java.util.concurrent.Future<HttpResponse<byte[]>>> all = new java.util.ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 16; i++) {
                all.add(pool.submit(() -> f.get("/test?list-type=2&prefix=burst/")));
            }
            for (var r : all) {
                assertThat(text(r.get())).contains("<Key>burst/a</Key>");
            }
        }
        assertThat(dev.kura.s3.embedded.EmbeddedOrigin.listCount() - before).isEqualTo(1);
    }

    private String raw(String request) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", f.proxy.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
