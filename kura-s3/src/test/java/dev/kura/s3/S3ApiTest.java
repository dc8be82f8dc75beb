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

    /**
     * partNumber against S3Proxy 4.1.0, which answers it only for objects not uploaded in parts
     * (part 1 is the object as a plain 200; another part is 400 InvalidPart; any part of a
     * multipart object is 501 NotImplemented, "Reading one part of a multipart object is not
     * supported."). Part ranges of multipart objects are covered with FakeOrigin (PartNumberTest).
     */
    @Test
    void partNumberAsS3AnswersItWhereS3ProxyCanTell() throws Exception {
        HttpResponse<byte[]> p1 = f.get("/test/obj.txt?partNumber=1");
        assertThat(p1.statusCode()).isEqualTo(206);
        assertThat(p1.headers().firstValue("Content-Range")).contains("bytes 0-" + (body.length - 1) + "/" + body.length);
        assertThat(p1.headers().firstValue("x-amz-mp-parts-count")).isEmpty();
        assertThat(p1.body()).isEqualTo(body);
        HttpResponse<byte[]> head = f.send("HEAD", "/test/obj.txt?partNumber=1");
        assertThat(head.statusCode()).isEqualTo(206);
        assertThat(head.headers().firstValue("Content-Length")).contains(Integer.toString(body.length));
        assertThat(head.body()).isEmpty();
        HttpResponse<byte[]> p2 = f.get("/test/obj.txt?partNumber=2");
        assertThat(p2.statusCode()).isEqualTo(416);
        assertThat(text(p2)).contains("<Code>InvalidPartNumber</Code>").doesNotContain("s3 api body");
        HttpResponse<byte[]> both = f.get("/test/obj.txt?partNumber=1", "Range", "bytes=0-3");
        assertThat(both.statusCode()).isEqualTo(400);
        assertThat(text(both)).contains("<Code>InvalidRequest</Code>",
                "Cannot specify both Range header and partNumber query parameter");
        for (String bad : List.of("0", "abc", "10001")) {
            HttpResponse<byte[]> r = f.get("/test/obj.txt?partNumber=" + bad);
            assertThat(r.statusCode()).as(bad).isEqualTo(400);
            assertThat(text(r)).as(bad).contains("<Code>InvalidArgument</Code>");
        }
        // Uncached, the part comes from S3Proxy's answer to HEAD ?partNumber (a plain 200: the ETag decides).
        f.origin.put(Fixture.BUCKET, "fresh.txt", body, "text/plain", null);
        HttpResponse<byte[]> fresh = f.get("/test/fresh.txt?partNumber=1");
        assertThat(fresh.statusCode()).isEqualTo(206);
        assertThat(fresh.body()).isEqualTo(body);
        assertThat(f.get("/test/nope.txt?partNumber=1").statusCode()).isEqualTo(404);

        // A multipart object: S3Proxy cannot tell a part's bytes, so kura answers a clear error, no bytes.
        byte[] big = new byte[(5 << 20) + 1000];
        new java.util.Random(5).nextBytes(big);
        try (S3Client o = f.originClient()) {
            String id = o.createMultipartUpload(b -> b.bucket(Fixture.BUCKET).key("mp.bin")).uploadId();
            var e1 = o.uploadPart(b -> b.bucket(Fixture.BUCKET).key("mp.bin").uploadId(id).partNumber(1),
                    software.amazon.awssdk.core.sync.RequestBody.fromBytes(java.util.Arrays.copyOf(big, 5 << 20))).eTag();
            var e2 = o.uploadPart(b -> b.bucket(Fixture.BUCKET).key("mp.bin").uploadId(id).partNumber(2),
                    software.amazon.awssdk.core.sync.RequestBody.fromBytes(
                            java.util.Arrays.copyOfRange(big, 5 << 20, big.length))).eTag();
            o.completeMultipartUpload(b -> b.bucket(Fixture.BUCKET).key("mp.bin").uploadId(id).multipartUpload(
                    m -> m.parts(p -> p.partNumber(1).eTag(e1), p -> p.partNumber(2).eTag(e2))));
        }
        HttpResponse<byte[]> mp = f.get("/test/mp.bin?partNumber=2");
        assertThat(mp.statusCode()).isEqualTo(501);
        assertThat(text(mp)).contains("<Code>NotImplemented</Code>", "501 NotImplemented to partNumber");
        assertThat(f.get("/test/mp.bin").body()).as("the whole object is still served").isEqualTo(big);
    }

    /**
     * The AWS SDK for Java v2's multipart download (S3AsyncClient, multipartEnabled: GET
     * ?partNumber=1, then the other parts if x-amz-mp-parts-count says so) through kura in front
     * of S3Proxy: a single-PUT object arrives whole (SHA-256 checked); a multipart object, whose
     * parts S3Proxy cannot read, fails with kura's NotImplemented, never with wrong bytes.
     */
    @Test
    void sdkMultipartDownloadThroughKuraInFrontOfS3Proxy() throws Exception {
        byte[] obj = new byte[(6 << 20) + 77];
        new java.util.Random(6).nextBytes(obj);
        f.origin.put(Fixture.BUCKET, "sdk/single.bin", obj, "application/octet-stream", null);
        try (var s3 = software.amazon.awssdk.services.s3.S3AsyncClient.builder().multipartEnabled(true)
                .region(software.amazon.awssdk.regions.Region.US_EAST_1).forcePathStyle(true)
                .endpointOverride(f.url("")).credentialsProvider(
                        software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                                software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(
                                        Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET)))
                .httpClientBuilder(software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient.builder())
                .build()) {
            for (int round = 0; round < 2; round++) { // uncached, then cached
                byte[] got = s3.getObject(b -> b.bucket(Fixture.BUCKET).key("sdk/single.bin"),
                        software.amazon.awssdk.core.async.AsyncResponseTransformer.toBytes())
                        .get(60, java.util.concurrent.TimeUnit.SECONDS).asByteArray();
                var sha = java.security.MessageDigest.getInstance("SHA-256");
                assertThat(sha.digest(got)).as("round %d", round).isEqualTo(
                        java.security.MessageDigest.getInstance("SHA-256").digest(obj));
            }
            byte[] big = new byte[(5 << 20) + 1000];
            new java.util.Random(7).nextBytes(big);
            try (S3Client o = f.originClient()) {
                String id = o.createMultipartUpload(b -> b.bucket(Fixture.BUCKET).key("sdk/mp.bin")).uploadId();
                var e1 = o.uploadPart(b -> b.bucket(Fixture.BUCKET).key("sdk/mp.bin").uploadId(id).partNumber(1),
                        software.amazon.awssdk.core.sync.RequestBody.fromBytes(java.util.Arrays.copyOf(big, 5 << 20)))
                        .eTag();
                var e2 = o.uploadPart(b -> b.bucket(Fixture.BUCKET).key("sdk/mp.bin").uploadId(id).partNumber(2),
                        software.amazon.awssdk.core.sync.RequestBody.fromBytes(
                                java.util.Arrays.copyOfRange(big, 5 << 20, big.length))).eTag();
                o.completeMultipartUpload(b -> b.bucket(Fixture.BUCKET).key("sdk/mp.bin").uploadId(id)
                        .multipartUpload(m -> m.parts(p -> p.partNumber(1).eTag(e1), p -> p.partNumber(2).eTag(e2))));
            }
            var failed = s3.getObject(b -> b.bucket(Fixture.BUCKET).key("sdk/mp.bin"),
                    software.amazon.awssdk.core.async.AsyncResponseTransformer.toBytes());
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> failed.get(60, java.util.concurrent.TimeUnit.SECONDS))
                    .hasCauseInstanceOf(software.amazon.awssdk.services.s3.model.S3Exception.class)
                    .cause().satisfies(c -> assertThat(((software.amazon.awssdk.services.s3.model.S3Exception) c)
                            .awsErrorDetails().errorCode()).isEqualTo("NotImplemented"));
        }
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
