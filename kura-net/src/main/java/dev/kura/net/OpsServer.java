package dev.kura.net;

import dev.kura.net.internal.OpsRouter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.jspecify.annotations.Nullable;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The operations listener of kura's servers ({@code serve.ops-listen}, {@code tftp.metrics-listen}):
 * what an operator, Prometheus and a load balancer use, kept off the data port. One class for both
 * servers, so that both answer the same paths the same way and scrape the one registry the
 * {@code kura} command made.
 *
 * <ul>
 *   <li>{@code GET /health} and {@code GET /live}: 200 {@code ok} while the process serves
 *       (liveness: a failing answer means "restart me");</li>
 *   <li>{@code GET /ready}: 200 when the server wants traffic, else 503, with the text the
 *       server's {@link Readiness} supplier gives (readiness: a failing answer means "send
 *       elsewhere");</li>
 *   <li>{@code GET /metrics}: the registry in the Prometheus text format 0.0.4;</li>
 *   <li>routes the server adds with {@link Builder#route} (on the event loop) and
 *       {@link Builder#adminRoute} (under {@code /admin/}, behind {@code Authorization: Bearer
 *       <token>} (RFC 6750), on a virtual thread); 404 for every {@code /admin} path while the
 *       token supplier gives null.</li>
 * </ul>
 * Unknown paths answer 404 with the list of paths, a method a path does not take 405 with
 * {@code Allow}, a request Netty cannot parse 400. HEAD is answered wherever GET is listed with it.
 *
 * <p>Usage:
 * <pre>{@code
 * OpsServer ops = OpsServer.builder(registry)
 *         .readiness(() -> draining ? OpsServer.Readiness.notReady("DRAINING\n") : OpsServer.Readiness.READY)
 *         .adminToken(config::adminToken, "the admin API is off (serve.admin-token is not set)\n")
 *         .adminRoute("/admin/stats", ex -> ex.send(200, "application/json", json), "GET")
 *         .transport(NettyTransport.select(Transport.AUTO))
 *         .bind(new InetSocketAddress("127.0.0.1", 8081));
 * }</pre>
 *
 * <p>Thread-safety: the builder is for one thread; the server is safe for concurrent use and
 * {@link #close} is idempotent.
 */
public final class OpsServer implements AutoCloseable {
    /** Content type of {@code /metrics} (Prometheus text exposition format 0.0.4). */
    public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    /**
     * What {@code /ready} answers.
     *
     * @param ready 200 when true, 503 when false
     * @param text the body (plain text, ends with a newline)
     */
    public record Readiness(boolean ready, String text) {
        /** Ready, body {@code READY}. */
        public static final Readiness READY = new Readiness(true, "READY\n");

        public Readiness {
            Objects.requireNonNull(text, "text");
        }

        /** Not ready, with {@code text} as the body. */
        public static Readiness notReady(String text) {
            return new Readiness(false, text);
        }
    }

    private final Channel listener;
    private final OpsRouter router;
    private final ChannelGroup connections;
    private final @Nullable EventLoopGroup ownLoops;
    private final AtomicBoolean closed = new AtomicBoolean();

    private OpsServer(Channel listener, OpsRouter router, ChannelGroup connections, @Nullable EventLoopGroup ownLoops) {
        this.listener = listener;
        this.router = router;
        this.connections = connections;
        this.ownLoops = ownLoops;
    }

    /** A builder whose {@code /metrics} serves {@code registry}. */
    public static Builder builder(PrometheusMeterRegistry registry) {
        return new Builder(registry);
    }

    /** The address the listener is bound to (with the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The TCP port the listener is bound to. */
    public int port() {
        return address().getPort();
    }

    /**
     * Closes the listener and every operations connection, waits up to a second for admin calls in
     * progress, and stops the event loops if the server made its own.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        listener.close().awaitUninterruptibly();
        connections.close().awaitUninterruptibly();
        router.close(1000);
        if (ownLoops != null) {
            ownLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
        }
    }

    /** Collects the routes and the listener's set-up; {@link #bind} starts it. */
    public static final class Builder {
        private final PrometheusMeterRegistry registry;
        private Supplier<Readiness> readiness = () -> Readiness.READY;
        private Supplier<@Nullable String> adminToken = () -> null;
        private String adminOff = "the admin API is off\n";
        private Supplier<Duration> idleTimeout = () -> Duration.ofSeconds(60);
        private final java.util.List<Runnable> registrations = new java.util.ArrayList<>();
        private @Nullable EventLoopGroup boss;
        private @Nullable EventLoopGroup workers;
        private NettyTransport transport = new NettyTransport(Transport.NIO, "default of the operations listener");
        private @Nullable ChannelHandler acceptHandler;
        private @Nullable OpsRouter router;

        private Builder(PrometheusMeterRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
        }

        /** What {@code /ready} answers; asked on every call, on the event loop (must not block). Default: always ready. */
        public Builder readiness(Supplier<Readiness> readiness) {
            this.readiness = Objects.requireNonNull(readiness, "readiness");
            return this;
        }

        /**
         * The admin API's bearer token, asked on every admin call (a reload may rotate it); while it
         * gives null every {@code /admin} path answers 404 with {@code whyOff}.
         */
        public Builder adminToken(Supplier<@Nullable String> token, String whyOff) {
            this.adminToken = Objects.requireNonNull(token, "token");
            this.adminOff = whyOff.endsWith("\n") ? whyOff : whyOff + "\n";
            return this;
        }

        /** How long an operations connection may stay idle before it is closed; read per connection. Default 60 s. */
        public Builder idleTimeout(Supplier<Duration> idleTimeout) {
            this.idleTimeout = Objects.requireNonNull(idleTimeout, "idleTimeout");
            return this;
        }

        /**
         * Adds a path answered on the event loop (must not block).
         *
         * @param methods the methods it takes, e.g. {@code "GET", "HEAD"}; others get 405
         * @throws IllegalArgumentException (from {@link #bind}) when the path is taken or lies under {@code /admin/}
         */
        public Builder route(String path, OpsRoute route, String... methods) {
            registrations.add(() -> router().add(path, route, false, methods));
            return this;
        }

        /**
         * Adds an admin path (under {@code /admin/}), answered on a virtual thread once the bearer
         * token matched.
         *
         * @param methods the methods it takes, e.g. {@code "POST", "DELETE"}; others get 405
         * @throws IllegalArgumentException (from {@link #bind}) when the path is taken or lies elsewhere
         */
        public Builder adminRoute(String path, OpsRoute route, String... methods) {
            registrations.add(() -> router().add(path, route, true, methods));
            return this;
        }

        /** Runs the listener on these event loops (shared with the data listener; the server does not stop them). */
        public Builder eventLoops(EventLoopGroup boss, EventLoopGroup workers, NettyTransport transport) {
            this.boss = boss;
            this.workers = workers;
            this.transport = transport;
            return this;
        }

        /** Runs the listener on one event loop of its own, of this transport (default NIO). */
        public Builder transport(NettyTransport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /** A sharable handler for the listening channel (e.g. one that pauses accepts after EMFILE). */
        public Builder acceptHandler(ChannelHandler handler) {
            this.acceptHandler = handler;
            return this;
        }

        private OpsRouter router() {
            return Objects.requireNonNull(router);
        }

        /**
         * Binds {@code address} and starts answering.
         *
         * @throws IllegalArgumentException when two routes share a path
         * @throws InterruptedException when interrupted while binding
         * @throws RuntimeException (a Netty {@code BindException}, wrapped or raw) when the address is taken
         */
        public OpsServer bind(InetSocketAddress address) throws InterruptedException {
            OpsRouter r = new OpsRouter(adminToken, adminOff, idleTimeout);
            router = r;
            Supplier<Readiness> ready = readiness;
            r.add("/health", OpsServer::live, false, "GET", "HEAD");
            r.add("/live", OpsServer::live, false, "GET", "HEAD");
            r.add("/ready", ex -> {
                Readiness s = ready.get();
                ex.text(s.ready() ? 200 : 503, s.text());
            }, false, "GET", "HEAD");
            PrometheusMeterRegistry reg = registry;
            r.add("/metrics", ex -> ex.send(200, PROMETHEUS_TEXT, reg.scrape().getBytes(StandardCharsets.UTF_8)),
                    false, "GET", "HEAD");
            registrations.forEach(Runnable::run);
            EventLoopGroup own = null;
            EventLoopGroup b = boss;
            EventLoopGroup w = workers;
            if (b == null || w == null) {
                own = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
                b = own;
                w = own;
            }
            ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
            ServerBootstrap sb = new ServerBootstrap().group(b, w).channel(transport.serverChannel())
                    .childHandler(r.initializer(connections));
            if (acceptHandler != null) {
                sb.handler(acceptHandler);
            }
            try {
                Channel ch = sb.bind(address).sync().channel();
                return new OpsServer(ch, r, connections, own);
            } catch (RuntimeException | InterruptedException e) {
                r.close(0);
                if (own != null) {
                    own.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                }
                throw e;
            }
        }
    }

    private static void live(OpsExchange ex) {
        ex.text(200, "ok\n");
    }
}
