package dev.kura.s3.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.kura.s3.AccessLogFormat;
import io.netty.handler.codec.http.HttpHeaderNames;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;

/**
 * Writes one access-log line per finished request on the SLF4J logger {@code kura.access}, as
 * text or as a JSON object ({@code serve.access-log-format}).
 *
 * <p>Why JSON through Jackson: a key or a URL may hold quotes, backslashes or any Unicode; a
 * line built by concatenation breaks the first parser that meets one. Jackson escapes them, so
 * every line parses (AccessLogTest checks each one).
 *
 * <p>Where the lines go is the logging backend's business: the {@code kura} command's logback.xml
 * sends {@code kura.access} to standard output with the message alone, one line per request.
 *
 * <p>Thread-safety: stateless but for the thread-safe {@link ObjectMapper}; safe for concurrent use.
 */
final class AccessLog {
    static final Logger ACCESS = LoggerFactory.getLogger("kura.access");
    private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);
    private static final RateLimitedLog FAILED = new RateLimitedLog(log, 60, java.util.concurrent.TimeUnit.SECONDS);

    /**
     * One JSON access-log line. Null fields are left out.
     *
     * @param durationMs from the request's decoding to its last byte written, in milliseconds
     * @param bytes body bytes sent
     * @param range the request's {@code Range} header as sent, or null
     * @param node {@code serve.node-id} of the node that answered
     */
    record Line(String time, String requestId, String client, String method, @Nullable String bucket, @Nullable String key,
                String uri, int status, long bytes, double durationMs, String cache, @Nullable String range,
                @Nullable String node) {
    }

    private AccessLog() {
    }

    /** Logs {@code ex}, finished {@code nanos} after it started, in {@code format}; a no-op unless INFO is on. */
    static void write(Exchange ex, long nanos, AccessLogFormat format) {
        if (!ACCESS.isInfoEnabled()) {
            return;
        }
        if (format == AccessLogFormat.JSON) {
            String line = json(ex, nanos, Instant.now());
            if (line != null) {
                ACCESS.info(line);
            }
        } else {
            ACCESS.info("{} {} {} {} {} {} {} {} {}us {}", Instant.now(), ex.id, remote(ex), ex.method,
                    S3Front.loggable(ex.uri), ex.status, ex.bodyBytes, ex.cacheStatus.text(), nanos / 1000, ex.nodeId);
        }
    }

    /** The JSON line of {@code ex}, or null in the (impossible) case that Jackson fails on strings and numbers. */
    static @Nullable String json(Exchange ex, long nanos, Instant now) {
        Line l = new Line(now.toString(), ex.id, remote(ex), ex.method, "-".equals(ex.bucket) ? null : ex.bucket,
                ex.key, S3Front.loggable(ex.uri), ex.status, ex.bodyBytes, Math.round(nanos / 1e3) / 1e3,
                ex.cacheStatus.text(), ex.requestHeaders.get(HttpHeaderNames.RANGE), ex.nodeId);
        try {
            return JSON.writeValueAsString(l);
        } catch (JsonProcessingException e) {
            // Strings and numbers only: this cannot happen, but an access line is never worth a failed request.
            FAILED.warn("access log line of request {} not written: {}", ex.id, e.toString());
            return null;
        }
    }

    private static String remote(Exchange ex) {
        var a = ex.ch.remoteAddress();
        return a instanceof java.net.InetSocketAddress i ? i.getAddress().getHostAddress() : String.valueOf(a);
    }
}
