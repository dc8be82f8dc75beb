package dev.kura.net.internal;

import dev.kura.config.LogRateLimiter;
import dev.kura.net.OpsExchange;
import dev.kura.net.OpsRoute;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.timeout.IdleStateHandler;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The routing table of the operations listener and its Netty handler. Plain routes answer on the
 * event loop; every path under {@code /admin} first needs the current admin token as
 * {@code Authorization: Bearer <token>} (compared in constant time; 404 when no token is set, 401
 * with {@code WWW-Authenticate: Bearer} (RFC 6750 section 3) when it is wrong), then runs on a
 * virtual thread, since admin calls may touch the disk or an origin. An unknown path answers 404
 * with the list of paths, a known path with a method it does not take 405 with {@code Allow}.
 *
 * <p>Thread-safety: the table is fixed before the listener binds (only read afterwards); the
 * handler is sharable.
 */
@ChannelHandler.Sharable
public final class OpsRouter extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(OpsRouter.class);

    /** One registered path: its handler, the methods it takes, and whether it is behind the token. */
    private record Entry(OpsRoute route, List<String> methods, boolean admin) {
    }

    /** Paths in registration order (the order the 404 answer lists them in). */
    private final Map<String, Entry> routes = new LinkedHashMap<>();
    private final Supplier<@Nullable String> adminToken;
    private final String adminOff;
    private final Supplier<Duration> idleTimeout;
    private final LogRateLimiter badTokenLog = new LogRateLimiter(1, Duration.ofSeconds(10));
    private final LogRateLimiter failureLog = new LogRateLimiter(1, Duration.ofSeconds(10));
    private final ExecutorService adminWorkers = Executors.newVirtualThreadPerTaskExecutor();

    /**
     * @param adminToken the admin token in force now (a reload may change it), null when the admin API is off
     * @param adminOff the 404 text of an admin call while there is no token (says which key turns it on)
     * @param idleTimeout how long a connection may stay idle, read for each new connection
     */
    public OpsRouter(Supplier<@Nullable String> adminToken, String adminOff, Supplier<Duration> idleTimeout) {
        this.adminToken = adminToken;
        this.adminOff = adminOff;
        this.idleTimeout = idleTimeout;
    }

    /**
     * Adds {@code path}; admin paths must lie under {@code /admin/}.
     *
     * @throws IllegalArgumentException when the path is taken, or an admin path lies elsewhere
     */
    public void add(String path, OpsRoute route, boolean admin, String... methods) {
        if (admin != path.startsWith("/admin/")) {
            throw new IllegalArgumentException("admin routes, and only they, lie under /admin/: " + path);
        }
        if (methods.length == 0) {
            throw new IllegalArgumentException("no method for " + path);
        }
        if (routes.putIfAbsent(path, new Entry(route, List.of(methods), admin)) != null) {
            throw new IllegalArgumentException("ops route registered twice: " + path);
        }
    }

    /** The pipeline of one operations connection. */
    public ChannelInitializer<SocketChannel> initializer(io.netty.channel.group.ChannelGroup connections) {
        OpsRouter router = this;
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                connections.add(ch);
                ch.pipeline()
                        .addLast(new IdleStateHandler(0, 0, idleTimeout.get().toNanos(), TimeUnit.NANOSECONDS))
                        .addLast(new HttpServerCodec(8192, 16384, 8192))
                        .addLast(new HttpServerKeepAliveHandler())
                        .addLast(new HttpObjectAggregator(8192))
                        .addLast(new IdleClose())
                        .addLast(router);
            }
        };
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean ok = req.decoderResult().isSuccess();
        NettyOpsExchange ex = new NettyOpsExchange(ctx, req, ok && HttpUtil.isKeepAlive(req));
        if (!ok) {
            ex.text(400, "malformed request\n");
            return;
        }
        String path = ex.path();
        boolean adminPath = path.equals("/admin") || path.startsWith("/admin/");
        if (adminPath && !authorized(ex)) {
            return;
        }
        Entry e = routes.get(path);
        if (e == null || e.admin() != adminPath) {
            ex.text(404, (adminPath ? "admin endpoints: " + paths(true) : "ops endpoints: " + paths(false)) + "\n");
            return;
        }
        if (!e.methods().contains(ex.method())) {
            ex.notAllowed(String.join(", ", e.methods()));
            return;
        }
        if (e.admin()) {
            adminWorkers.execute(() -> run(e.route(), ex));
        } else {
            run(e.route(), ex);
        }
    }

    /** Checks the bearer token; answers 404 or 401 itself when the call may not go on. */
    private boolean authorized(NettyOpsExchange ex) {
        // The token in force now: a reload may set, rotate or remove it.
        String token = adminToken.get();
        if (token == null) {
            ex.text(404, adminOff);
            return false;
        }
        String auth = ex.header(HttpHeaderNames.AUTHORIZATION.toString());
        byte[] given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)
                ? auth.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(given, token.getBytes(StandardCharsets.UTF_8))) {
            long held = badTokenLog.admit();
            if (held >= 0) {
                log.warn("admin call without a valid token from {}{}", ex.remote(), more(held));
            }
            ex.send(401, OpsExchange.TEXT, "a valid bearer token is needed\n".getBytes(StandardCharsets.UTF_8),
                    "WWW-Authenticate", "Bearer");
            return false;
        }
        return true;
    }

    private void run(OpsRoute route, NettyOpsExchange ex) {
        try {
            route.handle(ex);
        } catch (Exception | Error e) {
            long held = failureLog.admit();
            if (held >= 0) {
                log.error("ops {} {} failed{}", ex.method(), ex.path(), more(held), e);
            }
            ex.text(500, "internal error: " + e + "\n");
        }
    }

    private static String more(long held) {
        return held == 0 ? "" : " (" + held + " more like this not logged)";
    }

    private String paths(boolean admin) {
        List<String> l = new ArrayList<>();
        routes.forEach((p, e) -> {
            if (!admin || e.admin()) {
                l.add(p);
            }
        });
        return String.join(", ", l);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            log.debug("ops connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }

    /** Stops the admin workers, waiting up to {@code millis} for calls in progress. */
    public void close(long millis) {
        adminWorkers.shutdown();
        try {
            adminWorkers.awaitTermination(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
