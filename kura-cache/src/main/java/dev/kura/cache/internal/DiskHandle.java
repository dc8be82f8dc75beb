package dev.kura.cache.internal;

import dev.kura.cache.CorruptEntryException;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Tier;
import dev.kura.io.IoFile;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A handle on one committed version in the disk tier. It holds a reference on the version's
 * {@link OpenVersion} (the descriptor, shared with other handles and {@link OpenFiles}), so the
 * version stays readable after an overwrite, delete or eviction unlinks its name.
 *
 * <p>A read fetches each block it touches together with the block's CRC32C (one positional read
 * per block), checks it, and copies the requested part. The last verified block is kept, so
 * sequential reads in pieces smaller than a block read each block once. Small files come with
 * their bytes already read at open ({@code prefetch}), so reading them costs no further I/O.
 *
 * <p>Thread-safety: concurrent reads are safe; close once.
 */
final class DiskHandle implements VersionedEntry {
    private record Block(long index, ByteBuffer data) {
    }

    private final DiskStore store;
    final DiskEntry entry;
    /** The open version this handle reads, shared with other handles and the open-file cache. */
    private final OpenVersion open;
    private final IoFile file;
    private final EntryFormat.Header header;
    /** The version's current metadata: the header's, or a newer metadata record's. */
    private final EntryMetadata metadata;
    /** {@link DiskEntry#metaUpdates} when {@link #metadata} was read. */
    final int metaSeen;
    /** Bytes [0, prefetch.limit()) of the file, read at open; this handle's read-only view. */
    private final ByteBuffer prefetch;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile @Nullable Block last;
    /** Runs at close instead of releasing the file; it must call {@link #closeFile()} when done. */
    private volatile java.util.function.@Nullable Consumer<DiskHandle> onClose;

    /** A handle on {@code open}, taking over one reference the caller holds on it. */
    DiskHandle(DiskStore store, OpenVersion open) {
        this.store = store;
        this.open = open;
        this.entry = open.entry;
        this.file = open.file;
        this.header = open.header;
        this.metadata = open.metadata;
        this.metaSeen = open.metaSeen;
        this.prefetch = open.prefetch.asReadOnlyBuffer();
    }

    @Override
    public String key() {
        return header.key();
    }

    @Override
    public EntryMetadata metadata() {
        return metadata;
    }

    @Override
    public Tier tier() {
        return Tier.DISK;
    }

    @Override
    public boolean inMemory() {
        return false;
    }

    @Override
    public long version() {
        return header.writeId();
    }

    long writeId() {
        return header.writeId();
    }

    /**
     * Blocks fetched by one asynchronous read at most: 4 x 64 KiB, the 256 KiB a response chunk
     * asks for at a time (EntrySender.CHUNK), in one ring round trip.
     */
    static final int BLOCKS_PER_READ = 4;

    private long size() {
        return header.objectSize();
    }

    private int blockLength(long bi) {
        return (int) Math.min(header.blockSize(), size() - bi * header.blockSize());
    }

    /** The block's data if already in memory (prefetched or last read), else null. */
    private @Nullable ByteBuffer cached(long bi) {
        Block b = last;
        if (b != null && b.index == bi) {
            return b.data;
        }
        long off = EntryFormat.blockOffset(header.headerLength(), header.blockSize(), bi);
        int blen = blockLength(bi);
        if (off + blen + EntryFormat.CRC_SIZE <= prefetch.limit()) {
            return verifiedOrNull(bi, prefetch.slice((int) off, blen + EntryFormat.CRC_SIZE), true);
        }
        return null;
    }

    private @Nullable ByteBuffer verifiedOrNull(long bi, ByteBuffer raw, boolean remember) {
        int blen = raw.limit() - EntryFormat.CRC_SIZE;
        if (EntryFormat.crc(raw, 0, blen) != raw.getInt(blen)) {
            return null;
        }
        ByteBuffer data = raw.slice(0, blen);
        if (remember) {
            last = new Block(bi, data);
        }
        return data;
    }

    private ByteBuffer verify(long bi, ByteBuffer raw, int got) throws CorruptEntryException {
        int blen = blockLength(bi);
        if (got != blen + EntryFormat.CRC_SIZE) {
            throw corrupt("short block " + bi + " (" + got + " of " + (blen + EntryFormat.CRC_SIZE) + " bytes)");
        }
        // A pooled buffer goes back to the pool after this read, so it is not remembered in `last`.
        ByteBuffer data = verifiedOrNull(bi, raw.limit(got).position(0), !raw.isDirect());
        if (data == null) {
            throw corrupt("CRC32C mismatch in block " + bi);
        }
        return data;
    }

    private CorruptEntryException corrupt(String what) {
        CorruptEntryException ex = new CorruptEntryException("cache entry " + header.key() + ": " + what);
        store.corrupt(entry, ex);
        return ex;
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("cache entry handle is closed");
        }
    }

    private int copy(long bi, ByteBuffer data, long position, ByteBuffer dst) {
        int inBlock = (int) (position - bi * header.blockSize());
        int n = Math.min(data.limit() - inBlock, dst.remaining());
        dst.put(data.slice(inBlock, n));
        return n;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
        checkOpen();
        return readBlocking(position, dst);
    }

    /**
     * {@link #read} without the open check, so also after {@link #close()}: the {@link #onClose}
     * action's read, on a blocking pool thread. Blocking.
     */
    int readBlocking(long position, ByteBuffer dst) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
        int total = 0;
        long pos = position;
        while (dst.hasRemaining() && pos < size()) {
            long bi = pos / header.blockSize();
            ByteBuffer data = cached(bi);
            if (data == null) {
                int blen = blockLength(bi);
                ByteBuffer raw = store.blockBuffers.acquire(blen + EntryFormat.CRC_SIZE);
                try {
                    try {
                        DiskStore.readFully(file, raw, EntryFormat.blockOffset(header.headerLength(), header.blockSize(), bi));
                    } catch (IOException ex) {
                        store.faults.record("read", ex);
                        throw ex;
                    }
                    int n = copy(bi, verify(bi, raw, raw.position()), pos, dst);
                    pos += n;
                    total += n;
                } finally {
                    store.blockBuffers.release(raw);
                }
                continue;
            }
            int n = copy(bi, data, pos, dst);
            pos += n;
            total += n;
        }
        return total;
    }

    @Override
    public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new IllegalStateException("cache entry handle is closed"));
        }
        if (position < 0) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("negative position " + position));
        }
        return readFrom(position, dst, 0);
    }

    private CompletableFuture<Integer> readFrom(long pos, ByteBuffer dst, int done) {
        while (dst.hasRemaining() && pos < size()) {
            long bi = pos / header.blockSize();
            ByteBuffer data = cached(bi);
            if (data == null && dst.isDirect()) {
                return scatterFrom(pos, dst, done, bi);
            }
            if (data == null) {
                // The blocks dst still needs, up to BLOCKS_PER_READ of them, lie one after the other
                // in the file with their CRCs: one read fetches them all (one ring round trip
                // instead of one per block).
                long lastBi = (Math.min(size(), pos + dst.remaining()) - 1) / header.blockSize();
                int k = (int) Math.min(lastBi - bi + 1, BLOCKS_PER_READ);
                int rawLen = 0;
                for (int j = 0; j < k; j++) {
                    rawLen += blockLength(bi + j) + EntryFormat.CRC_SIZE;
                }
                ByteBuffer raw = store.blockBuffers.acquire(rawLen);
                store.readsAsync.increment();
                long off = EntryFormat.blockOffset(header.headerLength(), header.blockSize(), bi);
                long p = pos;
                int doneSoFar = done;
                return file.readFullyAsync(java.lang.foreign.MemorySegment.ofBuffer(raw), off)
                        .handle((got, ex) -> {
                            // The read has completed either way: the kernel is done with `raw`.
                            try {
                                if (ex != null) {
                                    Throwable c = ex instanceof java.util.concurrent.CompletionException && ex.getCause() != null ? ex.getCause() : ex;
                                    store.faults.record("read", c);
                                    return CompletableFuture.<Integer>failedFuture(c);
                                }
                                int n = 0;
                                int at = 0;
                                for (int j = 0; j < k; j++) {
                                    int len = blockLength(bi + j) + EntryFormat.CRC_SIZE;
                                    int gotHere = Math.clamp(got.longValue() - at, 0, len);
                                    ByteBuffer d = verify(bi + j, raw.slice(at, len), gotHere);
                                    n += copy(bi + j, d, p + n, dst);
                                    at += len;
                                }
                                return readFrom(p + n, dst, doneSoFar + n);
                            } catch (CorruptEntryException ce) {
                                return CompletableFuture.<Integer>failedFuture(ce);
                            } finally {
                                store.blockBuffers.release(raw);
                            }
                        }).thenCompose(f -> f);
            }
            int n = copy(bi, data, pos, dst);
            pos += n;
            done += n;
        }
        return CompletableFuture.completedFuture(done);
    }

    /**
     * Blocks fetched by one scatter read at most: 8 x 64 KiB, so a 256 KiB range that starts
     * inside a block (5 blocks) takes one ring round trip.
     */
    static final int BLOCKS_PER_SCATTER = 8;

    /**
     * One scatter read's layout: blocks {@code bi..bi+mids.length-1}, the bytes of them that go
     * into {@code dst} ({@code want}, from the object offset the plan was made at) and the rest
     * (the {@code pre} bytes of the first block before it, the {@code post} bytes of the last block
     * after it, every block's CRC) into {@code scratch}, which the caller releases once the read has
     * completed.
     */
    private record Scatter(long bi, int[] mids, int pre, int post, long want, long expected, long fileOffset,
                           ByteBuffer scratch, java.util.List<java.lang.foreign.MemorySegment> iov) {
    }

    /** Lays out the scatter read of at most {@link #BLOCKS_PER_SCATTER} blocks from {@code pos} into {@code dst}. */
    private Scatter scatter(long pos, ByteBuffer dst, long bi) {
        int bs = header.blockSize();
        long end = Math.min(size(), pos + dst.remaining()); // exclusive
        long lastBi = Math.min((end - 1) / bs, bi + BLOCKS_PER_SCATTER - 1);
        int k = (int) (lastBi - bi + 1);
        long want = Math.min(end, lastBi * bs + blockLength(lastBi)) - pos; // bytes going into dst
        int pre = (int) (pos - bi * bs);
        int post = (int) (lastBi * bs + blockLength(lastBi) - (pos + want));
        ByteBuffer scratch = store.scratchBuffers.acquire(pre + post + k * EntryFormat.CRC_SIZE);
        java.lang.foreign.MemorySegment sc = java.lang.foreign.MemorySegment.ofBuffer(scratch);
        java.lang.foreign.MemorySegment out = java.lang.foreign.MemorySegment.ofBuffer(dst);
        java.util.List<java.lang.foreign.MemorySegment> iov = new java.util.ArrayList<>(2 * k + 2);
        int at = 0;
        if (pre > 0) {
            iov.add(sc.asSlice(0, pre));
            at = pre;
        }
        long inDst = 0;
        int[] mids = new int[k]; // bytes of block bi + j that go into dst
        for (int j = 0; j < k; j++) {
            long b = bi + j;
            mids[j] = (int) (Math.min(pos + want, b * bs + blockLength(b)) - Math.max(pos, b * bs));
            iov.add(out.asSlice(inDst, mids[j]));
            inDst += mids[j];
            if (j == k - 1 && post > 0) {
                iov.add(sc.asSlice(at, post));
                at += post;
            }
            iov.add(sc.asSlice(at, EntryFormat.CRC_SIZE));
            at += EntryFormat.CRC_SIZE;
        }
        long expected = (long) pre + want + post + (long) k * EntryFormat.CRC_SIZE;
        return new Scatter(bi, mids, pre, post, want, expected, EntryFormat.blockOffset(header.headerLength(), bs, bi),
                scratch, iov);
    }

    /**
     * Reads into a direct {@code dst} without a copy: one scatter read ({@code IORING_OP_READV},
     * laid out by {@link #scatter}) puts each block's bytes that {@code dst} wants straight into
     * {@code dst}, and the rest of the blocks into a scratch buffer; each block's CRC32C is then
     * computed over its two or three pieces and checked. A block that fails its check fails the
     * read (the bytes already in {@code dst} are never handed on: the caller gets the failure, not
     * a count).
     */
    private CompletableFuture<Integer> scatterFrom(long pos, ByteBuffer dst, int done, long bi) {
        Scatter sc = scatter(pos, dst, bi);
        CompletableFuture<Long> read;
        store.readsAsync.increment();
        try {
            read = file.readFullyAsync(sc.iov, sc.fileOffset);
        } catch (RuntimeException e) {
            store.scratchBuffers.release(sc.scratch);
            return CompletableFuture.failedFuture(e);
        }
        return read.handle((got, ex) -> {
            // The read has completed either way: the kernel is done with scratch and dst.
            try {
                if (ex != null) {
                    Throwable c = ex instanceof java.util.concurrent.CompletionException && ex.getCause() != null ? ex.getCause() : ex;
                    store.faults.record("read", c);
                    return CompletableFuture.<Integer>failedFuture(c);
                }
                if (got != sc.expected) {
                    throw corrupt("short read of blocks " + bi + ".." + (bi + sc.mids.length - 1) + " (" + got + " of "
                            + sc.expected + " bytes)");
                }
                verifyScattered(sc, dst);
                dst.position(dst.position() + (int) sc.want);
                return readFrom(pos + sc.want, dst, done + (int) sc.want);
            } catch (CorruptEntryException ce) {
                return CompletableFuture.<Integer>failedFuture(ce);
            } finally {
                store.scratchBuffers.release(sc.scratch);
            }
        }).thenCompose(f -> f);
    }

    /**
     * Reads what the page cache holds from {@code position} into a direct {@code dst}, on the
     * calling thread and without waiting for the device ({@link IoFile#readIfCached}: {@code
     * preadv2} with {@code RWF_NOWAIT}), checking every block's CRC32C as {@link #readAsync} does.
     * An event loop calls it first: for a hot entry it is one copy instead of a ring round trip
     * (two thread hand-offs and a task queued behind every other connection's), and a response of
     * many chunks then goes out at the socket's pace, as nginx's {@code sendfile} does.
     *
     * <p>It stops at the first scatter read that the page cache cannot serve whole (a block group
     * partly cached is read again asynchronously, never half-verified).
     *
     * @return bytes read into {@code dst} (at least 1; all of {@code dst} unless the object ends or
     *     the page cache stops serving), or -1 when nothing could be read this way, at or past the end
     *     too (the caller reads asynchronously from the same place)
     * @throws CorruptEntryException when a block fails its check (the entry is dropped)
     * @throws IOException when the read fails (EIO and the like)
     */
    @Override
    public int readIfCached(long position, ByteBuffer dst) throws IOException {
        if (closed.get() || position < 0 || !dst.isDirect()) {
            return -1;
        }
        int done = 0;
        long pos = position;
        while (dst.hasRemaining() && pos < size()) {
            long bi = pos / header.blockSize();
            ByteBuffer data = cached(bi);
            if (data != null) {
                int n = copy(bi, data, pos, dst);
                pos += n;
                done += n;
                continue;
            }
            Scatter sc = scatter(pos, dst, bi);
            try {
                long got;
                try {
                    got = file.readIfCached(sc.iov, sc.fileOffset);
                } catch (IOException ex) {
                    store.faults.record("read", ex);
                    throw ex;
                }
                if (got != sc.expected) {
                    break; // not all cached: the rest asynchronously
                }
                verifyScattered(sc, dst);
                store.readsCached.increment();
                dst.position(dst.position() + (int) sc.want);
                pos += sc.want;
                done += (int) sc.want;
            } finally {
                store.scratchBuffers.release(sc.scratch);
            }
        }
        return done > 0 ? done : -1;
    }

    /**
     * Checks the bytes from {@code position} with {@link #readIfCached} (into {@code scratch}) and
     * gives them as spans of the file (one per block: each block's data is followed by its CRC)
     * over the version's send channel, holding a reference on the open version until the spans are
     * closed. Null while the send channel is not open (its first use starts opening it).
     */
    @Override
    public dev.kura.cache.@Nullable FileSpans fileSpans(long position, ByteBuffer scratch) throws IOException {
        if (closed.get() || position < 0 || position >= size() || !scratch.isDirect()) {
            return null;
        }
        java.nio.channels.FileChannel ch = open.sendChannel(store.probes);
        if (ch == null) {
            return null;
        }
        int n = readIfCached(position, scratch);
        if (n <= 0 || !open.retain()) {
            return null;
        }
        int bs = header.blockSize();
        long firstBlock = position / bs;
        int count = (int) ((position + n - 1) / bs - firstBlock + 1);
        long[] offsets = new long[count];
        int[] lengths = new int[count];
        long pos = position;
        long end = position + n;
        for (int i = 0; i < count; i++) {
            long bi = firstBlock + i;
            long inBlock = pos - bi * bs;
            int len = (int) Math.min(bs - inBlock, end - pos);
            offsets[i] = EntryFormat.blockOffset(header.headerLength(), bs, bi) + inBlock;
            lengths[i] = len;
            pos += len;
        }
        return new Spans(ch, offsets, lengths, n, open);
    }

    /** {@link dev.kura.cache.FileSpans} holding one reference on an open version. */
    private static final class Spans implements dev.kura.cache.FileSpans {
        private final java.nio.channels.FileChannel channel;
        private final long[] offsets;
        private final int[] lengths;
        private final long bytes;
        private final OpenVersion open;
        private final AtomicBoolean closed = new AtomicBoolean();

        Spans(java.nio.channels.FileChannel channel, long[] offsets, int[] lengths, long bytes, OpenVersion open) {
            this.channel = channel;
            this.offsets = offsets;
            this.lengths = lengths;
            this.bytes = bytes;
            this.open = open;
        }

        @Override
        public java.nio.channels.FileChannel channel() {
            return channel;
        }

        @Override
        public int count() {
            return offsets.length;
        }

        @Override
        public long fileOffset(int i) {
            return offsets[i];
        }

        @Override
        public int length(int i) {
            return lengths[i];
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                open.release();
            }
        }
    }

    /**
     * Checks the CRC32C of blocks {@code bi..bi+mids.length-1} read by {@link #scatterFrom}, each
     * over its pieces: {@code pre} scratch bytes (first block), {@code mids[j]} bytes of {@code dst},
     * {@code post} scratch bytes (last block), then its CRC from scratch.
     */
    private void verifyScattered(Scatter sc, ByteBuffer dst) throws CorruptEntryException {
        int k = sc.mids.length;
        int inDst = dst.position();
        int at = sc.pre;
        for (int j = 0; j < k; j++) {
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            if (j == 0 && sc.pre > 0) {
                crc.update(sc.scratch.slice(0, sc.pre));
            }
            crc.update(dst.slice(inDst, sc.mids[j]));
            inDst += sc.mids[j];
            if (j == k - 1 && sc.post > 0) {
                crc.update(sc.scratch.slice(at, sc.post));
                at += sc.post;
            }
            int stored = sc.scratch.getInt(at);
            at += EntryFormat.CRC_SIZE;
            if ((int) crc.getValue() != stored) {
                throw corrupt("CRC32C mismatch in block " + (sc.bi + j));
            }
        }
    }

    /** Sets what runs at {@link #close()} (promotion after serving); it then owns the file. */
    void onClose(java.util.function.Consumer<DiskHandle> c) {
        this.onClose = c;
    }

    /** Gives this handle's reference on the open version back (the last one closes the descriptor); once. */
    void closeFile() {
        if (released.compareAndSet(false, true)) {
            open.release();
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            java.util.function.Consumer<DiskHandle> c = onClose;
            if (c != null) {
                c.accept(this);
            } else {
                closeFile();
            }
        }
    }
}
