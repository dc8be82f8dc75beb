package dev.kura.cache.internal;

import dev.kura.cache.CacheConfig;
import dev.kura.cache.EntryMetadata;
import dev.kura.io.IoFile;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Writes one entry file into a unique temporary file: header, then the data with a CRC32C after
 * each block (computed as the bytes stream through), then the trailer. Bytes are staged in a
 * buffer of up to 256 KiB and written with positional writes, so a small entry costs one
 * {@code pwrite}. {@link #seal()} finishes the file; {@link DiskStore#publishLocked} renames it
 * into place.
 *
 * <p>Thread-safety: one thread at a time (see {@link dev.kura.cache.CacheWriter}).
 */
final class DiskWriter {
    private static final int MAX_STAGE = 256 * 1024;

    final DiskStore store;
    final String key;
    final EntryMetadata md;
    final long writeId;
    final Path tmp;
    final IoFile file;
    final long fileLength;
    private final int headerCrc;
    private final int headerLength;
    private final int blockSize;
    private final ByteBuffer stage;
    private long fileOffset;          // where the stage's first byte goes
    private long dataWritten;         // object bytes consumed
    private int inBlock;              // bytes of the current block so far
    private final CRC32C blockCrc = new CRC32C();
    private final CRC32C blocksCrc = new CRC32C();
    private final byte[] crcBytes = new byte[4];
    private boolean done;
    /** The whole file when it fit in one stage (kept as the handle's prefetch), else null. */
    @Nullable ByteBuffer wholeFile;
    /** Told of every flush, for readers that follow the fill; null when they read from memory. */
    private @Nullable FillProgress progress;

    DiskWriter(DiskStore store, String key, EntryMetadata md, long writeId, Path tmp, IoFile file,
               ByteBuffer header, long fileLength) {
        this.store = store;
        this.key = key;
        this.md = md;
        this.writeId = writeId;
        this.tmp = tmp;
        this.file = file;
        this.fileLength = fileLength;
        this.headerLength = header.remaining();
        this.headerCrc = header.getInt(headerLength - 4);
        this.blockSize = store.blockSize;
        this.stage = ByteBuffer.allocate((int) Math.min(fileLength, MAX_STAGE));
        this.stage.put(header.duplicate());
    }

    int headerLength() {
        return headerLength;
    }

    /** Publishes flushes to {@code p} from now on. */
    void follow(FillProgress p) {
        this.progress = p;
    }

    /**
     * Writes out the staged bytes when readers follow the fill, so that they see every byte the
     * caller has written (without readers, bytes stay staged up to 256 KiB, which keeps a small
     * entry at one {@code pwrite}).
     */
    void flushForReaders() throws IOException {
        if (progress != null && progress.hasReaders() && stage.position() > 0) {
            flush();
        }
    }

    /** Appends object bytes; the caller checks the total against the declared size. */
    void write(ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            int blen = (int) Math.min(blockSize, md.size() - (dataWritten - inBlock));
            int n = Math.min(src.remaining(), blen - inBlock);
            ByteBuffer part = src.slice(src.position(), n);
            blockCrc.update(part.duplicate());
            put(part);
            src.position(src.position() + n);
            inBlock += n;
            dataWritten += n;
            if (inBlock == blen) {
                endBlock();
            }
        }
    }

    private void endBlock() throws IOException {
        int c = (int) blockCrc.getValue();
        blockCrc.reset();
        crcBytes[0] = (byte) (c >>> 24);
        crcBytes[1] = (byte) (c >>> 16);
        crcBytes[2] = (byte) (c >>> 8);
        crcBytes[3] = (byte) c;
        blocksCrc.update(crcBytes, 0, 4);
        put(ByteBuffer.wrap(crcBytes.clone()));
        inBlock = 0;
    }

    private void put(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (!stage.hasRemaining()) {
                flush();
            }
            int n = Math.min(b.remaining(), stage.remaining());
            stage.put(b.slice(b.position(), n));
            b.position(b.position() + n);
        }
    }

    private void flush() throws IOException {
        stage.flip();
        int n = stage.remaining();
        DiskStore.writeFully(file, stage, fileOffset);
        fileOffset += n;
        stage.clear();
        if (progress != null) {
            progress.advanceFile(fileOffset);
        }
    }

    /**
     * Writes the trailer and flushes (fdatasync under {@code FSYNC}). The caller has checked that
     * exactly {@code md.size()} bytes were written.
     */
    void seal() throws IOException {
        put(EntryFormat.encodeTrailer(md.size(), writeId, headerCrc, (int) blocksCrc.getValue()));
        boolean single = fileOffset == 0;
        stage.flip();
        ByteBuffer last = stage.duplicate();
        int n = stage.remaining();
        DiskStore.writeFully(file, stage, fileOffset);
        fileOffset += n;
        if (fileOffset != fileLength) {
            throw new IllegalStateException("entry file length " + fileOffset + " != " + fileLength);
        }
        if (single) {
            wholeFile = last;
        }
        if (progress != null) {
            progress.advanceFile(fileOffset);
        }
        if (store.config.durability() == CacheConfig.Durability.FSYNC) {
            file.fdatasync();
        }
    }

    /** Closes and removes the temporary file, releases the reservation; idempotent, never throws. */
    void abort() {
        if (done) {
            return;
        }
        done = true;
        DiskStore.closeQuietly(file);
        try {
            store.fs.unlink(tmp);
        } catch (IOException ex) {
            store.faults.record("unlink", ex);
        }
        store.unreserve(fileLength);
    }

    /** After a successful publish: the reservation turns into indexed bytes. */
    void published() {
        done = true;
        store.unreserve(fileLength);
    }
}
