package dev.kura.s3.internal;

import dev.kura.cache.EntryMetadata;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.jspecify.annotations.Nullable;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decides what to answer to a GET or HEAD, given what is known of the representation: a pure
 * function of the request's headers and the stored metadata, with no I/O (OkHttp's CacheStrategy
 * is the model), so every rule is unit-tested without sockets.
 *
 * <p>The order is RFC 9110's: preconditions first (13.2.2: If-Match / If-Unmodified-Since give
 * 412; If-None-Match / If-Modified-Since give 304), then Range (14.2), honoured only for GET and
 * only when If-Range allows it (13.1.5); an unsatisfiable range gives 416 with
 * {@code Content-Range: bytes *}{@code /size} (15.5.17).
 *
 * <p>Thread-safety: stateless.
 */
final class RequestPlanner {

    /**
     * What to answer: a response head, and the byte range of the body or no body.
     *
     * @param head status and headers of the response
     * @param first first byte of the body in the object
     * @param last last byte of the body (inclusive); {@code last < first} means no body
     * @param headOnly true for HEAD and for bodyless statuses (304, 412, 416)
     */
    record Plan(HttpResponse head, long first, long last, boolean headOnly) {
        boolean hasBody() {
            return !headOnly && last >= first;
        }

        int status() {
            return head.status().code();
        }
    }

    /**
     * Response heads are built without Netty's per-header validation: every value comes from a
     * header the origin sent (parsed, so free of CR/LF) or from kura itself.
     */
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    /** The part count of a multipart object, on answers to {@code partNumber} (S3 API reference, GetObject). */
    static final String PARTS_COUNT = "x-amz-mp-parts-count";

    private RequestPlanner() {
    }

    /**
     * Plans the answer to a request with headers {@code rq} for a representation described by {@code md}.
     *
     * @param head true for a HEAD request (no body, Range ignored)
     */
    static Plan plan(boolean head, HttpHeaders rq, EntryMetadata md) {
        return plan(head, rq, md, null);
    }

    /**
     * As {@link #plan(boolean, HttpHeaders, EntryMetadata)}, for GetObject or HeadObject with
     * {@code partNumber} when {@code part} is not null: after the preconditions, the answer is the
     * part's range, 206 with Content-Range (HEAD too, as S3 answers it) and
     * {@code x-amz-mp-parts-count} when the object was uploaded in parts. The Range header is not
     * consulted (S3 refuses Range with partNumber; {@code ProxyCore} does it before). When
     * {@code md} is not the version the part was learnt from (another ETag or size: the object
     * changed between learning the part and reading it), the answer is a bodyless 503, which
     * {@link Replies#bodyless} turns into ServiceUnavailable: a client retries, and its retry learns
     * the part of the new version. Bytes of the wrong version are never sent.
     */
    static Plan plan(boolean head, HttpHeaders rq, EntryMetadata md, PartRanges.@Nullable Part part) {
        String etag = md.etag();
        Instant lm = md.lastModified();
        Preconditions.Outcome o = Preconditions.evaluate(rq.get(HttpHeaderNames.IF_MATCH),
                rq.get(HttpHeaderNames.IF_UNMODIFIED_SINCE), rq.get(HttpHeaderNames.IF_NONE_MATCH),
                rq.get(HttpHeaderNames.IF_MODIFIED_SINCE), etag, lm);
        if (o == Preconditions.Outcome.PRECONDITION_FAILED) {
            return new Plan(response(HttpResponseStatus.PRECONDITION_FAILED), 0, -1, true);
        }
        if (o == Preconditions.Outcome.NOT_MODIFIED) {
            HttpResponse r = response(HttpResponseStatus.NOT_MODIFIED);
            validators(r.headers(), md);
            return new Plan(r, 0, -1, true);
        }
        long size = md.size();
        ByteRanges.Result range = new ByteRanges.Full();
        String rh = rq.get(HttpHeaderNames.RANGE);
        if (part != null) {
            if (!part.sameVersion(etag, size)) {
                return new Plan(response(HttpResponseStatus.SERVICE_UNAVAILABLE), 0, -1, true);
            }
            if (part.last() >= part.first()) {
                range = new ByteRanges.Single(part.first(), part.last());
            }
        } else if (rh != null && !head && Preconditions.ifRangeAllows(rq.get(HttpHeaderNames.IF_RANGE), etag, lm)) {
            range = ByteRanges.parse(rh, size);
        }
        HttpResponse r;
        long first = 0;
        long last = size - 1;
        switch (range) {
            case ByteRanges.Unsatisfiable u -> {
                r = response(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE);
                r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + size);
                return new Plan(r, 0, -1, true);
            }
            case ByteRanges.Single s -> {
                r = response(HttpResponseStatus.PARTIAL_CONTENT);
                first = s.first();
                last = s.last();
                r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes " + first + "-" + last + "/" + size);
            }
            case ByteRanges.Full f -> r = response(HttpResponseStatus.OK);
        }
        HttpHeaders h = r.headers();
        validators(h, md);
        for (Map.Entry<String, String> e : md.headers().entrySet()) {
            if (!e.getKey().startsWith(Slices.RESERVED_PREFIX)) {
                h.set(e.getKey(), e.getValue());
            }
        }
        if (md.contentType() != null) {
            h.set(HttpHeaderNames.CONTENT_TYPE, md.contentType());
        }
        h.set(HttpHeaderNames.ACCEPT_RANGES, "bytes");
        h.set(HttpHeaderNames.CONTENT_LENGTH, last - first + 1);
        if (part != null && part.partsCount() > 0) {
            h.set(PARTS_COUNT, part.partsCount());
        }
        return new Plan(r, first, last, head);
    }

    /**
     * The stored metadata of an origin representation: its size, type and validators, the
     * representation headers a client needs (Cache-Control, Content-Encoding, -Disposition,
     * -Language, Expires, {@code x-amz-meta-*}), and when it stops being fresh.
     */
    static EntryMetadata metadata(OriginObject o, Instant expiresAt) {
        Map<String, String> h = new LinkedHashMap<>();
        put(h, "Cache-Control", o.cacheControl());
        put(h, "Content-Encoding", o.contentEncoding());
        put(h, "Content-Disposition", o.contentDisposition());
        put(h, "Content-Language", o.contentLanguage());
        put(h, "Expires", o.expires());
        o.userMetadata().forEach((k, v) -> h.put("x-amz-meta-" + k, v));
        // The stored response's Date (RFC 9110 6.6.1): when kura received it; Age counts from it.
        put(h, "Date", HttpDates.format(Instant.now()));
        return new EntryMetadata(o.size(), o.contentType(), o.etag(), o.lastModified(), expiresAt,
                HeaderHygiene.clean(h, o.etag() == null ? "origin" : "origin object " + o.etag()));
    }

    private static void put(Map<String, String> h, String k, @Nullable String v) {
        if (v != null && !v.isEmpty()) {
            h.put(k, v);
        }
    }

    static HttpResponse response(HttpResponseStatus st) {
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, st, HEADERS);
    }

    private static void validators(HttpHeaders h, EntryMetadata md) {
        if (md.etag() != null) {
            h.set(HttpHeaderNames.ETAG, md.etag());
        }
        if (md.lastModified() != null) {
            h.set(HttpHeaderNames.LAST_MODIFIED, HttpDates.format(md.lastModified()));
        }
        // A 304 carries these too (RFC 9110 15.4.5: Cache-Control, Date, ETag, Expires).
        for (String name : new String[] {"Cache-Control", "Expires", "Date"}) {
            String v = md.headers().get(name);
            if (v != null) {
                h.set(name, v);
            }
        }
    }
}
