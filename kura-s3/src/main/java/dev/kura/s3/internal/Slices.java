package dev.kura.s3.internal;

import dev.kura.cache.EntryMetadata;
import org.jspecify.annotations.Nullable;

import java.util.HashMap;
import java.util.Map;

/**
 * Slice caching: how an object larger than the slice size is laid out in the cache. Pure
 * arithmetic and key naming; no I/O.
 *
 * <p>Layout. An object of {@code size > sliceSize} bytes is cached as
 * <ul>
 *   <li>an <b>index entry</b> under the object's cache key ({@code <bucket name>/<key>}) with an
 *       empty body, whose metadata is the object's (ETag, type, freshness...) plus two reserved
 *       headers: {@value #OBJECT_SIZE} (the object's size) and {@value #SLICE_SIZE};</li>
 *   <li>one <b>slice entry</b> per slice {@code i} that was fetched, under
 *       {@code <cache key> NUL <ETag> NUL <i>}, holding bytes {@code [i*sliceSize, min(size,
 *       (i+1)*sliceSize))}.</li>
 * </ul>
 * Why the ETag is in the slice key: slices of two versions of an object can never be mixed into one
 * response, because a slice is found only through the index's ETag, and every slice is fetched
 * with {@code If-Match: <ETag>} (a 412 means the object changed: the response is cut and the old
 * version dropped). Why NUL: it cannot occur in a decoded request path ({@link RequestPath}
 * refuses it), so no object key is a prefix of another object's slices, and purging a key, a prefix
 * or a bucket by key prefix takes an object's slices with it.
 *
 * <p>Smaller objects stay single entries: a slice per small object would cost a second entry and
 * an extra lookup on every hit for nothing.
 */
final class Slices {
    /** Reserved metadata header of an index entry: the object's size in bytes. Never sent to clients. */
    static final String OBJECT_SIZE = "x-kura-object-size";
    /** Reserved metadata header of an index entry: the slice size in bytes. Never sent to clients. */
    static final String SLICE_SIZE = "x-kura-slice-size";
    /** Prefix of the reserved headers; the planner never copies them into a response. */
    static final String RESERVED_PREFIX = "x-kura-";

    private Slices() {
    }

    /** True when {@code md} is the metadata of an index entry (the object is cached in slices). */
    static boolean isIndex(EntryMetadata md) {
        return md.headers().containsKey(SLICE_SIZE);
    }

    /** The index entry's metadata for an object described by {@code object}, sliced by {@code sliceSize}. */
    static EntryMetadata index(EntryMetadata object, long sliceSize) {
        Map<String, String> h = new HashMap<>(object.headers());
        h.put(OBJECT_SIZE, Long.toString(object.size()));
        h.put(SLICE_SIZE, Long.toString(sliceSize));
        return new EntryMetadata(0, object.contentType(), object.etag(), object.lastModified(), object.expiresAt(), h);
    }

    /** The object's metadata (real size, no reserved headers) from its index entry's metadata. */
    static EntryMetadata object(EntryMetadata index) {
        Map<String, String> h = new HashMap<>(index.headers());
        long size = Long.parseLong(h.remove(OBJECT_SIZE));
        h.remove(SLICE_SIZE);
        return new EntryMetadata(size, index.contentType(), index.etag(), index.lastModified(), index.expiresAt(), h);
    }

    /** The slice size an index entry was written with. */
    static long sliceSize(EntryMetadata index) {
        return Long.parseLong(index.headers().get(SLICE_SIZE));
    }

    /** The metadata of slice {@code i} of an object: the object's, with the slice's length as size. */
    static EntryMetadata slice(EntryMetadata object, long sliceSize, long i) {
        return new EntryMetadata(length(object.size(), sliceSize, i), object.contentType(), object.etag(),
                object.lastModified(), object.expiresAt(), object.headers());
    }

    /** The cache key of slice {@code i} of version {@code etag} of the object under {@code cacheKey}. */
    static String key(String cacheKey, @Nullable String etag, long i) {
        return versionPrefix(cacheKey, etag) + i;
    }

    /** The key prefix of every slice of version {@code etag}. */
    static String versionPrefix(String cacheKey, @Nullable String etag) {
        return allVersionsPrefix(cacheKey) + (etag == null ? "" : etag) + '\0';
    }

    /** The key prefix of every slice of every version of the object under {@code cacheKey}. */
    static String allVersionsPrefix(String cacheKey) {
        return cacheKey + '\0';
    }

    /** First byte of slice {@code i}. */
    static long start(long sliceSize, long i) {
        return i * sliceSize;
    }

    /** Bytes in slice {@code i} of an object of {@code size} bytes (the last slice may be short). */
    static long length(long size, long sliceSize, long i) {
        return Math.max(0, Math.min(sliceSize, size - i * sliceSize));
    }

    /** The slice holding byte {@code pos}. */
    static long of(long pos, long sliceSize) {
        return pos / sliceSize;
    }

    /**
     * The first byte a Range header asks for when it can be known without the object's size: the
     * {@code a} of a single {@code bytes=a-b} or {@code bytes=a-}; -1 for no Range, a suffix range
     * ({@code bytes=-n}), several ranges, another unit, or a malformed value.
     */
    static long firstByte(String range) {
        if (range == null) {
            return -1;
        }
        String h = range.trim();
        if (!h.regionMatches(true, 0, "bytes=", 0, 6) || h.indexOf(',') >= 0) {
            return -1;
        }
        String spec = h.substring(6).trim();
        int dash = spec.indexOf('-');
        if (dash <= 0 || dash > 18) {
            return -1;
        }
        for (int i = 0; i < dash; i++) {
            if (spec.charAt(i) < '0' || spec.charAt(i) > '9') {
                return -1;
            }
        }
        return Long.parseLong(spec.substring(0, dash));
    }
}
