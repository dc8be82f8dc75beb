package dev.kura.s3;

import dev.kura.testing.Requires;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * kura in front of a real S3Proxy over real HTTP, with the AWS SDK v2 S3 client, the JDK HTTP
 * client and curl as clients. Bytes and headers are checked against what the origin holds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxyTest {
    static final String TOKEN = "test-admin-token-0123456789";
    static final DateTimeFormatter HTTP_DATE = DateTimeFormatter
            .ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    @TempDir
    static Path tmp;
    Fixture f;
    S3Client kura;
    S3Client origin;
    byte[] small = "hello, kura\n".getBytes(StandardCharsets.UTF_8);
    byte[] mib = random(1 << 20, 7);

    @BeforeAll
    void start() throws Exception {
        f = new Fixture(tmp).startOrigin();
        EmbeddedOrigin o = f.origin;
        o.put(Fixture.BUCKET, "small.txt", small, "text/plain", null);
        o.put(Fixture.BUCKET, "dir/data.json", "{\"a\":1}".getBytes(StandardCharsets.UTF_8), "application/json", "max-age=600");
        o.put(Fixture.BUCKET, "one-mib.bin", mib, "application/octet-stream", null);
        o.put(Fixture.BUCKET, "ranges.bin", mib, "application/octet-stream", null);
        o.put(Fixture.BUCKET, "cond.bin", mib, "application/octet-stream", null);
        o.put(Fixture.BUCKET, "nostore.txt", small, "text/plain", "no-store");
        o.put(Fixture.BUCKET, "revalidate.txt", small, "text/plain", "max-age=0");
        o.put(Fixture.BUCKET, "purge-me.txt", small, "text/plain", null);
        o.put(Fixture.BUCKET, "range-miss.bin", mib, "application/octet-stream", null);
        o.put(Fixture.BUCKET, "hot.bin", mib, "application/octet-stream", null);
        f.adminToken = TOKEN;
        // Same bucket, signed with a wrong secret: the origin answers 403.
        f.extraBuckets.add(f.bucket("/forbidden", "forbidden", o.endpoint(),
                OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, "wrong-secret"), Duration.ofSeconds(5),
                Duration.ZERO));
        f.startProxy();
        kura = f.kuraClient();
        origin = f.originClient();
    }

    @AfterAll
    void stop() throws Exception {
        kura.close();
        origin.close();
        f.close();
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }

    private GetObjectRequest.Builder req(String key) {
        return GetObjectRequest.builder().bucket(Fixture.BUCKET).key(key);
    }

    @Test
    void wholeObjectsMatchTheOriginAndTheSecondGetIsAHit() throws Exception {
        for (String key : List.of("small.txt", "one-mib.bin", "dir/data.json")) {
            ResponseBytes<GetObjectResponse> want = origin.getObjectAsBytes(req(key).build());
            HttpResponse<byte[]> first = f.get("/test/" + key);
            HttpResponse<byte[]> second = f.get("/test/" + key);
            for (HttpResponse<byte[]> r : List.of(first, second)) {
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo(want.asByteArray());
                assertThat(r.headers().firstValue("ETag")).contains(want.response().eTag());
                assertThat(r.headers().firstValue("Content-Type")).contains(want.response().contentType());
                assertThat(r.headers().firstValueAsLong("Content-Length")).hasValue(want.asByteArray().length);
                assertThat(r.headers().firstValue("Last-Modified"))
                        .contains(HTTP_DATE.format(want.response().lastModified()));
            }
            assertThat(first.headers().firstValue("X-Cache")).contains("MISS");
            assertThat(second.headers().firstValue("X-Cache")).contains("HIT");
        }
        HttpResponse<byte[]> json = f.get("/test/dir/data.json");
        assertThat(json.headers().firstValue("Cache-Control")).contains("max-age=600");
        // And through the AWS SDK client.
        ResponseBytes<GetObjectResponse> viaSdk = kura.getObjectAsBytes(req("one-mib.bin").build());
        assertThat(viaSdk.asByteArray()).isEqualTo(mib);
        assertThat(viaSdk.response().eTag()).isEqualTo(origin.headObject(b -> b.bucket(Fixture.BUCKET).key("one-mib.bin")).eTag());
    }

    @Test
    void headMatchesTheOriginOnMissAndHit() throws Exception {
        HeadObjectResponse want = origin.headObject(b -> b.bucket(Fixture.BUCKET).key("small.txt"));
        HeadObjectResponse got = kura.headObject(b -> b.bucket(Fixture.BUCKET).key("small.txt"));
        assertThat(got.eTag()).isEqualTo(want.eTag());
        assertThat(got.contentLength()).isEqualTo(small.length);
        assertThat(got.contentType()).isEqualTo(want.contentType());
        HttpResponse<byte[]> head = f.send("HEAD", "/test/one-mib.bin");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(mib.length);
        assertThat(head.body()).isEmpty();
    }

    @Test
    void rangesAreServedWith206FromTheCache() throws Exception {
        f.get("/test/ranges.bin"); // fill
        record Case(String range, int from, int to) {
        }
        for (Case c : List.of(new Case("bytes=0-9", 0, 9), new Case("bytes=-100", mib.length - 100, mib.length - 1),
                new Case("bytes=1000-", 1000, mib.length - 1), new Case("bytes=5-5", 5, 5),
                new Case("bytes=1048000-9999999", 1048000, mib.length - 1),
                new Case("bytes=300000-700000", 300000, 700000))) {
            HttpResponse<byte[]> r = f.get("/test/ranges.bin", "Range", c.range);
            assertThat(r.statusCode()).as(c.range).isEqualTo(206);
            assertThat(r.headers().firstValue("Content-Range"))
                    .contains("bytes " + c.from + "-" + c.to + "/" + mib.length);
            assertThat(r.body()).isEqualTo(Arrays.copyOfRange(mib, c.from, c.to + 1));
            assertThat(r.headers().firstValue("X-Cache")).contains("HIT");
        }
        // The SDK's range parameter, too.
        byte[] viaSdk = kura.getObjectAsBytes(req("ranges.bin").range("bytes=100-199").build()).asByteArray();
        assertThat(viaSdk).isEqualTo(Arrays.copyOfRange(mib, 100, 200));
        for (String bad : List.of("bytes=2000000-", "bytes=-0", "bytes=abc", "bytes=9-3", "bytes=", "bytes=1-2-3")) {
            HttpResponse<byte[]> r = f.get("/test/ranges.bin", "Range", bad);
            assertThat(r.statusCode()).as(bad).isEqualTo(416);
            assertThat(r.headers().firstValue("Content-Range")).as(bad).contains("bytes */" + mib.length);
        }
        // Several ranges: the whole object with 200 (documented); another unit: ignored.
        for (String whole : List.of("bytes=0-1,5-6", "items=0-1")) {
            HttpResponse<byte[]> r = f.get("/test/ranges.bin", "Range", whole);
            assertThat(r.statusCode()).as(whole).isEqualTo(200);
            assertThat(r.body()).isEqualTo(mib);
        }
    }

    @Test
    void rangeOnAMissFillsTheCache() throws Exception {
        long before = f.origin.getCount();
        HttpResponse<byte[]> r = f.get("/test/range-miss.bin", "Range", "bytes=500000-500099");
        assertThat(r.statusCode()).isEqualTo(206);
        assertThat(r.headers().firstValue("X-Cache")).contains("MISS");
        assertThat(r.body()).isEqualTo(Arrays.copyOfRange(mib, 500000, 500100));
        HttpResponse<byte[]> whole = f.get("/test/range-miss.bin");
        assertThat(whole.headers().firstValue("X-Cache")).contains("HIT");
        assertThat(whole.body()).isEqualTo(mib);
        assertThat(f.origin.getCount() - before).isEqualTo(1);
    }

    @Test
    void conditionalRequests() throws Exception {
        String etag = origin.headObject(b -> b.bucket(Fixture.BUCKET).key("cond.bin")).eTag();
        Instant lm = origin.headObject(b -> b.bucket(Fixture.BUCKET).key("cond.bin")).lastModified();
        String p = "/test/cond.bin";
        for (int pass = 0; pass < 2; pass++) { // pass 0 on a miss, pass 1 on a hit
            if (pass == 1) {
                assertThat(f.get(p).headers().firstValue("X-Cache")).contains("HIT");
            }
            String opaque = etag.substring(1, etag.length() - 1);
            assertThat(f.get(p, "If-None-Match", etag).statusCode()).isEqualTo(304);
            assertThat(f.get(p, "If-None-Match", "W/" + etag).statusCode()).as("weak comparison").isEqualTo(304);
            assertThat(f.get(p, "If-None-Match", "\"x\", " + etag).statusCode()).isEqualTo(304);
            assertThat(f.get(p, "If-None-Match", "*").statusCode()).isEqualTo(304);
            HttpResponse<byte[]> other = f.get(p, "If-None-Match", "\"other\"");
            assertThat(other.statusCode()).isEqualTo(200);
            assertThat(other.body()).isEqualTo(mib);
            assertThat(f.get(p, "If-None-Match", etag).headers().firstValue("ETag")).contains(etag);
            assertThat(f.get(p, "If-Match", etag).statusCode()).isEqualTo(200);
            assertThat(f.get(p, "If-Match", "W/" + etag).statusCode()).as("strong comparison").isEqualTo(412);
            assertThat(f.get(p, "If-Match", "\"nope\"").statusCode()).isEqualTo(412);
            String future = HTTP_DATE.format(lm.plusSeconds(3600));
            String past = HTTP_DATE.format(lm.minusSeconds(3600));
            assertThat(f.get(p, "If-Modified-Since", future).statusCode()).isEqualTo(304);
            assertThat(f.get(p, "If-Modified-Since", HTTP_DATE.format(lm)).statusCode()).isEqualTo(304);
            assertThat(f.get(p, "If-Modified-Since", past).statusCode()).isEqualTo(200);
            assertThat(f.get(p, "If-Modified-Since", "not a date").statusCode()).isEqualTo(200);
            // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2 step 3).
            assertThat(f.get(p, "If-None-Match", "\"other\"", "If-Modified-Since", future).statusCode()).isEqualTo(200);
            assertThat(f.get(p, "If-Unmodified-Since", past).statusCode()).isEqualTo(412);
            assertThat(f.get(p, "If-Unmodified-Since", future).statusCode()).isEqualTo(200);
            // If-Match wins over If-Unmodified-Since (step 1).
            assertThat(f.get(p, "If-Match", etag, "If-Unmodified-Since", past).statusCode()).isEqualTo(200);
            HttpResponse<byte[]> ir = f.get(p, "Range", "bytes=0-3", "If-Range", etag);
            assertThat(ir.statusCode()).isEqualTo(206);
            assertThat(ir.body()).isEqualTo(Arrays.copyOfRange(mib, 0, 4));
            assertThat(f.get(p, "Range", "bytes=0-3", "If-Range", "\"old\"").statusCode()).isEqualTo(200);
            assertThat(f.get(p, "Range", "bytes=0-3", "If-Range", "W/" + etag).statusCode()).isEqualTo(200);
            assertThat(f.get(p, "Range", "bytes=0-3", "If-Range", HTTP_DATE.format(lm)).statusCode()).isEqualTo(206);
            assertThat(f.get(p, "Range", "bytes=0-3", "If-Range", past).statusCode()).isEqualTo(200);
            assertThat(opaque).isNotEmpty();
        }
        // The SDK's own conditional parameters.
        assertThatThrownBy(() -> kura.getObject(req("cond.bin").ifMatch("\"nope\"").build()))
                .isInstanceOf(S3Exception.class).extracting(e -> ((S3Exception) e).statusCode()).isEqualTo(412);
    }

    @Test
    void errorsArePassedOnOrRefused() throws Exception {
        HttpResponse<byte[]> missing = f.get("/test/no-such-key");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(new String(missing.body(), StandardCharsets.UTF_8)).contains("NoSuchKey");
        assertThatThrownBy(() -> kura.getObject(req("no-such-key").build()))
                .isInstanceOf(S3Exception.class).extracting(e -> ((S3Exception) e).statusCode()).isEqualTo(404);
        assertThat(f.get("/forbidden/small.txt").statusCode()).isEqualTo(403);
        // Writes get what S3 gives a principal that may only read; other methods are not allowed.
        for (String m : List.of("POST", "PUT", "DELETE")) {
            HttpResponse<byte[]> w = f.send(m, "/test/small.txt");
            assertThat(w.statusCode()).as(m).isEqualTo(403);
            assertThat(new String(w.body(), StandardCharsets.UTF_8)).contains("<Code>AccessDenied</Code>");
        }
        HttpResponse<byte[]> patch = f.send("PATCH", "/test/small.txt");
        assertThat(patch.statusCode()).isEqualTo(405);
        assertThat(patch.headers().firstValue("Allow")).contains("GET, HEAD");
        HttpResponse<byte[]> nowhere = f.get("/nowhere/small.txt");
        assertThat(nowhere.statusCode()).isEqualTo(404);
        assertThat(new String(nowhere.body(), StandardCharsets.UTF_8)).contains("<Code>NoSuchBucket</Code>");
    }

    @Test
    void noStoreIsNotCachedAndMaxAgeZeroIsRevalidated() throws Exception {
        assertThat(f.get("/test/nostore.txt").headers().firstValue("X-Cache")).contains("MISS");
        HttpResponse<byte[]> again = f.get("/test/nostore.txt");
        assertThat(again.headers().firstValue("X-Cache")).contains("MISS");
        assertThat(again.body()).isEqualTo(small);
        assertThat(f.get("/test/revalidate.txt").headers().firstValue("X-Cache")).contains("MISS");
        HttpResponse<byte[]> reval = f.get("/test/revalidate.txt");
        assertThat(reval.headers().firstValue("X-Cache")).contains("REVALIDATED");
        assertThat(reval.body()).isEqualTo(small);
    }

    @Test
    void pathsThatLeaveTheBucketAreRefused() throws Exception {
        for (String p : List.of("/test/../etc/passwd", "/test/%2e%2e/%2e%2e/etc/passwd", "/test/a/%2E%2E/b",
                "/test/%252e%252e/x", "/test/..%2fsmall.txt", "/test/a/..%5c..%5cx", "/test/%zz", "/test/%c3%28",
                "/test/a%00b", "/test/./small.txt")) {
            HttpResponse<byte[]> r = rawGet(p);
            assertThat(r.statusCode()).as(p).isEqualTo(400);
        }
        String longUrl = "/test/" + "a".repeat(10_000);
        assertThat(rawGet(longUrl).statusCode()).isEqualTo(414);
        HttpResponse<byte[]> bigHeaders = f.get("/test/small.txt", "X-Big", "b".repeat(20_000));
        assertThat(bigHeaders.statusCode()).isEqualTo(431);
        // The server still serves afterwards.
        assertThat(f.get("/test/small.txt").statusCode()).isEqualTo(200);
    }

    /** Sends the path byte for byte (the JDK client would normalise dot segments). */
    private HttpResponse<byte[]> rawGet(String path) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", f.proxy.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            String resp = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            int code = Integer.parseInt(resp.substring(9, 12));
            return new FakeResponse(code, resp);
        }
    }

    record FakeResponse(int statusCode, String text) implements HttpResponse<byte[]> {
        public java.net.http.HttpRequest request() {
            return null;
        }

        public java.util.Optional<HttpResponse<byte[]>> previousResponse() {
            return java.util.Optional.empty();
        }

        public java.net.http.HttpHeaders headers() {
            return java.net.http.HttpHeaders.of(java.util.Map.of(), (a, b) -> true);
        }

        public byte[] body() {
            return text.getBytes(StandardCharsets.ISO_8859_1);
        }

        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() {
            return java.util.Optional.empty();
        }

        public java.net.URI uri() {
            return null;
        }

        public java.net.http.HttpClient.Version version() {
            return java.net.http.HttpClient.Version.HTTP_1_1;
        }
    }

    @Test
    void concurrentMissesMakeOneOriginGet() throws Exception {
        long before = f.origin.getCount();
        int n = 32;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Callable<byte[]> c = () -> {
                    try (ResponseInputStream<GetObjectResponse> in = kura.getObject(req("hot.bin").build())) {
                        return in.readAllBytes();
                    }
                };
                results.add(pool.submit(c));
            }
            for (Future<byte[]> r : results) {
                assertThat(r.get()).isEqualTo(mib);
            }
        }
        assertThat(f.origin.getCount() - before).isEqualTo(1);
    }

    @Test
    void curlAsAClient() throws Exception {
        Requires.tool("curl", "curl");
        Process p = new ProcessBuilder("curl", "-sS", "-D", "-", "-o", "/dev/null", "-w", "%{size_download}",
                f.url("/test/one-mib.bin").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        assertThat(out).startsWith("HTTP/1.1 200").contains("X-Cache: ").endsWith(Integer.toString(mib.length));
        Process r = new ProcessBuilder("curl", "-sS", "-r", "10-19", f.url("/test/one-mib.bin").toString()).start();
        byte[] body = r.getInputStream().readAllBytes();
        assertThat(r.waitFor()).isZero();
        assertThat(body).isEqualTo(Arrays.copyOfRange(mib, 10, 20));
        Process keep = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\\n",
                f.url("/test/small.txt").toString(), "-o", "/dev/null", f.url("/test/small.txt").toString()).start();
        String ka = new String(keep.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(keep.waitFor()).isZero();
        assertThat(ka).as("second request reuses the connection").isEqualTo("200 1\n200 0\n");
    }

    @Test
    void healthReadyMetricsAndAdminAreOnTheOpsListenerOnly() throws Exception {
        assertThat(f.ops("GET", "/health").statusCode()).isEqualTo(200);
        String ready = "";
        for (int i = 0; i < 100 && !ready.contains("test reachable"); i++) { // first background check
            ready = new String(f.ops("GET", "/ready").body(), StandardCharsets.UTF_8);
            Thread.sleep(100);
        }
        assertThat(ready).contains("READY").contains("test reachable");
        f.get("/test/small.txt");
        String metrics = f.metrics();
        assertThat(metrics).contains("kura_requests_seconds_count{bucket=\"test\"")
                .contains("kura_requests_seconds_bucket{").contains("kura_served_bytes_total{bucket=\"test\",cache=\"")
                .contains("kura_cache_hits_total{tier=\"memory\"}").contains("kura_origin_requests_seconds_count")
                .contains("kura_fills_in_flight").contains("kura_connections_open");
        // The data port serves objects only.
        for (String p : new String[] {"/health", "/ready", "/metrics", "/admin/stats"}) {
            assertThat(f.get(p, "Authorization", "Bearer " + TOKEN).statusCode()).as(p).isEqualTo(404);
        }
        // Admin: token needed.
        assertThat(f.ops("GET", "/admin/stats").statusCode()).isEqualTo(401);
        assertThat(f.ops("GET", "/admin/stats", "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
        HttpResponse<byte[]> stats = f.ops("GET", "/admin/stats", "Authorization", "Bearer " + TOKEN);
        assertThat(stats.statusCode()).isEqualTo(200);
        assertThat(stats.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(new String(stats.body(), StandardCharsets.UTF_8)).contains("\"hits\":").contains("\"requestsInFlight\":");
        f.get("/test/purge-me.txt");
        assertThat(f.get("/test/purge-me.txt").headers().firstValue("X-Cache")).contains("HIT");
        HttpResponse<byte[]> purge = f.ops("POST", "/admin/purge?bucket=test&key=purge-me.txt", "Authorization", "Bearer " + TOKEN);
        assertThat(new String(purge.body(), StandardCharsets.UTF_8)).isEqualTo("{\"purged\":1}");
        assertThat(f.get("/test/purge-me.txt").headers().firstValue("X-Cache")).contains("MISS");
        HttpResponse<byte[]> byBucket = f.ops("POST", "/admin/purge?bucket=test", "Authorization", "Bearer " + TOKEN);
        assertThat(byBucket.statusCode()).isEqualTo(200);
        assertThat(f.get("/test/purge-me.txt").headers().firstValue("X-Cache")).contains("MISS");
        HttpResponse<byte[]> byPrefix = f.ops("POST", "/admin/purge?bucket=test&prefix=purge", "Authorization", "Bearer " + TOKEN);
        assertThat(new String(byPrefix.body(), StandardCharsets.UTF_8)).isEqualTo("{\"purged\":1}");
        assertThat(f.ops("POST", "/admin/purge?prefix=test/purge", "Authorization", "Bearer " + TOKEN).statusCode())
                .as("a prefix without its mapping").isEqualTo(400);
    }

    static String sha256(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
