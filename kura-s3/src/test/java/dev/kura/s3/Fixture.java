package dev.kura.s3;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.s3.embedded.EmbeddedOrigin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
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
    /** The access key kura issues to the tests' S3 clients (serve.clients), reading every bucket. */
    static final String CLIENT_KEY = "KURATESTCLIENT0001";
    static final String CLIENT_SECRET = "kura-test-client-secret-0123";

    final Path dir;
    EmbeddedOrigin origin;
    FileIo io;
    Cache cache;
    ProxyServer proxy;
    final List<BucketConfig> extraBuckets = new ArrayList<>();
    String adminToken;
    final List<ClientConfig> clients = new ArrayList<>();
    String baseDomain;
    Duration listCacheTtl;
    JwtConfig jwt;
    BucketConfig.Access testAccess = BucketConfig.Access.PUBLIC;
    ListenerLimits limits;
    Duration drainDelay;
    AccessLogFormat accessLogFormat;
    RateLimits rateLimits;
    /** serve.origin-bandwidth; null for off. */
    OriginBandwidth originBandwidth;
    /** The cache's io backend; null for the automatic choice. */
    dev.kura.io.Backend ioBackend;
    /** cache.memory.max-size in bytes (items up to 1 MiB). */
    long memoryTierBytes = 64L << 20;
    /** Objects larger than this many bytes are cached in slices; 0 for the default (4 MiB). */
    long sliceSize;
    TlsConfig tls;
    /** serve.zero-copy. */
    dev.kura.s3.@org.jspecify.annotations.Nullable ZeroCopy zeroCopy; // null: the default
    /** serve.transport; null for the default (auto). */
    dev.kura.net.Transport transport;
    /** The config {@link #startProxy} started kura with. */
    ServeConfig config;
    /** Credentials kura signs its origin requests with; null for S3Proxy's (another kura takes its clients' keys). */
    OriginCredentials originCredentials;
    /** serve.node-id; null for the default (the host name). */
    String nodeId;
    /** serve.listen and serve.ops-listen; a restarted node keeps its ports by setting them. */
    String listen = "127.0.0.1:0";
    String opsListen = "127.0.0.1:0";
    /** serve.tracing; null for the default (off). */
    TracingConfig tracing;
    /** An OpenTelemetry SDK kura traces into (instead of serve.tracing's exporter); null for none. */
    io.opentelemetry.api.OpenTelemetry otel;
    /** cache.shared: the shared Valkey/Redis tier; null for none. */
    SharedCacheConfig shared;
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
        return BucketConfig.builder().prefix(prefix).bucket(BUCKET).name(name).endpoint(endpoint).pathStyle(true)
                .credentials(creds).staleIfError(staleIfError).connectTimeout(Duration.ofSeconds(2))
                .readTimeout(readTimeout).access(BucketConfig.Access.PUBLIC).build();
    }

    /** A mapping of the origin's bucket that signs with the origin's own keys, without stale-if-error. */
    BucketConfig originBucket(String prefix, String name, URI endpoint, Duration readTimeout) {
        return bucket(prefix, name, endpoint, OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY),
                readTimeout, Duration.ZERO);
    }

    Fixture startProxy() throws Exception {
        return startProxy(origin.endpoint());
    }

    Fixture startProxy(URI originEndpoint) throws Exception {
        io = FileIo.create(ioBackend == null ? IoConfig.defaults() : IoConfig.defaults().withBackend(ioBackend));
        cache = Cache.open(new CacheConfig(dir.resolve("cache"), 2L << 30, 0, 1L << 30, memoryTierBytes, 1L << 20,
                CacheConfig.Durability.NONE), io);
        List<BucketConfig> buckets = new ArrayList<>();
        buckets.add(BucketConfig.builder().bucket(BUCKET).endpoint(originEndpoint).pathStyle(true)
                .credentials(originCredentials != null ? originCredentials
                        : OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY))
                .connectTimeout(Duration.ofSeconds(2)).readTimeout(Duration.ofSeconds(10)).access(testAccess).build());
        buckets.addAll(extraBuckets);
        List<ClientConfig> cl = new ArrayList<>(clients);
        if (cl.stream().noneMatch(c -> c.accessKeyId().equals(CLIENT_KEY))) {
            cl.add(new ClientConfig(CLIENT_KEY, CLIENT_SECRET, List.of("*")));
        }
        ServeConfig cfg = ServeConfig.builder().listen(listen).eventLoopThreads(2)
                .shutdownTimeout(Duration.ofSeconds(5)).accessLog(true).adminToken(adminToken).buckets(buckets)
                .baseDomain(baseDomain).listCacheTtl(listCacheTtl).clients(cl).jwt(jwt).opsListen(opsListen)
                .drainDelay(drainDelay).limits(limits).accessLogFormat(accessLogFormat).rateLimits(rateLimits).tls(tls)
                .nodeId(nodeId).tracing(tracing).originBandwidth(originBandwidth).zeroCopy(zeroCopy).transport(transport).build();
        config = cfg;
        if (otel != null) {
            proxy = ProxyServer.start(cfg, cache, sliceSize > 0 ? sliceSize : ProxyServer.DEFAULT_SLICE_SIZE, otel);
            return this;
        }
        proxy = shared != null ? ProxyServer.start(cfg, cache, sliceSize > 0 ? sliceSize : ProxyServer.DEFAULT_SLICE_SIZE,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), shared)
                : sliceSize > 0 ? ProxyServer.start(cfg, cache, sliceSize) : ProxyServer.start(cfg, cache);
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

    /**
     * Waits until no fill is in flight ({@code kura_fills_in_flight} 0): a response can end before
     * its fill has committed, and a test that expects the next request to find the entry waits here.
     */
    void awaitFillsDone() throws Exception {
        dev.kura.testing.PrometheusText.await(this::metrics, "kura_fills_in_flight", "", 0, java.time.Duration.ofSeconds(10));
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

    /** The AWS SDK v2 S3 client, pointed at kura (path-style: GET /test/key) with kura's client key. */
    S3Client kuraClient() {
        return s3(url(""), CLIENT_KEY, CLIENT_SECRET);
    }

    /** The AWS SDK v2 S3 client pointed at kura with the given keys. */
    S3Client kuraClient(String accessKeyId, String secret) {
        return s3(url(""), accessKeyId, secret);
    }

    /** The AWS SDK v2 S3 client pointed straight at the origin. */
    S3Client originClient() {
        return s3(origin.endpoint(), EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY);
    }

    /** The AWS SDK v2 S3 client at {@code endpoint} with the origin's keys. */
    static S3Client s3(URI endpoint) {
        return s3(endpoint, EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY);
    }

    private static S3Client s3(URI endpoint, String accessKeyId, String secret) {
        return S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).forcePathStyle(true)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId, secret)))
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
