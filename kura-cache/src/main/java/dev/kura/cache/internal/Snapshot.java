package dev.kura.cache.internal;

import dev.kura.io.FileIo;
import dev.kura.io.IoException;
import dev.kura.io.Errno;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The index snapshot written at a clean close, so that the next open need not read a million
 * headers: magic {@code "KURASNP1"}, version (2), entry count, then one record per entry (oldest in
 * eviction order first), then a CRC32C of everything before it. See {@code docs/FORMAT.md}.
 *
 * <p>Trust rule: the snapshot describes the directory only as it was at that close. The opener
 * deletes it (and fsyncs the directory) before serving, so after any later crash it is gone and
 * the next open scans.
 */
final class Snapshot {
    static final long MAGIC = 0x4B555241534E5031L; // "KURASNP1"
    static final int VERSION = 2;
    private static final int CHUNK = 1 << 20;
    /** Record flag: the entry has a metadata record beside it. */
    private static final int FLAG_META = 1;
    private static final long MAX_BYTES = 1L << 31;

    private Snapshot() {
    }

    static void write(FileIo io, Fs fs, Path dir, Path target, EvictionPolicy policy,
                      Map<String, DiskEntry> index) throws IOException {
        Path tmp = dir.resolve("tmp").resolve(".tmp-snapshot");
        List<DiskEntry> order = new ArrayList<>(index.size());
        if (policy instanceof OrderedPolicy op) {
            op.forEachOldestFirst(e -> {
                if (index.get(e.key) == e) {
                    order.add(e);
                }
            });
        }
        if (order.size() != index.size()) {
            order.clear();
            order.addAll(index.values());
        }
        try (IoFile f = io.open(tmp, OpenFlag.WRITE, OpenFlag.CREATE, OpenFlag.TRUNCATE)) {
            ByteBuffer b = ByteBuffer.allocate(CHUNK);
            CRC32C crc = new CRC32C();
            long off = 0;
            b.putLong(MAGIC).putInt(VERSION).putLong(order.size());
            for (DiskEntry e : order) {
                byte[] k = e.key.getBytes(StandardCharsets.UTF_8);
                if (b.remaining() < 2 + k.length + 25 + 4) {
                    off = flush(f, b, crc, off);
                }
                b.putShort((short) k.length).put(k).putLong(e.fileLength).putLong(e.objectSize)
                        .putLong(e.writeId).put((byte) (e.metaUpdates > 0 ? FLAG_META : 0));
            }
            if (b.remaining() < 4) {
                off = flush(f, b, crc, off);
            }
            ByteBuffer all = b.duplicate().flip();
            crc.update(all);
            b.putInt((int) crc.getValue());
            b.flip();
            DiskStore.writeFully(f, b, off);
            f.fsync();
        }
        fs.rename(tmp, target);
        fs.fsyncDir(dir);
    }

    private static long flush(IoFile f, ByteBuffer b, CRC32C crc, long off) throws IOException {
        b.flip();
        crc.update(b.duplicate());
        int n = b.remaining();
        DiskStore.writeFully(f, b, off);
        b.clear();
        return off + n;
    }

    /** Reads and checks a snapshot; null when there is none. */
    static @Nullable List<DiskEntry> read(FileIo io, Path file) throws IOException, EntryFormat.FormatException {
        IoFile f;
        try {
            f = io.open(file, OpenFlag.READ);
        } catch (IoException ex) {
            if (ex.errno() == Errno.ENOENT) {
                return null;
            }
            throw ex;
        }
        byte[] all;
        try (f) {
            long len = f.size();
            if (len < 24 || len > MAX_BYTES) {
                throw new EntryFormat.FormatException("snapshot length " + len);
            }
            all = new byte[(int) len];
            ByteBuffer b = ByteBuffer.wrap(all);
            DiskStore.readFully(f, b, 0);
            if (b.hasRemaining()) {
                throw new EntryFormat.FormatException("short snapshot");
            }
        }
        ByteBuffer b = ByteBuffer.wrap(all);
        int stored = b.getInt(all.length - 4);
        if (EntryFormat.crc(all, 0, all.length - 4) != stored) {
            throw new EntryFormat.FormatException("snapshot CRC32C mismatch");
        }
        if (b.getLong() != MAGIC) {
            throw new EntryFormat.FormatException("not a snapshot");
        }
        int version = b.getInt();
        if (version != VERSION) {
            // version 1 (before metadata records) is not read: the directory is scanned instead
            throw new EntryFormat.FormatException("snapshot version " + version + ", this kura reads " + VERSION);
        }
        long n = b.getLong();
        List<DiskEntry> out = new ArrayList<>((int) Math.min(n, 10_000_000));
        try {
            for (long i = 0; i < n; i++) {
                int kl = b.getShort() & 0xFFFF;
                String key = new String(all, b.position(), kl, StandardCharsets.UTF_8);
                b.position(b.position() + kl);
                out.add(new DiskEntry(key, EntryFormat.nameOf(key), b.getLong(), b.getLong(), b.getLong(),
                        (b.get() & FLAG_META) != 0));
            }
        } catch (RuntimeException ex) {
            throw new EntryFormat.FormatException("malformed snapshot record");
        }
        if (b.remaining() != 4) {
            throw new EntryFormat.FormatException("trailing bytes in snapshot");
        }
        return out;
    }
}
