package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.io.InputStream;

/** What the origin answered to one request: a body, "not modified", or a failure. */
sealed interface OriginResponse {

    /**
     * 200 or 206: the object's metadata and a stream of bytes {@code first .. first+length-1}.
     * The receiver must close it.
     *
     * @param object the object's metadata (size is the whole object's)
     * @param first offset of the body's first byte in the object (0 unless ranged)
     * @param length bytes the body holds
     * @param body the bytes; empty for HEAD
     * @param partsCount the origin's {@code x-amz-mp-parts-count} (answers to {@code partNumber}
     *     requests of an object uploaded in parts), 0 when it sent none
     */
    record Body(OriginObject object, long first, long length, InputStream body, int partsCount)
            implements OriginResponse, AutoCloseable {

        /** An answer without {@code x-amz-mp-parts-count}. */
        Body(OriginObject object, long first, long length, InputStream body) {
            this(object, first, length, body, 0);
        }

        @Override
        public void close() {
            try {
                body.close();
            } catch (IOException ignored) {
                // closing an origin stream early aborts its connection; nothing is left to do
            }
        }
    }

    /**
     * 304 to a revalidation: the cached entry is still current.
     *
     * @param cacheControl the Cache-Control the 304 carried, or null (RFC 9111 4.3.4: it updates the stored one)
     * @param expires the Expires the 304 carried, or null
     */
    record NotModified(@Nullable String cacheControl, @Nullable String expires) implements OriginResponse {
    }

    /** The request failed; {@code failure} says how. */
    record Failed(OriginFailure failure) implements OriginResponse {
    }
}
