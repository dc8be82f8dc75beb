package dev.kura.s3.internal.shared;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.cache.EntryMetadata;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * The bytes of one object in the shared tier: the object's metadata and body under a CRC32C, so
 * that a value another writer, a bug or a stray {@code SET} damaged is never served.
 *
 * <p>Layout (version 1; integers big-endian):
 * <pre>
 *   0  4 bytes  magic "KSV1"
 *   4  int      n, the length of the metadata JSON in bytes
 *   8  n bytes  metadata JSON (UTF-8, written by Jackson): {@link Meta}
 *      size     the body, exactly {@code Meta.size} bytes
 *      int      CRC32C of every byte before it
 * </pre>
 * The metadata names the cache key and ETag it was written for: a reader checks both against what
 * it asked for, besides the checksum and the lengths, so a value copied under another key is not
 * served either. CRC32C (the cache's own block checksum, in hardware on x86-64 and arm64) catches
 * damage, not forgery: anyone who can write to the server can write a valid value; the server is
 * trusted like the origin (see docs/OPERATIONS.md).
 *
 * <p>Thread-safety: stateless; safe for concurrent use.
 */
final class SharedValue {
    private static final byte[] MAGIC = "KSV1".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Magic, metadata length and CRC: the bytes of a value besides its metadata and body. */
    static final int OVERHEAD = MAGIC.length + 4 + 4;

    private SharedValue() {
    }

    /**
     * What a value holds besides the body.
     *
     * @param key the cache key ({@code <bucket>/<key>}, with a version suffix for a version)
     * @param etag the object's ETag, quotes included
     * @param size body length in bytes
     * @param expiresAt end of freshness in epoch milliseconds, or null for never
     * @param lastModified the origin's Last-Modified in epoch milliseconds, or null
     */
    record Meta(String key, String etag, long size, @Nullable String contentType, @Nullable Long lastModified,
                @Nullable Long expiresAt, Map<String, String> headers) {
    }

    /** A value that fails a check; the message says which. */
    static final class CorruptValueException extends Exception {
        CorruptValueException(String message) {
            super(message);
        }
    }

    /**
     * Encodes {@code body} with its metadata.
     *
     * @throws IllegalArgumentException when {@code md} has no ETag or its size is not the body's
     */
    static byte[] encode(String cacheKey, EntryMetadata md, byte[] body) {
        String etag = md.etag();
        if (etag == null || md.size() != body.length) {
            throw new IllegalArgumentException("a shared value needs an ETag and size == body length");
        }
        Meta meta = new Meta(cacheKey, etag, md.size(), md.contentType(),
                md.lastModified() == null ? null : md.lastModified().toEpochMilli(),
                md.expiresAt().equals(Instant.MAX) ? null : md.expiresAt().toEpochMilli(), md.headers());
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(meta);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode the metadata of " + cacheKey, e);
        }
        ByteBuffer b = ByteBuffer.allocate(OVERHEAD + json.length + body.length);
        b.put(MAGIC).putInt(json.length).put(json).put(body);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /** A decoded, verified value. */
    record Decoded(EntryMetadata metadata, byte[] body) {
    }

    /**
     * Decodes and verifies {@code raw}, written for {@code cacheKey} and {@code etag}.
     *
     * @throws CorruptValueException when the magic, a length, the checksum, the key or the ETag is
     *     wrong, or the metadata does not parse
     */
    static Decoded decode(byte[] raw, String cacheKey, String etag) throws CorruptValueException {
        if (raw.length < OVERHEAD || !java.util.Arrays.equals(raw, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new CorruptValueException("bad magic or too short (" + raw.length + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(raw);
        int n = b.getInt(MAGIC.length);
        int crcAt = raw.length - 4;
        if (n < 0 || MAGIC.length + 4L + n > crcAt) {
            throw new CorruptValueException("metadata length " + n + " out of range");
        }
        CRC32C crc = new CRC32C();
        crc.update(raw, 0, crcAt);
        if ((int) crc.getValue() != b.getInt(crcAt)) {
            throw new CorruptValueException("CRC32C mismatch");
        }
        Meta meta;
        try {
            meta = JSON.readValue(raw, MAGIC.length + 4, n, Meta.class);
        } catch (IOException | RuntimeException e) {
            throw new CorruptValueException("metadata does not parse: " + e.getMessage());
        }
        int bodyAt = MAGIC.length + 4 + n;
        if (meta.size() != crcAt - bodyAt) {
            throw new CorruptValueException("body is " + (crcAt - bodyAt) + " bytes, metadata says " + meta.size());
        }
        if (!cacheKey.equals(meta.key()) || !etag.equals(meta.etag())) {
            throw new CorruptValueException("written for " + meta.key() + " " + meta.etag() + ", not this key/ETag");
        }
        EntryMetadata md = new EntryMetadata(meta.size(), meta.contentType(), meta.etag(),
                meta.lastModified() == null ? null : Instant.ofEpochMilli(meta.lastModified()),
                meta.expiresAt() == null ? Instant.MAX : Instant.ofEpochMilli(meta.expiresAt()),
                Objects.requireNonNullElse(meta.headers(), Map.of()));
        return new Decoded(md, java.util.Arrays.copyOfRange(raw, bodyAt, crcAt));
    }
}
