package dev.kura.s3.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.kura.s3.internal.api.S3ErrorCode;
import dev.kura.s3.internal.api.S3Router;
import org.jspecify.annotations.Nullable;

import java.time.Duration;

/**
 * GetObject and HeadObject with {@code partNumber}: which bytes a part covers, learnt from the
 * origin and remembered per version.
 *
 * <p>What S3 does (S3 API reference, GetObject and HeadObject, {@code partNumber}: "Effectively
 * performs a 'ranged' GET request for the part specified"): a part of an object uploaded in parts
 * is answered 206 with {@code Content-Range: bytes first-last/size} and
 * {@code x-amz-mp-parts-count}; part 1 of an object not uploaded in parts is the whole object, 206
 * with {@code Content-Range: bytes 0-(size-1)/size} and no parts count; a part past the count is
 * 416 InvalidPartNumber ("The requested partnumber is not satisfiable").
 *
 * <p>Why kura asks the origin. The cache holds bytes, not the part table of the upload that made
 * them, and an object's ETag ({@code "<md5 of the parts' md5s>-N"}) gives only the count. So the
 * first read of a part of a version HEADs the origin with {@code partNumber} ({@link
 * Origin#headPart}) and keeps the answer here, keyed by cache key (bucket, key and version id),
 * ETag and part number: a repeated read of the part costs no origin round trip. The part is then
 * served as the equivalent Range request through the ordinary cached path (slices, hits, fills), so
 * parts are cached like any range. The range is tied to the ETag it was learnt with: it is applied
 * only to a representation with that ETag and size ({@link RequestPlanner}); bytes of two versions
 * never mix.
 *
 * <p>Without asking: an ETag without a {@code -N} suffix is not a multipart upload's (S3 API
 * reference, "Checking object integrity": the ETag of a multipart object is not an MD5 digest
 * and ends in the part count), so its part 1 is the whole object and any other part is
 * InvalidPartNumber.
 *
 * <p>An origin that ignores {@code partNumber} (answers as to a plain HEAD, no Content-Range): for
 * an ETag without {@code -N}, the rule above; for a multipart ETag, kura cannot tell the part's
 * bytes and answers 501 NotImplemented, never a guess.
 *
 * <p>Thread-safety: safe for concurrent use (a bounded Caffeine cache). Two requests that learn
 * the same part at once both ask the origin; the answers are equal.
 */
final class PartRanges {
    /** Parts remembered; an entry is 100-odd bytes, so the map stays under a few MiB. */
    static final int MAX_ENTRIES = 20_000;
    /** How long a learnt part range is kept without being read. */
    static final Duration IDLE = Duration.ofHours(1);

    /**
     * The bytes of part {@code number} of the version with {@code etag}.
     *
     * @param number the part number, 1 to 10000
     * @param etag the ETag of the version the range belongs to, quoted as S3 sends it
     * @param first first byte of the part in the object
     * @param last last byte of the part (inclusive); {@code last < first} for part 1 of an empty object
     * @param size the whole object's size in bytes
     * @param partsCount {@code x-amz-mp-parts-count} to answer with; 0 for an object not uploaded in parts
     */
    record Part(int number, String etag, long first, long last, long size, int partsCount) {
        /** True when the representation described by {@code etag} and {@code size} is this part's version. */
        boolean sameVersion(@Nullable String otherEtag, long otherSize) {
            return etag.equals(otherEtag) && size == otherSize;
        }
    }

    /** What a part request resolves to: the part's range, or the S3 error the client gets. */
    sealed interface Resolved {
    }

    /** Serve {@code part}. */
    record Found(Part part) implements Resolved {
    }

    /** Answer {@code code} with {@code message}. */
    record Refused(S3ErrorCode code, String message) implements Resolved {
    }

    /** The origin failed; answer as for any origin failure. */
    record OriginFailed(OriginFailure failure) implements Resolved {
    }

    private record Key(String cacheKey, String etag, int number) {
    }

    private final Cache<Key, Part> parts = Caffeine.newBuilder().maximumSize(MAX_ENTRIES).expireAfterAccess(IDLE)
            .build();

    /**
     * The range of part {@code number} of the version with {@code etag} (size {@code size}) under
     * {@code cacheKey}, when it is known without the origin: remembered, or implied by an ETag
     * without {@code -N}; else null.
     */
    @Nullable Resolved known(String cacheKey, @Nullable String etag, long size, int number) {
        if (etag == null) {
            return null;
        }
        if (etagParts(etag) == 0) {
            return single(etag, size, number);
        }
        Part p = parts.getIfPresent(new Key(cacheKey, etag, number));
        return p == null || p.size() != size ? null : new Found(p);
    }

    /**
     * Learns the range of part {@code number} from the origin (blocks: call on a virtual thread)
     * and remembers it.
     */
    Resolved learn(Origin origin, String cacheKey, String key, @Nullable String versionId, int number) {
        return remember(cacheKey, interpret(origin.headPart(key, versionId, number), number));
    }

    /** Remembers a found part (an origin answer kura got another way, e.g. in tests). */
    Resolved remember(String cacheKey, Resolved r) {
        if (r instanceof Found f && etagParts(f.part().etag()) > 0) {
            parts.put(new Key(cacheKey, f.part().etag(), f.part().number()), f.part());
        }
        return r;
    }

    /** Parts remembered now (for tests and metrics). */
    long size() {
        parts.cleanUp();
        return parts.estimatedSize();
    }

    /**
     * What the origin's answer to HEAD {@code ?partNumber=number} means. Pure; see the class
     * comment for the rules.
     */
    static Resolved interpret(OriginResponse r, int number) {
        return switch (r) {
            case OriginResponse.Failed f -> refusedBy(f.failure(), number);
            case OriginResponse.NotModified nm -> new OriginFailed(new OriginFailure(OriginFailure.Kind.IO, 0, null,
                    "origin answered 304 to an unconditional HEAD"));
            case OriginResponse.Body b -> {
                OriginObject o = b.object();
                String etag = o.etag();
                if (etag == null) {
                    yield new Refused(S3ErrorCode.NOT_IMPLEMENTED, "the origin sent no ETag for this object, so kura "
                            + "cannot tie a part to a version; read it with a Range request");
                }
                if (b.length() > 0) {
                    long last = b.first() + b.length() - 1;
                    if (last >= o.size()) {
                        yield new Refused(S3ErrorCode.INTERNAL_ERROR, "the origin answered part " + number
                                + " with a range past the object's end");
                    }
                    yield new Found(new Part(number, etag, b.first(), last, o.size(), Math.max(0, b.partsCount())));
                }
                // No Content-Range: the origin ignored partNumber (or the object is empty).
                if (etagParts(etag) == 0 || o.size() == 0) {
                    yield single(etag, o.size(), number);
                }
                yield new Refused(S3ErrorCode.NOT_IMPLEMENTED, "the origin does not tell the byte range of part "
                        + number + " of this multipart object (it ignores partNumber); read it with a Range request");
            }
        };
    }

    /** An object not uploaded in parts: part 1 is all of it, any other part does not exist. */
    private static Resolved single(String etag, long size, int number) {
        if (number != 1) {
            return invalidPart();
        }
        return new Found(new Part(1, etag, 0, size - 1, size, 0));
    }

    private static Resolved refusedBy(OriginFailure f, int number) {
        String code = f.code();
        if (f.originStatus() == 416 || "InvalidPartNumber".equals(code) || "InvalidPart".equals(code)) {
            return invalidPart();
        }
        if (f.kind() == OriginFailure.Kind.NOT_IMPLEMENTED) {
            // S3Proxy 4.1.0 answers this for any part of a multipart object.
            return new Refused(S3ErrorCode.NOT_IMPLEMENTED, "the origin cannot read part " + number
                    + " of this object (it answered 501 NotImplemented to partNumber); read it with a Range request");
        }
        return new OriginFailed(f);
    }

    private static Refused invalidPart() {
        return new Refused(S3ErrorCode.INVALID_PART_NUMBER, "The requested partnumber is not satisfiable");
    }

    /**
     * The part count an S3 ETag states: N for {@code "<hex>-N"} (a multipart upload's, N from 1 to
     * 10000), 0 for any other (a single PUT's MD5, or an ETag not in S3's form).
     */
    static int etagParts(String etag) {
        String e = etag.startsWith("W/") ? etag.substring(2) : etag;
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        int dash = e.lastIndexOf('-');
        if (dash <= 0) {
            return 0;
        }
        // A count is what a partNumber may be (1 to 10000): the same digits-only rule.
        return Math.max(0, S3Router.partNumber(e.substring(dash + 1)));
    }
}
