package dev.kura.s3;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.s3.embedded.EmbeddedOrigin;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A real S3Proxy origin, a real cache on disk and kura in front, all on loopback ports. */
final class Fixture implements AutoCloseable {
    static final String BUCKET = "test";

    final Path dir;
    EmbeddedOrigin origin;
    FileIo io;
    Cache cache;
    ProxyServer proxy;
    final List<BucketConfig> extraBuckets = new ArrayList<>();
    String adminToken;
    ListenerLimits limits;
    Duration drainDelay;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    Fixture(Path dir) {
        this.dir = dir;
    }

    Fixture startOrigin() throws Exception {
        origin = EmbeddedOrigin.start(dir.resolve("origin"), "127.0.0.1", 0);
        origin.createBucket(BUCKET);
        return this;
    }

    BucketConfig bucket(String prefix, String name, URI endpoint, OriginCredentials creds, Duration readTimeout,
                        Duration staleIfError) {
        return new BucketConfig(prefix, BUCKET, name, endpoint, "us-east-1", true, creds, Duration.ofHours(1),
                staleIfError, Duration.ofSeconds(2), readTimeout, 0);
    }

    Fixture startProxy() throws Exception {
        return startProxy(origin.endpoint());
    }

    Fixture startProxy(URI originEndpoint) throws Exception {
        io = FileIo.create(IoConfig.defaults());
        cache = Cache.open(new CacheConfig(dir.resolve("cache"), 2L << 30, 0, 1L << 30, 64L << 20, 1L << 20,
                CacheConfig.Durability.NONE), io);
        List<BucketConfig> buckets = new ArrayList<>();
        buckets.add(bucket("/" + BUCKET, BUCKET, originEndpoint,
                OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY),
                Duration.ofSeconds(10), Duration.ofDays(1)));
        buckets.addAll(extraBuckets);
        ServeConfig cfg = new ServeConfig("127.0.0.1:0", "auto", 2, null, null, Duration.ofSeconds(5), true,
                adminToken, buckets, "127.0.0.1:0", drainDelay, limits);
        proxy = ProxyServer.start(cfg, cache);
        return this;
    }

    void stopProxy() {
        if (proxy != null) {
            proxy.close();
            proxy = null;
        }
        if (cache != null) {
            cache.close();
            cache = null;
        }
        if (io != null) {
            io.close();
            io = null;
        }
    }

    URI url(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + proxy.port() + pathAndQuery);
    }

    /** A request to the operations listener ({@code /metrics}, {@code /ready}, {@code /admin/...}). */
    HttpResponse<byte[]> ops(String method, String path, String... headers) throws Exception {
        return send(URI.create("http://127.0.0.1:" + proxy.opsPort() + path), method, headers);
    }

    /** The Prometheus text of the operations listener's {@code /metrics}. */
    String metrics() throws Exception {
        return new String(ops("GET", "/metrics").body(), java.nio.charset.StandardCharsets.UTF_8);
    }

    HttpResponse<byte[]> get(String path, String... headers) throws Exception {
        return send("GET", path, headers);
    }

    HttpResponse<byte[]> send(String method, String path, String... headers) throws Exception {
        return send(url(path), method, headers);
    }

    private HttpResponse<byte[]> send(URI uri, String method, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                .method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** The AWS SDK v2 S3 client, pointed at kura (path-style: GET /test/key). */
    S3Client kuraClient() {
        return s3(url(""));
    }

    /** The AWS SDK v2 S3 client pointed straight at the origin. */
    S3Client originClient() {
        return s3(origin.endpoint());
    }

    static S3Client s3(URI endpoint) {
        return S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).forcePathStyle(true)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY)))
                .build();
    }

    @Override
    public void close() throws Exception {
        stopProxy();
        if (origin != null) {
            origin.close();
        }
    }
}
