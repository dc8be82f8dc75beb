package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.net.NettyTransport;
import dev.kura.net.OpsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.ListenerLimits;
import dev.kura.s3.ServeConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The Netty servers of {@code kura serve}: the data listener ({@code serve.listen}: TLS when
 * {@code serve.tls} is set ({@link TlsContexts}), the codec,
 * the {@link ListenerLimits} handlers and {@link HttpHandler}) and the operations listener
 * ({@code serve.ops-listen}: kura-net's {@link OpsServer} with {@link OpsHandler}'s readiness and
 * admin routes), on one boss thread and shared event loops.
 *
 * <p>Connection limit. Each accepted connection is counted; beyond the effective maximum (the
 * configured {@code max-connections}, capped by the open-files limit less a reserve for cache
 * files and origin connections) it is closed at once and the refusal logged at most once per
 * 10 s. Keeping connections below the open-files limit is what keeps accept(2) from failing with
 * EMFILE; should it fail anyway (another part of the process holding descriptors),
 * {@link AcceptBackoff} stops accepting for a while instead of retrying in a loop.
 *
 * <p>Graceful stop (SIGTERM): {@code /ready} turns 503, {@code serve.drain-delay} passes, the
 * data listener closes, requests in flight get up to {@code serve.shutdown-timeout}, then every
 * connection, the ops listener and the loops close.
 */
public final class Server {
    private static final Logger log = LoggerFactory.getLogger(Server.class);
    /** Descriptors kept free beyond the origin connections: cache files, rings, logs, the JVM's own. */
    private static final int FD_RESERVE = 256;

    private final ProxyCore core;
    private final Readiness readiness;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Channel listener;
    private final OpsServer ops;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final NettyTransport transport;
    private final AtomicInteger maxConnections;
    private final Reloader reloader;
    private final AtomicReference<@Nullable SslContext> tls;
    private final dev.kura.s3.internal.prewarm.PrewarmJobs prewarm;

    private Server(Builder b) {
        this.core = made(b.core, "core");
        this.readiness = made(b.readiness, "readiness");
        this.boss = made(b.boss, "boss");
        this.workers = made(b.workers, "workers");
        this.listener = made(b.listener, "listener");
        this.ops = made(b.opsServer, "opsServer");
        this.transport = made(b.transport, "transport");
        this.maxConnections = made(b.maxConnections, "maxConnections");
        this.reloader = made(b.reloader, "reloader");
        this.tls = made(b.tls, "tls");
        this.prewarm = made(b.prewarm, "prewarm");
    }

    /** A part start() made before it calls the constructor; null there is a bug in start(). */
    private static <T> T made(@Nullable T part, String name) {
        return java.util.Objects.requireNonNull(part, () -> "Server.start() did not make " + name);
    }

    /** What {@link #start} assembles before the server exists. */
    private static final class Builder {
        // Each is null until start() has made it; the Server constructor takes them all, non-null.
        @Nullable ProxyCore core;
        @Nullable OpsHandler ops;
        @Nullable Readiness readiness;
        @Nullable EventLoopGroup boss;
        @Nullable EventLoopGroup workers;
        @Nullable Channel listener;
        @Nullable OpsServer opsServer;
        @Nullable NettyTransport transport;
        @Nullable AtomicInteger maxConnections;
        @Nullable Reloader reloader;
        @Nullable AtomicReference<@Nullable SslContext> tls;
        dev.kura.s3.internal.prewarm.@Nullable PrewarmJobs prewarm;
    }

    /**
     * Netty's io_uring transport arms a multishot accept; when accept(2) fails with EMFILE the
     * kernel posts the error and retries at once while the backlog is not empty, so no Netty-level
     * pause ({@code autoRead} off) can stop it: 83-113% of a core, measured. Single-shot accepts
     * make {@link AcceptBackoff}'s pause effective. Set before Netty's {@code IoUring} class
     * initialises (it reads the property once); an explicit {@code -D} setting wins.
     */
    static void singleShotAccept() {
        if (System.getProperty("io.netty.iouring.acceptMultiShotEnabled") == null) {
            System.setProperty("io.netty.iouring.acceptMultiShotEnabled", "false");
        }
    }

    /** Netty write spin count of a plain-HTTP connection with {@code serve.zero-copy} (else Netty's 16). */
    private static final int ZERO_COPY_WRITE_SPINS = 64;

    /** Binds both listeners and starts serving. */
    public static Server start(ServeConfig config, Cache cache) throws InterruptedException {
        return start(config, cache, new ProxyCore(config, cache));
    }

    /** Binds both listeners and starts serving; objects larger than {@code sliceSize} bytes are cached in slices. */
    public static Server start(ServeConfig config, Cache cache, long sliceSize) throws InterruptedException {
        return start(config, cache, new ProxyCore(config, cache, sliceSize));
    }

    /**
     * Binds both listeners and starts serving, with the meters in {@code registry} (the process's
     * one registry, also served by other servers' {@code /metrics}).
     */
    public static Server start(ServeConfig config, Cache cache, long sliceSize, PrometheusMeterRegistry registry)
            throws InterruptedException {
        return start(config, cache, new ProxyCore(config, cache, sliceSize, registry, Tracing.of(config.tracing()), null));
    }

    /** As above, tracing through {@code otel} instead of {@code serve.tracing}'s exporter. */
    public static Server start(ServeConfig config, Cache cache, long sliceSize,
                               io.opentelemetry.api.OpenTelemetry otel) throws InterruptedException {
        return start(config, cache, new ProxyCore(config, cache, sliceSize,
                new PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT), Tracing.of(otel), null));
    }

    /** As {@link #start(ServeConfig, Cache, long, PrometheusMeterRegistry)}, with the shared tier {@code shared} (null: none). */
    public static Server start(ServeConfig config, Cache cache, long sliceSize, PrometheusMeterRegistry registry,
                               dev.kura.s3.@org.jspecify.annotations.Nullable SharedCacheConfig shared)
            throws InterruptedException {
        return start(config, cache, new ProxyCore(config, cache, sliceSize, registry, Tracing.of(config.tracing()), shared));
    }

    /** Binds and starts serving with origins from {@code origins} (a seam for tests: a fake origin). */
    static Server start(ServeConfig config, Cache cache, java.util.function.Function<BucketConfig, Origin> origins,
                        long sliceSize) throws InterruptedException {
        return start(config, cache, new ProxyCore(config, cache, origins, sliceSize));
    }

    private static Server start(ServeConfig config, Cache cache, ProxyCore core) throws InterruptedException {
        singleShotAccept();
        Builder sb = new Builder();
        sb.core = core;
        sb.readiness = new Readiness(sb.core::routes);
        sb.maxConnections = new AtomicInteger(effectiveMaxConnections(config));
        AtomicInteger maxConn = sb.maxConnections;
        // The data listener's TLS context: read from the PEM files at start and on every reload.
        AtomicReference<@Nullable SslContext> tls = new AtomicReference<>();
        try {
            tls.set(config.tls() == null ? null : TlsContexts.build(config.tls()));
        } catch (RuntimeException e) {
            core.close(0); // its origin clients are made already
            throw e;
        }
        sb.tls = tls;
        sb.reloader = new Reloader(sb.core, next -> {
            int m = effectiveMaxConnections(next);
            SslContext ctx = next.tls() == null ? null : TlsContexts.build(next.tls());
            return () -> {
                maxConn.set(m);
                tls.set(ctx);
            };
        });
        sb.prewarm = new dev.kura.s3.internal.prewarm.PrewarmJobs(new Warmer(sb.core),
                dev.kura.s3.Prewarmer.MAX_RUNNING_JOBS);
        sb.ops = new OpsHandler(sb.core, cache, sb.readiness, sb.reloader, sb.prewarm);
        // epoll sends a file region with one sendfile, io_uring with a pipe and two splices
        sb.transport = config.zeroCopy() != dev.kura.s3.ZeroCopy.OFF
                ? NettyTransport.selectForFileRegions(config.transport()) : NettyTransport.select(config.transport());
        sb.boss = new MultiThreadIoEventLoopGroup(1, sb.transport.ioHandlerFactory());
        sb.workers = new MultiThreadIoEventLoopGroup(config.eventLoopThreads(), sb.transport.ioHandlerFactory());
        RequestTarget.isAbsoluteForm(""); // loads the class on this thread, not on an event loop
        Server[] self = new Server[1];
        AtomicInteger open = new AtomicInteger();
        RateLimitedLog refusedLog = new RateLimitedLog(log, 10, TimeUnit.SECONDS);
        ProxyMetrics metrics = sb.core.metrics;
        ServerBootstrap data = new ServerBootstrap()
                .group(sb.boss, sb.workers)
                .channel(sb.transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .handler(new AcceptBackoff())
                .childOption(ChannelOption.TCP_NODELAY, true)
                // Above Netty's 64 KiB default: a whole 256 KiB chunk fits, so the next cache read
                // overlaps the socket draining the previous one; still bounded per connection.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(512 * 1024, 1024 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // Limits as the current config has them: a reload applies to new connections.
                        ListenerLimits limits = core.config().limits();
                        int max = maxConn.get();
                        if (open.incrementAndGet() > max) {
                            open.decrementAndGet();
                            metrics.closed(ProxyMetrics.CloseReason.MAX_CONNECTIONS);
                            refusedLog.warn("refusing connection from {}: {} connections open "
                                    + "(serve.limits.max-connections)", ch.remoteAddress(), max);
                            ch.close();
                            return;
                        }
                        metrics.connectionsOpen.incrementAndGet();
                        SslContext ssl = tls.get();
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                        } else if (core.config().zeroCopy() != dev.kura.s3.ZeroCopy.OFF) {
                            // A 1 MiB zero-copy hit is a head and 16 file regions (one per 64 KiB
                            // block); Netty's default of 16 writes per flush would leave the rest
                            // of each response to a later turn of the event loop.
                            ch.config().setWriteSpinCount(ZERO_COPY_WRITE_SPINS);
                        }
                        ch.closeFuture().addListener(f -> {
                            open.decrementAndGet();
                            metrics.connectionsOpen.decrementAndGet();
                        });
                        self[0].connections.add(ch);
                        HttpHandler handler = new HttpHandler(core, limits.maxPipelined());
                        RequestHeadTimeout headTimeout = new RequestHeadTimeout(limits.requestHeaderTimeout().toNanos(),
                                () -> metrics.closed(ProxyMetrics.CloseReason.REQUEST_HEADER_TIMEOUT), handler::idle);
                        ch.pipeline()
                                .addLast(new IdleStateHandler(0, 0, limits.idleTimeout().toNanos(), TimeUnit.NANOSECONDS))
                                .addLast(headTimeout.front())
                                .addLast(new HttpServerCodec((int) config.maxUrlLength().bytes(),
                                        (int) config.maxHeaderSize().bytes(), 65536))
                                .addLast(headTimeout.back())
                                .addLast(new HttpServerKeepAliveHandler())
                                .addLast(new RequestBodyLimit(limits.maxRequestBody().bytes(),
                                        () -> metrics.closed(ProxyMetrics.CloseReason.REQUEST_BODY_TOO_LARGE)))
                                .addLast(handler);
                    }
                });
        try {
            sb.listener = data.bind(new InetSocketAddress(config.host(), config.port())).sync().channel();
            sb.opsServer = sb.ops.register(OpsServer.builder(metrics.registry))
                    .eventLoops(sb.boss, sb.workers, sb.transport)
                    .acceptHandler(new AcceptBackoff())
                    .idleTimeout(() -> core.config().limits().idleTimeout())
                    .bind(new InetSocketAddress(config.opsHost(), config.opsPort()));
        } catch (RuntimeException | InterruptedException e) {
            if (sb.listener != null) {
                sb.listener.close().awaitUninterruptibly();
            }
            sb.boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            sb.workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            sb.readiness.close();
            sb.core.close(0);
            throw e;
        }
        Server s = new Server(sb);
        self[0] = s;
        log.info("kura serve listening on {} (transport {}: {}), operations on {}", sb.listener.localAddress(),
                sb.transport.name(), sb.transport.why(), sb.opsServer.address());
        if (config.tls() != null) {
            log.info("TLS on the data listener: {}; certificate {}{}", TlsContexts.describe(), config.tls().cert(),
                    config.tls().clientCa() == null ? "" : ", client certificates required (CA " + config.tls().clientCa() + ")");
        }
        log.info("limits: {} connections, idle {}, request header {}, body {} B, {} pipelined; "
                        + "JVM max heap {} MiB, max direct memory {} MiB", maxConn.get(), config.limits().idleTimeout(),
                config.limits().requestHeaderTimeout(), config.limits().maxRequestBody().bytes(),
                config.limits().maxPipelined(),
                Runtime.getRuntime().maxMemory() >> 20, maxDirectMemory() >> 20);
        return s;
    }

    /** The configured maximum, capped so that connections cannot exhaust the open-files limit. */
    static int effectiveMaxConnections(ServeConfig config) {
        int wanted = config.limits().maxConnections();
        long fdLimit = -1;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean u) {
            fdLimit = u.getMaxFileDescriptorCount();
        }
        if (fdLimit <= 0) {
            return wanted;
        }
        long origins = 0;
        for (BucketConfig b : config.buckets()) {
            origins += b.maxConnections();
        }
        long room = fdLimit - FD_RESERVE - origins;
        if (room >= wanted) {
            return wanted;
        }
        int capped = (int) Math.max(16, room);
        log.warn("serve.limits.max-connections {} lowered to {}: the open-files limit is {} ({} kept for "
                + "origin connections and cache files); raise it with ulimit -n or LimitNOFILE=", wanted, capped,
                fdLimit, FD_RESERVE + origins);
        return capped;
    }

    private static long maxDirectMemory() {
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:MaxDirectMemorySize=")) {
                String v = a.substring(a.indexOf('=') + 1).toLowerCase(java.util.Locale.ROOT);
                long mult = switch (v.charAt(v.length() - 1)) {
                    case 'k' -> 1L << 10;
                    case 'm' -> 1L << 20;
                    case 'g' -> 1L << 30;
                    case 't' -> 1L << 40;
                    default -> 1;
                };
                String digits = mult == 1 ? v : v.substring(0, v.length() - 1);
                try {
                    return Long.parseLong(digits) * mult;
                } catch (NumberFormatException e) {
                    break;
                }
            }
        }
        return Runtime.getRuntime().maxMemory(); // the JVM's default: as large as the heap
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** The port of the operations listener. */
    public int opsPort() {
        return ops.port();
    }

    /** The effective connection limit (after the open-files cap). */
    public int maxConnections() {
        return maxConnections.get();
    }

    /** The TLS engine of the data listener ({@code BoringSSL} or {@code JDK}), or null for plain HTTP. */
    public @Nullable String tls() {
        return tls.get() == null ? null : TlsContexts.name();
    }

    /** Sets where a hot reload reads the config from; null for nowhere. */
    public void reloadFrom(dev.kura.s3.ConfigSource source) {
        reloader.source(source);
    }

    /** A hot reload ({@link Reloader#reload}). */
    public dev.kura.s3.ReloadResult reload(String trigger) {
        return reloader.reload(trigger);
    }

    /** {@code serve.shutdown-timeout} of the config in force, in milliseconds. */
    public long shutdownTimeoutMillis() {
        return core.config().shutdownTimeout().toMillis();
    }

    public String transport() {
        return transport.name();
    }

    public ProxyCore core() {
        return core;
    }

    /** The prewarm jobs of this server ({@code /admin/prewarm}, {@link dev.kura.s3.ProxyServer#prewarmer()}). */
    public dev.kura.s3.internal.prewarm.PrewarmJobs prewarmJobs() {
        return prewarm;
    }

    /**
     * Graceful stop: {@code /ready} turns 503, the drain delay passes, the data listener closes,
     * requests in flight get up to {@code timeoutMillis}, then everything closes.
     */
    public void stop(long timeoutMillis) {
        readiness.drain();
        long drainDelayMillis = core.config().drainDelay().toMillis();
        if (drainDelayMillis > 0) {
            log.info("shutdown: /ready answers 503, closing the listener in {} ms", drainDelayMillis);
            sleep(drainDelayMillis);
        }
        listener.close().awaitUninterruptibly();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (core.inFlight.get() > 0 && System.nanoTime() < deadline) {
            if (!sleep(10)) {
                break;
            }
        }
        int left = core.inFlight.get();
        if (left > 0) {
            log.warn("shutdown: {} requests still in flight after {} ms, closing them", left, timeoutMillis);
        }
        ops.close(); // its connections, and admin calls in progress (up to 1 s)
        prewarm.close(java.time.Duration.ofSeconds(1)); // no object starts; those in flight get 1 s
        connections.close().awaitUninterruptibly();
        readiness.close();
        core.close(Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
