package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.FillConfig;
import dev.kura.s3.OriginCredentials;
import dev.kura.s3.ServeConfig;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * kura serve on a loopback port, with a real disk cache on one io backend and a {@link FakeOrigin}
 * as the origin of bucket {@code b} (path prefix {@code /b}).
 */
final class FakeOriginProxy implements AutoCloseable {
    final FakeOrigin origin = new FakeOrigin();
    final FileIo io;
    final Cache cache;
    final Server server;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    FakeOriginProxy(Path dir, Backend backend, Duration readTimeout) throws Exception {
        this(dir, backend, readTimeout, ProxyCore.DEFAULT_SLICE_SIZE);
    }

    /** @param sliceSize objects larger than this many bytes are cached in slices */
    FakeOriginProxy(Path dir, Backend backend, Duration readTimeout, long sliceSize) throws Exception {
        this(dir, backend, readTimeout, sliceSize, 64L << 20);
    }

    /** @param memoryTier bytes of the memory tier; 0 turns it off, so every hit reads the disk */
    FakeOriginProxy(Path dir, Backend backend, Duration readTimeout, long sliceSize, long memoryTier) throws Exception {
        this(dir, backend, readTimeout, sliceSize, memoryTier, FillConfig.defaults());
    }

    /** @param fill fill deadlines and read-ahead ({@code serve.fill}) */
    FakeOriginProxy(Path dir, Backend backend, Duration readTimeout, long sliceSize, long memoryTier, FillConfig fill)
            throws Exception {
        io = FileIo.create(IoConfig.defaults().withBackend(backend));
        cache = Cache.open(new CacheConfig(dir.resolve("cache"), 2L << 30, 0, 1L << 30, memoryTier, 1L << 20,
                CacheConfig.Durability.NONE), io);
        BucketConfig b = BucketConfig.builder().prefix("/b").bucket("bucket").name("b")
                .endpoint(URI.create("http://fake.invalid")).pathStyle(true).credentials(OriginCredentials.anonymous())
                .connectTimeout(Duration.ofSeconds(2)).readTimeout(readTimeout).access(BucketConfig.Access.PUBLIC).build();
        ServeConfig cfg = ServeConfig.builder().listen("127.0.0.1:0").eventLoopThreads(2)
                .shutdownTimeout(Duration.ofSeconds(5)).accessLog(false).buckets(List.of(b)).opsListen("127.0.0.1:0")
                .fill(fill).build();
        server = Server.start(cfg, cache, x -> origin, sliceSize);
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
        return http.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.opsPort() + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    URI url(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    HttpResponse<byte[]> get(String path, String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(url(path)).timeout(Duration.ofSeconds(60));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            r.header(headers[i], headers[i + 1]);
        }
        return http.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Override
    public void close() {
        server.stop(2_000);
        cache.close();
        io.close();
    }
}
