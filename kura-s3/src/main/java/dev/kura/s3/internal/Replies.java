package dev.kura.s3.internal;

import dev.kura.cache.CacheEntry;
import dev.kura.cache.EntryMetadata;
import dev.kura.s3.internal.api.S3ErrorCode;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpVersion;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/**
 * The ways an object request ends that do not stream origin bytes: a planned answer from a cache
 * entry, a bodyless answer (304, 412, 416, HEAD), an origin failure, an internal error.
 *
 * <p>Thread-safety: stateless; each method finishes the exchange exactly once.
 */
final class Replies {
    private static final Logger log = LoggerFactory.getLogger(Replies.class);

    private Replies() {
    }

    /**
     * Serves {@code e} (closing it) as the request's headers call for, planned against {@code md}
     * (the entry's metadata, or fresher metadata after a revalidation). When the first read of the
     * entry fails, nothing has been sent and {@code fallback} runs instead (it fetches from the
     * origin): a cache fault does not fail a request. A failure after that goes to {@code resume}
     * (null: the response is cut).
     */
    static void entry(Exchange ex, CacheEntry e, EntryMetadata md, Runnable fallback,
                      EntrySender.@Nullable Resume resume) {
        source(ex, BodySource.of(e), md, fallback, resume);
    }

    /**
     * Serves {@code source} (closing it) as the request's headers call for, planned against
     * {@code md}; {@code fallback} runs when the first read fails, before anything was sent.
     */
    static void source(Exchange ex, BodySource source, EntryMetadata md, Runnable fallback,
                       EntrySender.@Nullable Resume resume) {
        RequestPlanner.Plan p = RequestPlanner.plan(ex.isHead(), ex.requestHeaders, md, ex.part);
        if (!p.hasBody()) {
            source.close();
            bodyless(ex, p);
            return;
        }
        EntrySender.send(ex, source, p.head(), p.first(), p.last(), () -> {
            ex.cacheStatus = CacheStatus.MISS;
            fallback.run();
        }, resume);
    }

    /** Sends a planned answer without a body (HEAD, 304, or the errors 412 and 416). */
    static void bodyless(Exchange ex, RequestPlanner.Plan p) {
        int code = p.status();
        if (code == 412) {
            ex.s3Error(S3ErrorCode.PRECONDITION_FAILED, "At least one of the pre-conditions you specified did not hold");
            return;
        }
        if (code == 416) {
            ex.s3Error(S3ErrorCode.INVALID_RANGE, "The requested range is not satisfiable",
                    HttpHeaderNames.CONTENT_RANGE.toString(), p.head().headers().get(HttpHeaderNames.CONTENT_RANGE));
            return;
        }
        if (code == 503) {
            // RequestPlanner: the object changed between learning a part's range and reading it.
            ex.s3Error(S3ErrorCode.SERVICE_UNAVAILABLE, "The object changed while its part was being read; "
                    + "retry the request", "Retry-After", "1");
            return;
        }
        var full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, p.head().status(),
                Unpooled.EMPTY_BUFFER, p.head().headers(), EmptyHttpHeaders.INSTANCE);
        if (code != 304 && !full.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            full.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
        }
        ex.sendFull(full);
    }

    /** Answers an origin failure with the S3 error it maps to; an origin that is down is logged (one line). */
    static void originError(Exchange ex, OriginFailure f) {
        if (f.originDown()) {
            log.warn("request {}: {} {}: {}", ex.id, ex.method, S3Front.loggable(ex.uri), f.message());
        }
        if (f.retryAfterSeconds() > 0) {
            // Every breaker is open: say when asking again can help (RFC 9110 10.2.3, 15.6.4).
            ex.s3Error(f.s3Code(), f.message(), "Retry-After", Long.toString(f.retryAfterSeconds()));
            return;
        }
        ex.s3Error(f.s3Code(), f.message());
    }

    /** Answers 500 unless the response has begun; logs the cause with the request id. */
    static void internalError(Exchange ex, Throwable e) {
        log.error("request {}: {} {} failed", ex.id, ex.method, ex.uri, e);
        if (!ex.finished()) {
            ex.s3Error(S3ErrorCode.INTERNAL_ERROR, "We encountered an internal error. Please try again.");
        }
    }
}
