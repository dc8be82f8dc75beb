package dev.kura.s3.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.cache.Cache;
import dev.kura.cache.CacheStats;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The operations listener ({@code serve.ops-listen}, default {@code 127.0.0.1:8081}): what an
 * operator and a load balancer use, kept off the data port so that data clients can neither
 * scrape metrics, nor probe origins, nor reach the admin API.
 * <ul>
 *   <li>{@code GET /health}: 200 while the process serves;</li>
 *   <li>{@code GET /ready}: 200 when the last background origin check passed, else 503 with the
 *       state ({@link Readiness}); 503 {@code DRAINING} from the start of a graceful stop;</li>
 *   <li>{@code GET /metrics}: Prometheus text format 0.0.4;</li>
 *   <li>the admin API, off (404) unless {@code serve.admin-token} is set; every call needs
 *       {@code Authorization: Bearer <token>}: {@code GET /admin/stats} (cache counters, JSON);
 *       {@code POST /admin/purge?bucket=<name>} (the mapping's whole cache),
 *       {@code ?bucket=<name>&prefix=<key prefix>} (keys of that mapping starting with the
 *       prefix), {@code ?bucket=<name>&key=<key>} (one object); answers {@code {"purged": n}}.
 *       A prefix is always scoped to one mapping: {@code prefix=bench} of mapping {@code bench}
 *       never reaches mapping {@code bench2}. {@code POST /admin/reload}: a hot reload of the config
 *       file ({@link Reloader}); answers the {@link dev.kura.s3.ReloadResult} as JSON, 200 when
 *       applied, 400 with the file's {@code file:line: key: message} when refused, 409 without a
 *       file. The token is the current config's: a reload may rotate it.</li>
 * </ul>
 * JSON is written by Jackson. Purges run on a virtual thread (they touch the disk), never on the
 * event loop.
 *
 * <p>Thread-safety: sharable; state is the immutable config and thread-safe collaborators.
 */
@ChannelHandler.Sharable
final class OpsHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(OpsHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TEXT = "text/plain; charset=utf-8";

    private final ProxyCore core;
    private final Cache cache;
    private final Readiness readiness;
    private final Reloader reloader;
    private final RateLimitedLog badToken = new RateLimitedLog(log, 10, TimeUnit.SECONDS);
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();

    OpsHandler(ProxyCore core, Cache cache, Readiness readiness, Reloader reloader) {
        this.core = core;
        this.cache = cache;
        this.readiness = readiness;
        this.reloader = reloader;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean keepAlive = req.decoderResult().isSuccess() && HttpUtil.isKeepAlive(req);
        Reply reply = new Reply(ctx, keepAlive, req.method().equals(HttpMethod.HEAD));
        if (!req.decoderResult().isSuccess()) {
            reply.text(HttpResponseStatus.BAD_REQUEST, "malformed request\n");
            return;
        }
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        String path = q.path();
        String method = req.method().name();
        boolean read = method.equals("GET") || method.equals("HEAD");
        switch (path) {
            case "/health" -> {
                if (read) {
                    reply.text(HttpResponseStatus.OK, "ok\n");
                } else {
                    reply.notAllowed("GET, HEAD");
                }
            }
            case "/ready" -> {
                if (read) {
                    ready(reply);
                } else {
                    reply.notAllowed("GET, HEAD");
                }
            }
            case "/metrics" -> {
                if (read) {
                    reply.send(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                            core.metrics.scrape().getBytes(StandardCharsets.UTF_8));
                } else {
                    reply.notAllowed("GET, HEAD");
                }
            }
            default -> {
                if (path.equals("/admin") || path.startsWith("/admin/")) {
                    admin(reply, method, path, req.headers().get(HttpHeaderNames.AUTHORIZATION), q.parameters());
                } else {
                    reply.text(HttpResponseStatus.NOT_FOUND, "ops endpoints: /health, /ready, /metrics, /admin/stats, /admin/purge, /admin/reload\n");
                }
            }
        }
    }

    private void ready(Reply reply) {
        Readiness.Snapshot s = readiness.snapshot();
        StringBuilder sb = new StringBuilder(s.state().name()).append('\n');
        s.origins().forEach((name, ok) -> sb.append(name).append(' ').append(ok ? "reachable" : "UNREACHABLE").append('\n'));
        if (s.checkedAt() != null) {
            sb.append("checked ").append(s.checkedAt()).append('\n');
        }
        reply.text(s.ready() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, sb.toString());
    }

    private void admin(Reply reply, String method, String path, String auth, Map<String, List<String>> q) {
        // The token of the current config: a reload may set, rotate or remove it.
        String token = core.config().adminToken();
        byte[] adminToken = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        if (adminToken == null) {
            reply.text(HttpResponseStatus.NOT_FOUND, "the admin API is off (serve.admin-token is not set)\n");
            return;
        }
        byte[] given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)
                ? auth.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(given, adminToken)) {
            badToken.warn("admin call without a valid token from {}", reply.remote());
            reply.send(HttpResponseStatus.UNAUTHORIZED, TEXT, "a valid bearer token is needed\n".getBytes(StandardCharsets.UTF_8),
                    "WWW-Authenticate", "Bearer");
            return;
        }
        switch (path) {
            case "/admin/stats" -> {
                if (!method.equals("GET")) {
                    reply.notAllowed("GET");
                    return;
                }
                reply.json(HttpResponseStatus.OK, stats());
            }
            case "/admin/purge" -> {
                if (!method.equals("POST") && !method.equals("DELETE")) {
                    reply.notAllowed("POST, DELETE");
                    return;
                }
                String bucket = first(q, "bucket");
                if (bucket == null) {
                    reply.text(HttpResponseStatus.BAD_REQUEST, "give bucket=<name>, with prefix= or key= to narrow it\n");
                    return;
                }
                if (core.routes().stream().noneMatch(r -> r.bucket().name().equals(bucket))) {
                    reply.text(HttpResponseStatus.NOT_FOUND, "no bucket mapping named '" + bucket + "'\n");
                    return;
                }
                String key = first(q, "key");
                String prefix = first(q, "prefix");
                if (key != null && prefix != null) {
                    reply.text(HttpResponseStatus.BAD_REQUEST, "give key= or prefix=, not both\n");
                    return;
                }
                if (key != null && key.isEmpty()) {
                    reply.text(HttpResponseStatus.BAD_REQUEST, "key must not be empty\n");
                    return;
                }
                workers.execute(() -> purge(reply, bucket, key, prefix == null ? "" : prefix));
            }
            case "/admin/reload" -> {
                if (!method.equals("POST")) {
                    reply.notAllowed("POST");
                    return;
                }
                // Reading the file and making origin clients block: not on the event loop.
                workers.execute(() -> reload(reply));
            }
            default -> reply.text(HttpResponseStatus.NOT_FOUND,
                    "admin endpoints: /admin/stats, /admin/purge, /admin/reload\n");
        }
    }

    /** Answers the reload's outcome as JSON: 200 applied, 400 refused (with the file's error), 409 no file. */
    private void reload(Reply reply) {
        dev.kura.s3.ReloadResult r = reloader.reload("POST /admin/reload");
        HttpResponseStatus st = switch (r.outcome()) {
            case APPLIED -> HttpResponseStatus.OK;
            case REFUSED -> HttpResponseStatus.BAD_REQUEST;
            case UNAVAILABLE -> HttpResponseStatus.CONFLICT;
        };
        reply.json(st, r);
    }

    /** Cache keys are {@code <mapping name>/<key>}; the name and its slash scope every purge to one mapping. */
    private void purge(Reply reply, String bucket, @Nullable String key, String prefix) {
        long n;
        try {
            n = key != null ? (cache.delete(bucket + "/" + key) ? 1 : 0) : cache.purgePrefix(bucket + "/" + prefix);
        } catch (RuntimeException e) {
            log.error("admin purge of bucket {} key {} prefix {} failed", bucket, key, prefix, e);
            reply.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "purge failed: " + e + "\n");
            return;
        }
        log.info("admin purge: bucket {} {} removed {} entries", bucket,
                key != null ? "key " + key : "prefix '" + prefix + "'", n);
        reply.json(HttpResponseStatus.OK, Map.of("purged", n));
    }

    private Map<String, Object> stats() {
        CacheStats s = cache.stats();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hits", s.hits());
        m.put("misses", s.misses());
        m.put("memoryHits", s.memoryHits());
        m.put("diskHits", s.diskHits());
        m.put("evictions", s.evictions());
        m.put("expirations", s.expirations());
        m.put("memoryBytes", s.memoryBytes());
        m.put("memoryEntries", s.memoryEntries());
        m.put("diskBytes", s.diskBytes());
        m.put("diskEntries", s.diskEntries());
        m.put("fillsInFlight", s.fillsInFlight());
        m.put("recoveredEntries", s.recoveredEntries());
        m.put("requestsInFlight", core.inFlight.get());
        return m;
    }

    private static @Nullable String first(Map<String, List<String>> q, String name) {
        List<String> v = q.get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            log.debug("ops connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }

    /** Stops the purge workers (waits up to {@code millis}). */
    void close(long millis) {
        workers.shutdown();
        try {
            workers.awaitTermination(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One answer on an ops connection; may be sent from any thread (Netty queues it on the loop). */
    private record Reply(ChannelHandlerContext ctx, boolean keepAlive, boolean head) {
        void text(HttpResponseStatus st, String body) {
            send(st, TEXT, body.getBytes(StandardCharsets.UTF_8));
        }

        void notAllowed(String allow) {
            send(HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, ("use " + allow + "\n").getBytes(StandardCharsets.UTF_8),
                    "Allow", allow);
        }

        void json(HttpResponseStatus st, Object value) {
            byte[] b;
            try {
                b = JSON.writeValueAsBytes(value);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("JSON of " + value.getClass(), e);
            }
            send(st, "application/json", b);
        }

        void send(HttpResponseStatus st, String contentType, byte[] body, String... extra) {
            DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, st,
                    head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
            for (int i = 0; i + 1 < extra.length; i += 2) {
                r.headers().set(extra[i], extra[i + 1]);
            }
            if (!keepAlive) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            var f = ctx.writeAndFlush(r);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        String remote() {
            return String.valueOf(ctx.channel().remoteAddress());
        }
    }
}
