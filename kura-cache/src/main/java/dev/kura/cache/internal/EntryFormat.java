package dev.kura.cache.internal;

import dev.kura.cache.EntryMetadata;
import org.jspecify.annotations.Nullable;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The on-disk format of one cache entry file, version 1 (specified in {@code docs/FORMAT.md};
 * keep the two in step).
 *
 * <pre>
 *   header   magic "KURACACH", version, lengths, object size, write id, key, metadata, CRC32C
 *   blocks   ceil(size / blockSize) blocks, each: data (blockSize bytes, the last one shorter), CRC32C
 *   trailer  magic "KURAEND1", object size, write id, header CRC, CRC of all block CRCs, CRC32C
 * </pre>
 *
 * All integers are big-endian. A block's CRC sits right after its data so that one {@code pread}
 * fetches a block and its checksum, and a range read checks only the blocks it touches. The
 * trailer is written last and repeats the header's CRC and the object size: a file whose trailer
 * is missing, zeroed or from another version is not a committed entry. The file length is fully
 * determined by the header, so a short or over-long file is detected without reading its data.
 *
 * <p>Thread-safety: stateless; all methods are safe to call concurrently.
 */
public final class EntryFormat {
    private EntryFormat() {
    }

    public static final long MAGIC = 0x4B55524143414348L;         // "KURACACH"
    public static final long TRAILER_MAGIC = 0x4B555241454E4431L; // "KURAEND1"
    public static final int VERSION = 1;
    /** Fixed part of the header before the key, in bytes. */
    public static final int HEADER_FIXED = 48;
    public static final int TRAILER_SIZE = 40;
    public static final int CRC_SIZE = 4;
    /** Default data block size in bytes: one CRC32C per 64 KiB keeps the overhead at 0.006%. */
    public static final int DEFAULT_BLOCK_SIZE = 64 * 1024;
    /** Largest key accepted, in UTF-8 bytes (an S3 key is at most 1024, plus the bucket). */
    public static final int MAX_KEY_BYTES = 8192;
    /** Largest encoded metadata accepted, in bytes. */
    public static final int MAX_META_BYTES = 64 * 1024;

    /** Decoded header of an entry file. */
    public record Header(int headerLength, int blockSize, long objectSize, long writeId, String key,
                         EntryMetadata metadata, int headerCrc) {
        public long blockCount() {
            return EntryFormat.blockCount(objectSize, blockSize);
        }

        public long fileLength() {
            return EntryFormat.fileLength(headerLength, objectSize, blockSize);
        }

        public long trailerOffset() {
            return fileLength() - TRAILER_SIZE;
        }
    }

    /** Decoded trailer. */
    public record Trailer(long objectSize, long writeId, int headerCrc, int blocksCrc) {
    }

    /** Raised for bytes that are not a valid header or trailer. */
    public static final class FormatException extends Exception {
        private static final long serialVersionUID = 1L;

        public FormatException(String message) {
            super(message, null, false, false);
        }
    }

    public static long blockCount(long size, int blockSize) {
        return (size + blockSize - 1) / blockSize;
    }

    public static long fileLength(int headerLength, long size, int blockSize) {
        return headerLength + size + CRC_SIZE * blockCount(size, blockSize) + TRAILER_SIZE;
    }

    /** File offset of block {@code i}. */
    public static long blockOffset(int headerLength, int blockSize, long i) {
        return headerLength + i * (blockSize + (long) CRC_SIZE);
    }

    public static int crc(ByteBuffer buf, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(buf.slice(off, len));
        return (int) c.getValue();
    }

    public static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    /** Encodes a header; the buffer returned is flipped (position 0, limit = header length). */
    public static ByteBuffer encodeHeader(String key, EntryMetadata md, int blockSize, long writeId) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] m = encodeMetadata(md);
        int len = HEADER_FIXED + k.length + m.length + CRC_SIZE;
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.BIG_ENDIAN);
        b.putLong(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(len).putInt(blockSize)
                .putInt(k.length).putInt(m.length).putInt(0).putLong(md.size()).putLong(writeId);
        b.put(k).put(m);
        b.putInt(crc(b.array(), 0, len - CRC_SIZE));
        return b.flip();
    }

    /**
     * The header length the bytes at the start of a file claim, or -1 when fewer than
     * {@link #HEADER_FIXED} bytes are available.
     */
    public static int claimedHeaderLength(ByteBuffer b) throws FormatException {
        if (b.remaining() < HEADER_FIXED) {
            return -1;
        }
        int p = b.position();
        if (b.getLong(p) != MAGIC) {
            throw new FormatException("bad magic");
        }
        int version = b.getShort(p + 8) & 0xFFFF;
        if (version != VERSION) {
            throw new FormatException("unsupported version " + version);
        }
        int len = b.getInt(p + 12);
        if (len < HEADER_FIXED + CRC_SIZE || len > HEADER_FIXED + MAX_KEY_BYTES + MAX_META_BYTES + CRC_SIZE) {
            throw new FormatException("bad header length " + len);
        }
        return len;
    }

    /** Decodes and checks a header starting at {@code b}'s position (which is not moved). */
    public static Header decodeHeader(ByteBuffer b) throws FormatException {
        int len = claimedHeaderLength(b);
        if (len < 0 || b.remaining() < len) {
            throw new FormatException("short header");
        }
        int p = b.position();
        int stored = b.getInt(p + len - CRC_SIZE);
        int crc = crc(b, p, len - CRC_SIZE);
        if (stored != crc) {
            throw new FormatException("header CRC32C mismatch");
        }
        int blockSize = b.getInt(p + 16);
        int keyLen = b.getInt(p + 20);
        int metaLen = b.getInt(p + 24);
        long size = b.getLong(p + 32);
        long writeId = b.getLong(p + 40);
        if (blockSize < 512 || blockSize > (1 << 24) || keyLen < 0 || keyLen > MAX_KEY_BYTES || metaLen < 0
                || HEADER_FIXED + keyLen + metaLen + CRC_SIZE != len || size < 0) {
            throw new FormatException("inconsistent header fields");
        }
        String key = StandardCharsets.UTF_8.decode(b.slice(p + HEADER_FIXED, keyLen)).toString();
        EntryMetadata md = decodeMetadata(b.slice(p + HEADER_FIXED + keyLen, metaLen), size);
        return new Header(len, blockSize, size, writeId, key, md, crc);
    }

    public static ByteBuffer encodeTrailer(long size, long writeId, int headerCrc, int blocksCrc) {
        ByteBuffer b = ByteBuffer.allocate(TRAILER_SIZE);
        b.putLong(TRAILER_MAGIC).putLong(size).putLong(writeId).putInt(headerCrc).putInt(blocksCrc).putInt(0);
        b.putInt(crc(b.array(), 0, TRAILER_SIZE - CRC_SIZE));
        return b.flip();
    }

    /** Decodes the trailer at {@code b}'s position and checks it against {@code h}. */
    public static Trailer decodeTrailer(ByteBuffer b, Header h) throws FormatException {
        if (b.remaining() < TRAILER_SIZE) {
            throw new FormatException("short trailer");
        }
        int p = b.position();
        if (b.getLong(p) != TRAILER_MAGIC) {
            throw new FormatException("no commit trailer");
        }
        if (b.getInt(p + TRAILER_SIZE - CRC_SIZE) != crc(b, p, TRAILER_SIZE - CRC_SIZE)) {
            throw new FormatException("trailer CRC32C mismatch");
        }
        Trailer t = new Trailer(b.getLong(p + 8), b.getLong(p + 16), b.getInt(p + 24), b.getInt(p + 28));
        if (t.objectSize() != h.objectSize() || t.writeId() != h.writeId() || t.headerCrc() != h.headerCrc()) {
            throw new FormatException("trailer does not match header");
        }
        return t;
    }

    // ---- metadata -----------------------------------------------------------------------------

    static byte[] encodeMetadata(EntryMetadata md) {
        ByteBuffer b = ByteBuffer.allocate(256);
        b = putString(b, md.contentType());
        b = putString(b, md.etag());
        b = ensure(b, 32);
        putInstant(b, md.lastModified());
        putInstant(b, md.expiresAt());
        b = ensure(b, 4);
        b.putInt(md.headers().size());
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(md.headers()).entrySet()) {
            b = putString(b, e.getKey());
            b = putString(b, e.getValue());
        }
        if (b.position() > MAX_META_BYTES) {
            throw new IllegalArgumentException("metadata encodes to " + b.position() + " bytes, more than " + MAX_META_BYTES);
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    private static ByteBuffer ensure(ByteBuffer b, int n) {
        if (b.remaining() >= n) {
            return b;
        }
        ByteBuffer nb = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n));
        b.flip();
        nb.put(b);
        return nb;
    }

    private static ByteBuffer putString(ByteBuffer b, @Nullable String s) {
        if (s == null) {
            b = ensure(b, 4);
            b.putInt(-1);
            return b;
        }
        byte[] v = s.getBytes(StandardCharsets.UTF_8);
        b = ensure(b, 4 + v.length);
        b.putInt(v.length).put(v);
        return b;
    }

    private static void putInstant(ByteBuffer b, @Nullable Instant t) {
        if (t == null) {
            b.putLong(Long.MIN_VALUE).putInt(0);
        } else {
            b.putLong(t.getEpochSecond()).putInt(t.getNano());
        }
    }

    private static @Nullable String getString(ByteBuffer b) throws FormatException {
        int n = b.getInt();
        if (n == -1) {
            return null;
        }
        if (n < 0 || n > b.remaining()) {
            throw new FormatException("bad string length in metadata");
        }
        String s = StandardCharsets.UTF_8.decode(b.slice(b.position(), n)).toString();
        b.position(b.position() + n);
        return s;
    }

    private static @Nullable Instant getInstant(ByteBuffer b) throws FormatException {
        long s = b.getLong();
        int n = b.getInt();
        if (s == Long.MIN_VALUE) {
            return null;
        }
        try {
            return Instant.ofEpochSecond(s, n);
        } catch (RuntimeException e) {
            throw new FormatException("bad instant in metadata");
        }
    }

    static EntryMetadata decodeMetadata(ByteBuffer b, long size) throws FormatException {
        try {
            String ct = getString(b);
            String etag = getString(b);
            Instant lm = getInstant(b);
            Instant exp = getInstant(b);
            int n = b.getInt();
            if (n < 0 || n > b.remaining() / 8) {
                throw new FormatException("bad header count in metadata");
            }
            Map<String, String> h = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                h.put(getString(b), getString(b));
            }
            return new EntryMetadata(size, ct, etag, lm, exp == null ? Instant.MAX : exp, h);
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException | NullPointerException e) {
            throw new FormatException("malformed metadata");
        }
    }

    // ---- metadata records ---------------------------------------------------------------------

    /** Magic of a metadata record, {@code "KURAMETA"}. */
    public static final long META_MAGIC = 0x4B5552414D455441L;
    public static final int META_VERSION = 1;
    /** Fixed part of a metadata record before the key, in bytes. */
    public static final int META_FIXED = 32;
    /** Suffix of a metadata record's file name: {@code <name>.meta} beside {@code <name>}. */
    public static final String META_SUFFIX = ".meta";

    /** A decoded metadata record: newer metadata for the version {@code writeId} of {@code key}. */
    public record MetaRecord(String key, long writeId, EntryMetadata metadata) {
    }

    /**
     * Encodes a metadata record (flipped): magic, version, flags, record length, write id of the
     * version it belongs to, key length, metadata length, key, metadata, CRC32C of all before.
     */
    public static ByteBuffer encodeMetaRecord(String key, long writeId, EntryMetadata md) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] m = encodeMetadata(md);
        int len = META_FIXED + k.length + m.length + CRC_SIZE;
        ByteBuffer b = ByteBuffer.allocate(len);
        b.putLong(META_MAGIC).putShort((short) META_VERSION).putShort((short) 0).putInt(len).putLong(writeId)
                .putInt(k.length).putInt(m.length).put(k).put(m);
        b.putInt(crc(b.array(), 0, len - CRC_SIZE));
        return b.flip();
    }

    /** The record length the first {@link #META_FIXED} bytes claim, or -1 when fewer are available. */
    public static int claimedMetaLength(ByteBuffer b) throws FormatException {
        if (b.remaining() < META_FIXED) {
            return -1;
        }
        int p = b.position();
        if (b.getLong(p) != META_MAGIC || (b.getShort(p + 8) & 0xFFFF) != META_VERSION) {
            throw new FormatException("not a version " + META_VERSION + " metadata record");
        }
        int len = b.getInt(p + 12);
        if (len < META_FIXED + CRC_SIZE || len > META_FIXED + MAX_KEY_BYTES + MAX_META_BYTES + CRC_SIZE) {
            throw new FormatException("bad metadata record length " + len);
        }
        return len;
    }

    /**
     * Decodes and checks a whole metadata record at {@code b}'s position.
     *
     * @param objectSize the size of the object the record belongs to (records do not repeat it)
     */
    public static MetaRecord decodeMetaRecord(ByteBuffer b, long objectSize) throws FormatException {
        int len = claimedMetaLength(b);
        if (len < 0 || b.remaining() != len) {
            throw new FormatException("metadata record length " + b.remaining() + ", it says " + len);
        }
        int p = b.position();
        if (b.getInt(p + len - CRC_SIZE) != crc(b, p, len - CRC_SIZE)) {
            throw new FormatException("metadata record CRC32C mismatch");
        }
        long writeId = b.getLong(p + 16);
        int kl = b.getInt(p + 24);
        int ml = b.getInt(p + 28);
        if (kl < 0 || ml < 0 || META_FIXED + (long) kl + ml + CRC_SIZE != len) {
            throw new FormatException("inconsistent metadata record fields");
        }
        String key = StandardCharsets.UTF_8.decode(b.slice(p + META_FIXED, kl)).toString();
        EntryMetadata md = decodeMetadata(b.slice(p + META_FIXED + kl, ml), objectSize);
        return new MetaRecord(key, writeId, md);
    }

    // ---- naming -------------------------------------------------------------------------------

    /** The 128-bit name of a key: the first 16 bytes of its SHA-256, as 32 lowercase hex digits. */
    public static String nameOf(String key) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] h = d.digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

}
