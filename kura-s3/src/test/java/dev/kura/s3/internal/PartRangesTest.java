package dev.kura.s3.internal;

import dev.kura.cache.EntryMetadata;
import dev.kura.s3.internal.api.S3ErrorCode;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link PartRanges} (what an origin's answer to HEAD ?partNumber means, what is known without
 * asking) and {@link RequestPlanner}'s plan of a part: pure, no sockets.
 */
class PartRangesTest {
    static final String MULTI = "\"0123456789abcdef0123456789abcdef-3\"";
    static final String SINGLE = "\"0123456789abcdef0123456789abcdef\"";

    static OriginObject object(long size, String etag) {
        return new OriginObject(size, "application/octet-stream", etag, null, null, null, null, null, null, Map.of());
    }

    static OriginResponse.Body body(long size, String etag, long first, long length, int partsCount) {
        return new OriginResponse.Body(object(size, etag), first, length, InputStream.nullInputStream(), partsCount);
    }

    @Test
    void etagPartsReadsTheMultipartSuffixOnly() {
        assertThat(PartRanges.etagParts(MULTI)).isEqualTo(3);
        assertThat(PartRanges.etagParts("W/\"abc-12\"")).isEqualTo(12);
        assertThat(PartRanges.etagParts(SINGLE)).isZero();
        assertThat(PartRanges.etagParts("\"abc-\"")).isZero();
        assertThat(PartRanges.etagParts("\"-3\"")).isZero();
        assertThat(PartRanges.etagParts("\"abc-x1\"")).isZero();
        assertThat(PartRanges.etagParts("\"abc-123456\"")).isZero();
    }

    @Test
    void anOriginAnswerWithContentRangeIsThePart() {
        PartRanges.Resolved r = PartRanges.interpret(body(25, MULTI, 10, 10, 3), 2);
        assertThat(r).isEqualTo(new PartRanges.Found(new PartRanges.Part(2, MULTI, 10, 19, 25, 3)));
        // S3's answer for part 1 of a single PUT: the whole object as a range, no parts count.
        assertThat(PartRanges.interpret(body(25, SINGLE, 0, 25, 0), 1))
                .isEqualTo(new PartRanges.Found(new PartRanges.Part(1, SINGLE, 0, 24, 25, 0)));
        // A range past the end is not trusted.
        assertThat(PartRanges.interpret(body(25, MULTI, 20, 10, 3), 3)).isInstanceOf(PartRanges.Refused.class);
    }

    @Test
    void anOriginThatIgnoresPartNumberIsReadByTheEtag() {
        // No Content-Range (length 0): a single PUT's part 1 is the object, part 2 does not exist.
        assertThat(PartRanges.interpret(body(25, SINGLE, 0, 0, 0), 1))
                .isEqualTo(new PartRanges.Found(new PartRanges.Part(1, SINGLE, 0, 24, 25, 0)));
        assertThat(PartRanges.interpret(body(25, SINGLE, 0, 0, 0), 2))
                .isEqualTo(new PartRanges.Refused(S3ErrorCode.INVALID_PART_NUMBER,
                        "The requested partnumber is not satisfiable"));
        // A multipart object's part cannot be told: a clear error, never a guess.
        PartRanges.Resolved r = PartRanges.interpret(body(25, MULTI, 0, 0, 0), 1);
        assertThat(r).isInstanceOf(PartRanges.Refused.class);
        assertThat(((PartRanges.Refused) r).code()).isEqualTo(S3ErrorCode.NOT_IMPLEMENTED);
        assertThat(((PartRanges.Refused) r).message()).contains("ignores partNumber");
    }

    @Test
    void originFailuresMapToS3Errors() {
        OriginFailure invalidPart = new OriginFailure(OriginFailure.Kind.CLIENT_ERROR, 400, "InvalidPart", "x");
        OriginFailure notImpl = new OriginFailure(OriginFailure.Kind.NOT_IMPLEMENTED, 501, "NotImplemented", "x");
        OriginFailure range = new OriginFailure(OriginFailure.Kind.INVALID_RANGE, 416, "InvalidPartNumber", "x");
        OriginFailure missing = new OriginFailure(OriginFailure.Kind.NOT_FOUND, 404, "NoSuchKey", "x");
        assertThat(code(PartRanges.interpret(new OriginResponse.Failed(invalidPart), 2)))
                .isEqualTo(S3ErrorCode.INVALID_PART_NUMBER);
        assertThat(code(PartRanges.interpret(new OriginResponse.Failed(range), 9)))
                .isEqualTo(S3ErrorCode.INVALID_PART_NUMBER);
        assertThat(code(PartRanges.interpret(new OriginResponse.Failed(notImpl), 1)))
                .isEqualTo(S3ErrorCode.NOT_IMPLEMENTED);
        assertThat(PartRanges.interpret(new OriginResponse.Failed(missing), 1))
                .isEqualTo(new PartRanges.OriginFailed(missing));
    }

    @Test
    void knownPartsAreTiedToTheVersion() {
        PartRanges parts = new PartRanges();
        assertThat(parts.known("b/k", MULTI, 25, 2)).as("not learnt yet").isNull();
        parts.remember("b/k", PartRanges.interpret(body(25, MULTI, 10, 10, 3), 2));
        assertThat(parts.known("b/k", MULTI, 25, 2))
                .isEqualTo(new PartRanges.Found(new PartRanges.Part(2, MULTI, 10, 19, 25, 3)));
        assertThat(parts.known("b/k", "\"ffff-3\"", 25, 2)).as("another version").isNull();
        assertThat(parts.known("b/k", MULTI, 26, 2)).as("another size").isNull();
        assertThat(parts.known("b/other", MULTI, 25, 2)).as("another key").isNull();
        assertThat(parts.known("b/k", MULTI, 25, 3)).as("another part").isNull();
        // A single PUT's parts are known without asking anyone.
        assertThat(parts.known("b/s", SINGLE, 7, 1))
                .isEqualTo(new PartRanges.Found(new PartRanges.Part(1, SINGLE, 0, 6, 7, 0)));
        assertThat(code(parts.known("b/s", SINGLE, 7, 2))).isEqualTo(S3ErrorCode.INVALID_PART_NUMBER);
        assertThat(parts.known("b/s", null, 7, 1)).isNull();
    }

    @Test
    void aPartIsPlannedAsItsRangeAndOnlyForItsVersion() {
        EntryMetadata md = new EntryMetadata(25, "application/octet-stream", MULTI, null, Instant.MAX, Map.of());
        PartRanges.Part p2 = new PartRanges.Part(2, MULTI, 10, 19, 25, 3);
        HttpHeaders rq = new DefaultHttpHeaders();
        RequestPlanner.Plan get = RequestPlanner.plan(false, rq, md, p2);
        assertThat(get.status()).isEqualTo(206);
        assertThat(get.first()).isEqualTo(10);
        assertThat(get.last()).isEqualTo(19);
        assertThat(get.hasBody()).isTrue();
        assertThat(get.head().headers().get("Content-Range")).isEqualTo("bytes 10-19/25");
        assertThat(get.head().headers().get("Content-Length")).isEqualTo("10");
        assertThat(get.head().headers().get("x-amz-mp-parts-count")).isEqualTo("3");
        RequestPlanner.Plan head = RequestPlanner.plan(true, rq, md, p2);
        assertThat(head.status()).isEqualTo(206);
        assertThat(head.hasBody()).isFalse();
        assertThat(head.head().headers().get("Content-Range")).isEqualTo("bytes 10-19/25");
        assertThat(head.head().headers().get("Content-Length")).isEqualTo("10");
        // Single PUT: 206 of the whole object, no parts count (as S3 answers).
        EntryMetadata single = new EntryMetadata(25, null, SINGLE, null, Instant.MAX, Map.of());
        RequestPlanner.Plan whole = RequestPlanner.plan(false, rq, single, new PartRanges.Part(1, SINGLE, 0, 24, 25, 0));
        assertThat(whole.status()).isEqualTo(206);
        assertThat(whole.head().headers().get("Content-Range")).isEqualTo("bytes 0-24/25");
        assertThat(whole.head().headers().contains("x-amz-mp-parts-count")).isFalse();
        // Another version than the part's: no bytes, a retryable 503.
        EntryMetadata other = new EntryMetadata(25, null, "\"ffff-3\"", null, Instant.MAX, Map.of());
        RequestPlanner.Plan changed = RequestPlanner.plan(false, rq, other, p2);
        assertThat(changed.status()).isEqualTo(503);
        assertThat(changed.hasBody()).isFalse();
        // Preconditions still come first: If-Match of another ETag is 412.
        HttpHeaders ifMatch = new DefaultHttpHeaders().set("If-Match", "\"nope\"");
        assertThat(RequestPlanner.plan(false, ifMatch, md, p2).status()).isEqualTo(412);
    }

    private static S3ErrorCode code(PartRanges.Resolved r) {
        return r instanceof PartRanges.Refused f ? f.code() : null;
    }
}
