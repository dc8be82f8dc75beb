package dev.kura.s3;

import dev.kura.cache.Cache;
import dev.kura.s3.internal.Server;
import org.jspecify.annotations.Nullable;

/**
 * {@code kura serve}: a read-only S3 caching proxy. GET and HEAD of objects under each configured
 * bucket prefix are answered from the {@link Cache} when fresh, and otherwise fetched from the
 * bucket's S3 origin (SigV4-signed by the AWS SDK v2) while being written into the cache.
 *
 * <p>HTTP behaviour follows RFC 9110 (conditional requests section 13, Range section 14) and
 * RFC 9111 (freshness); {@code docs/CONFIG.md} documents every setting. A second listener,
 * {@code serve.ops-listen} (default {@code 127.0.0.1:8081}; kura-net's {@code OpsServer}), serves
 * {@code /health}, {@code /live}, {@code /ready}, {@code /metrics} (Prometheus) and, when a token is
 * configured, {@code /admin/stats}, {@code /admin/purge} and {@code /admin/reload}; the data port
 * serves objects only.
 *
 * <p>Usage:
 * <pre>{@code
 * try (Cache cache = Cache.open(cacheConfig, fileIo);
 *      ProxyServer server = ProxyServer.start(serveConfig, cache)) {
 *     server.awaitStop();
 * }
 * }</pre>
 *
 * <p>The server does not own the cache: close the cache after the server.
 *
 * <p>Thread-safety: safe for concurrent use; {@link #close()} is idempotent.
 */
public final class ProxyServer implements AutoCloseable {
    /**
     * The slice size {@link #start(ServeConfig, Cache)} uses, in bytes (4 MiB): objects larger than
     * this are cached in slices ({@code cache.slice-size}; docs/CONFIG.md says why 4 MiB).
     */
    public static final long DEFAULT_SLICE_SIZE = 4L << 20;

    private final Server server;
    private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();

    private ProxyServer(Server server) {
        this.server = server;
    }

    /**
     * Binds {@code config.listen()} and starts serving.
     *
     * @throws IllegalStateException when the transport asked for is not available
     * @throws InterruptedException when interrupted while binding
     * @throws RuntimeException (a Netty {@code BindException} wrapped or raw) when the address is taken
     */
    public static ProxyServer start(ServeConfig config, Cache cache) throws InterruptedException {
        return start(config, cache, DEFAULT_SLICE_SIZE);
    }

    /**
     * As {@link #start(ServeConfig, Cache)}, caching objects larger than {@code sliceSize} bytes in
     * slices of that size ({@code cache.slice-size}; the other form uses 4 MiB).
     *
     * @throws IllegalArgumentException when {@code sliceSize} is below 64 KiB
     */
    public static ProxyServer start(ServeConfig config, Cache cache, long sliceSize) throws InterruptedException {
        checkSliceSize(sliceSize);
        return new ProxyServer(Server.start(config, cache, sliceSize));
    }

    /**
     * As {@link #start(ServeConfig, Cache, long)}, registering the proxy's meters in
     * {@code registry} (the process's one registry, which {@code /metrics} serves; the other forms
     * make one of their own).
     *
     * @throws IllegalArgumentException when {@code sliceSize} is below 64 KiB
     */
    public static ProxyServer start(ServeConfig config, Cache cache, long sliceSize,
                                    io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry)
            throws InterruptedException {
        checkSliceSize(sliceSize);
        return new ProxyServer(Server.start(config, cache, sliceSize, registry));
    }

    /**
     * As {@link #start(ServeConfig, Cache, long)}, with traces going to {@code openTelemetry} (an
     * SDK the caller built and closes; kura adds spans to it) instead of the OTLP exporter
     * {@code serve.tracing} would make. The spans are as {@link TracingConfig} describes.
     *
     * @throws IllegalArgumentException when {@code sliceSize} is below 64 KiB
     */
    public static ProxyServer start(ServeConfig config, Cache cache, long sliceSize,
                                    io.opentelemetry.api.OpenTelemetry openTelemetry) throws InterruptedException {
        checkSliceSize(sliceSize);
        return new ProxyServer(Server.start(config, cache, sliceSize, openTelemetry));
    }

    private static void checkSliceSize(long sliceSize) {
        if (sliceSize < 64 * 1024) {
            throw new IllegalArgumentException("slice size must be at least 64 KiB, was " + sliceSize);
        }
    }

    /**
     * As {@link #start(ServeConfig, Cache, long, io.micrometer.prometheusmetrics.PrometheusMeterRegistry)},
     * with a shared cache tier on Valkey or Redis after the local tiers ({@code cache.shared}; see
     * {@link SharedCacheConfig}). The tier connects in the background: the server starts whether or
     * not the Redis server is up, and skips the tier while it is not.
     *
     * @param shared the shared tier's settings, or null for none
     * @throws IllegalArgumentException when {@code sliceSize} is below 64 KiB
     */
    public static ProxyServer start(ServeConfig config, Cache cache, long sliceSize,
                                    io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry,
                                    @org.jspecify.annotations.Nullable SharedCacheConfig shared)
            throws InterruptedException {
        if (sliceSize < 64 * 1024) {
            throw new IllegalArgumentException("slice size must be at least 64 KiB, was " + sliceSize);
        }
        return new ProxyServer(Server.start(config, cache, sliceSize, registry, shared));
    }

    /** The TCP port it listens on (useful with port 0). */
    public int port() {
        return server.port();
    }

    /** The TCP port of the operations listener ({@code serve.ops-listen}; useful with port 0). */
    public int opsPort() {
        return server.opsPort();
    }

    /** The connection limit in force: {@code serve.limits.max-connections}, capped by the open-files limit. */
    public int maxConnections() {
        return server.maxConnections();
    }

    /** Netty transport in use: {@code io_uring}, {@code epoll} or {@code nio}. */
    public String transport() {
        return server.transport();
    }

    /**
     * The TLS engine of the data listener: {@code BoringSSL} (netty-tcnative, where it loads) or
     * {@code JDK}; null when {@code serve.tls} is unset (plain HTTP).
     */
    public @Nullable String tls() {
        return server.tls();
    }

    /**
     * Prewarm in this server: jobs started here run beside those of {@code POST /admin/prewarm}
     * and share their bound; closed with the server (its {@link Prewarmer#close()} does nothing).
     */
    public Prewarmer prewarmer() {
        return new Prewarmer(server.prewarmJobs(), false);
    }

    /** The Prometheus text of every meter, as {@code /metrics} serves it. */
    public String scrapeMetrics() {
        return server.core().scrape();
    }

    /**
     * Sets where {@link #reload} reads the config from (usually the {@code kura.yaml} the server
     * started with); without one, a reload answers {@link ReloadResult.Outcome#UNAVAILABLE}.
     */
    public void reloadFrom(ConfigSource source) {
        server.reloadFrom(source);
    }

    /**
     * Hot reload ({@code SIGHUP}, {@code POST /admin/reload}; docs/OPERATIONS.md): reads the
     * {@link ConfigSource} again and applies it to every request that starts from now on; requests
     * in flight finish on the config they started with. A file that fails validation is refused
     * whole (the running config stays); keys that cannot change without a restart are listed in the
     * result and logged. Blocks while origin clients are made; one reload at a time.
     *
     * @param trigger what asked, for the log (e.g. {@code SIGHUP})
     * @return what happened; never null, never throws for a bad file
     */
    public ReloadResult reload(String trigger) {
        return server.reload(trigger);
    }

    /** Blocks until {@link #close()} has finished. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /**
     * Graceful stop: stops accepting, lets requests in flight finish for up to
     * {@code serve.shutdown-timeout}, then closes every connection and the origin clients.
     */
    @Override
    public void close() {
        if (closing.compareAndSet(false, true)) {
            try {
                server.stop(server.shutdownTimeoutMillis());
            } finally {
                stopped.countDown();
            }
        } else {
            try {
                stopped.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
