package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;

import java.time.Instant;
import java.util.Map;

/**
 * An object's representation metadata as the origin sent it (the headers of a GetObject or
 * HeadObject answer, S3 API reference).
 *
 * @param size the whole object's size in bytes (for a ranged answer: the total from Content-Range)
 * @param contentType Content-Type, or null
 * @param etag the entity tag, quoted as S3 sends it, or null
 * @param lastModified Last-Modified, or null
 * @param cacheControl Cache-Control, or null
 * @param contentEncoding Content-Encoding, or null
 * @param contentDisposition Content-Disposition, or null
 * @param contentLanguage Content-Language, or null
 * @param expires the raw Expires header, or null
 * @param userMetadata {@code x-amz-meta-*} values by name without the prefix; never null
 */
record OriginObject(long size, @Nullable String contentType, @Nullable String etag, @Nullable Instant lastModified,
                    @Nullable String cacheControl, @Nullable String contentEncoding, @Nullable String contentDisposition,
                    @Nullable String contentLanguage, @Nullable String expires, Map<String, String> userMetadata) {

    OriginObject {
        userMetadata = userMetadata == null ? Map.of() : Map.copyOf(userMetadata);
    }
}
