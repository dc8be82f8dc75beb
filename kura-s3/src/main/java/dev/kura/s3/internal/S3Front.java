package dev.kura.s3.internal;

import dev.kura.s3.BucketConfig;
import dev.kura.s3.internal.api.ListPage;
import dev.kura.s3.internal.api.ListQuery;
import dev.kura.s3.internal.api.ListingXml;
import dev.kura.s3.internal.api.S3ErrorCode;
import dev.kura.s3.internal.api.S3Exception;
import dev.kura.s3.internal.api.S3Request;
import dev.kura.s3.internal.api.S3Router;
import dev.kura.s3.internal.api.S3Xml;
import dev.kura.s3.internal.auth.JwtVerifier;
import dev.kura.s3.internal.auth.Principal;
import dev.kura.s3.internal.auth.SigV4Verifier;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * kura's S3 front door on the data port: every request passes here before anything is read.
 *
 * <p>Order, as S3 does it: route ({@link S3Router}: addressing, operation, refusal of writes and
 * unserved sub-resources), authenticate ({@link SigV4Verifier}: header or presigned URL, else
 * anonymous), authorize ({@link Principal#canRead}: public buckets for anyone, private ones for
 * the clients granted them), then answer: object reads go to {@link ProxyCore#serveObject} (the
 * cache and fill path), listings to {@link Listings} (origin, short-lived cache), bucket and
 * service operations are answered here.
 *
 * <p>Every refusal is an S3 XML error; authentication and authorization failures are logged at
 * most {@value #DENIALS_LOGGED_PER_SECOND} times a second, with the request id and the access key
 * id, never a secret or a signature.
 *
 * <p>Thread-safety: safe for concurrent use; {@link #handle} runs on the event loop and hands
 * origin work to virtual threads.
 */
final class S3Front {
    private static final Logger log = LoggerFactory.getLogger(S3Front.class);
    private static final int DENIALS_LOGGED_PER_SECOND = 10;
    /** GetObject's response-* parameters and the header each sets (S3 API reference, GetObject). */
    private static final Map<String, String> OVERRIDES = Map.of(
            "response-content-type", "Content-Type",
            "response-content-language", "Content-Language",
            "response-expires", "Expires",
            "response-cache-control", "Cache-Control",
            "response-content-disposition", "Content-Disposition",
            "response-content-encoding", "Content-Encoding");

    private final ProxyCore core;
    private final String started = ListingXml.timestamp(Instant.now());
    private final AtomicLong denialSecond = new AtomicLong();
    private final AtomicLong denialsThisSecond = new AtomicLong();
    /** Rate-limit refusals: one line per 10 s at most, with the count of the others. */
    private final RateLimitedLog throttleLog = new RateLimitedLog(log, 10, java.util.concurrent.TimeUnit.SECONDS);

    /** The router, verifiers and listing cache come from each request's {@link ServeState}. */
    S3Front(ProxyCore core) {
        this.core = core;
    }

    /** Handles one request on the data port; ends by finishing {@code ex}. */
    void handle(Exchange ex, ServeState st) {
        S3Request r;
        Principal who;
        try {
            r = st.router.route(ex.method, ex.uri, ex.requestHeaders.get(HttpHeaderNames.HOST));
            BucketConfig addressed = r.bucket();
            if (addressed != null) {
                ex.bucket = addressed.name();
            }
            who = authenticate(st, ex);
            authorize(ex, r, who);
        } catch (S3Exception e) {
            refuse(ex, e);
            return;
        }
        if (throttled(ex, r, who)) {
            return;
        }
        switch (r.operation()) {
            case GET_OBJECT, HEAD_OBJECT -> {
                ex.key = r.objectKey();
                ex.versionId = r.param("versionId");
                String pn = r.param("partNumber");
                ex.partNumber = pn == null ? 0 : S3Router.partNumber(pn); // valid: the router checked it
                ex.responseOverrides = overrides(r);
                core.serveObject(ex, st, r.targetBucket(), r.objectKey());
            }
            case LIST_OBJECTS, LIST_OBJECTS_V2 -> list(st, ex, r);
            case LIST_BUCKETS -> listBuckets(st, ex, who);
            case GET_BUCKET_LOCATION -> {
                String region = r.targetBucket().region().equals("us-east-1") ? null : r.targetBucket().region();
                xml(ex, S3Xml.write(new ListingXml.LocationConstraint(region)));
            }
            case HEAD_BUCKET -> ex.respond(HttpResponseStatus.OK, "application/xml", "",
                    "x-amz-bucket-region", r.targetBucket().region());
        }
    }

    /**
     * Applies {@code serve.rate-limits} (after authentication, so that the client is the verified
     * access key or JWT subject, else the IP address): over a limit, S3's 503 SlowDown with
     * Retry-After.
     *
     * @return true when the request was refused (and answered)
     */
    private boolean throttled(Exchange ex, S3Request r, Principal who) {
        String id = who.accessKeyId(); // null when anonymous
        ex.client = id == null ? "ip:" + remoteIp(ex) : id.startsWith("jwt:") ? id : "key:" + id;
        if (!core.throttle.active()) {
            return false;
        }
        BucketConfig addressed = r.bucket();
        dev.kura.s3.internal.limits.Throttle.Refusal no = core.throttle.admit(ex.client,
                addressed == null ? null : addressed.name());
        if (no == null) {
            return false;
        }
        core.metrics.throttled(ex.bucket, no.scope().label());
        throttleLog.warn("request {}: {} over its {} rate limit: SlowDown, Retry-After {} s", ex.id, ex.client,
                no.scope().label(), no.retryAfterSeconds());
        ex.s3Error(S3ErrorCode.SLOW_DOWN, "Please reduce your request rate.", "Retry-After",
                Long.toString(no.retryAfterSeconds()));
        return true;
    }

    private static String remoteIp(Exchange ex) {
        var a = ex.ch.remoteAddress();
        return a instanceof java.net.InetSocketAddress i && i.getAddress() != null
                ? i.getAddress().getHostAddress() : String.valueOf(a);
    }

    private static Principal authenticate(ServeState st, Exchange ex) throws S3Exception {
        String auth = ex.requestHeaders.get(HttpHeaderNames.AUTHORIZATION);
        JwtVerifier jwt = st.jwt;
        if (jwt != null && auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return jwt.verify(auth.substring(7).trim());
        }
        String uri = ex.uri;
        int q = uri.indexOf('?');
        String rawPath = q < 0 ? uri : uri.substring(0, q);
        String rawQuery = q < 0 ? null : uri.substring(q + 1);
        return st.verifier.verify(new SigV4Verifier.SignedRequest(ex.method, rawPath, rawQuery,
                name -> ex.requestHeaders.getAll(name)));
    }

    private static void authorize(Exchange ex, S3Request r, Principal who) throws S3Exception {
        boolean ok = switch (r.operation()) {
            case LIST_BUCKETS -> true; // answers only what the caller may see
            case GET_OBJECT, HEAD_OBJECT -> who.canRead(r.targetBucket(), r.objectKey());
            case LIST_OBJECTS, LIST_OBJECTS_V2 -> who.canRead(r.targetBucket(), r.param("prefix"));
            case GET_BUCKET_LOCATION, HEAD_BUCKET -> who.canSee(r.targetBucket());
        };
        if (!ok) {
            throw new S3Exception(S3ErrorCode.ACCESS_DENIED, "Access Denied");
        }
    }

    private static @Nullable Map<String, String> overrides(S3Request r) {
        Map<String, String> o = null;
        for (Map.Entry<String, String> e : OVERRIDES.entrySet()) {
            String v = r.param(e.getKey());
            if (v != null) {
                if (o == null) {
                    o = new LinkedHashMap<>();
                }
                // A header value must not carry CR or LF (RFC 9110 5.5): drop what would split it.
                o.put(e.getValue(), v.replaceAll("[\\r\\n]", ""));
            }
        }
        return o;
    }

    private void list(ServeState st, Exchange ex, S3Request r) {
        ListQuery q;
        boolean url;
        try {
            q = listQuery(r);
            String et = r.param("encoding-type");
            if (et != null && !et.equals("url")) {
                throw new S3Exception(S3ErrorCode.INVALID_ARGUMENT, "Invalid Encoding Method specified in Request");
            }
            url = et != null;
        } catch (S3Exception e) {
            refuse(ex, e);
            return;
        }
        BucketConfig b = r.targetBucket();
        ProxyCore.Route route = st.route(b.name());
        if (route == null) {
            throw new IllegalStateException("bucket " + b.name() + " was routed but has no route in its snapshot");
        }
        // A listing shared by concurrent identical requests carries the first one's id to the origin.
        Origin origin = new OriginCall.Bound(route.origin(), OriginCall.of(ex));
        st.listings.list(b.name(), origin, q).whenComplete((page, err) -> {
            if (err == null) {
                xml(ex, S3Xml.write(ListingXml.listBucketResult(b.name(), q, page, url)));
                return;
            }
            Throwable c = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
            if (c instanceof OriginFailure.Thrown t) {
                if (t.failure().originDown()) {
                    log.warn("request {}: listing {} failed: {}", ex.id, b.name(), t.getMessage());
                }
                ex.s3Error(t.failure().s3Code(), t.getMessage());
            } else {
                log.error("request {}: listing {} failed", ex.id, b.name(), c);
                ex.s3Error(S3ErrorCode.INTERNAL_ERROR, "internal error");
            }
        });
    }

    static ListQuery listQuery(S3Request r) throws S3Exception {
        boolean v2 = r.operation() == dev.kura.s3.internal.api.S3Operation.LIST_OBJECTS_V2;
        int maxKeys = ListQuery.MAX_KEYS;
        String mk = r.param("max-keys");
        if (mk != null) {
            try {
                maxKeys = Math.min(ListQuery.MAX_KEYS, Integer.parseInt(mk));
            } catch (NumberFormatException e) {
                maxKeys = -1;
            }
            if (maxKeys < 0) {
                throw new S3Exception(S3ErrorCode.INVALID_ARGUMENT, "max-keys must be a number from 0 to 2147483647");
            }
        }
        String prefix = emptyToNull(r.param("prefix"));
        String delimiter = emptyToNull(r.param("delimiter"));
        if (v2) {
            return new ListQuery(true, prefix, delimiter, maxKeys, emptyToNull(r.param("continuation-token")),
                    emptyToNull(r.param("start-after")), "true".equals(r.param("fetch-owner")));
        }
        return new ListQuery(false, prefix, delimiter, maxKeys, emptyToNull(r.param("marker")), null, true);
    }

    private static @Nullable String emptyToNull(@Nullable String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private void listBuckets(ServeState st, Exchange ex, Principal who) {
        List<ListingXml.Bucket> visible = new ArrayList<>();
        for (BucketConfig b : st.config.buckets()) {
            if (who.canSee(b)) {
                visible.add(new ListingXml.Bucket(b.name(), started));
            }
        }
        String id = who.accessKeyId(); // null when anonymous
        String owner = id == null ? "anonymous" : id;
        xml(ex, S3Xml.write(new ListingXml.ListAllMyBucketsResult(new ListingXml.Owner(owner, owner), visible)));
    }

    private static void xml(Exchange ex, byte[] body) {
        ex.respond(HttpResponseStatus.OK, "application/xml", new String(body, StandardCharsets.UTF_8));
    }

    private void refuse(Exchange ex, S3Exception e) {
        S3ErrorCode c = e.code();
        if (c.status() == 403 || c.status() == 400 && c.code().startsWith("Authorization")) {
            logDenial(ex, e);
        }
        if (c == S3ErrorCode.METHOD_NOT_ALLOWED) {
            ex.s3Error(c, e.getMessage(), "Allow", "GET, HEAD");
        } else {
            ex.s3Error(c, e.getMessage());
        }
    }

    /** Logs a denial, at most {@value #DENIALS_LOGGED_PER_SECOND} a second (a client retrying in a loop stays quiet). */
    private void logDenial(Exchange ex, S3Exception e) {
        long sec = System.nanoTime() / 1_000_000_000L;
        if (denialSecond.getAndSet(sec) != sec) {
            denialsThisSecond.set(0);
        }
        if (denialsThisSecond.incrementAndGet() <= DENIALS_LOGGED_PER_SECOND) {
            log.info("request {}: {} {} refused: {} ({})", ex.id, ex.method, loggable(ex.uri),
                    e.code().code(), e.getMessage());
        }
    }

    /**
     * {@code uri} fit for a log line: a presigned URL's signature is a bearer credential until it
     * expires, so its value is replaced.
     */
    static String loggable(String uri) {
        return uri.indexOf('?') < 0 ? uri : uri.replaceAll("(?i)([?&]X-Amz-Signature=)[^&]*", "$1REDACTED");
    }
}
