package dev.kura.cache.internal;

import dev.kura.cache.CacheConfig;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Tier;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The disk tier: one file per entry, an in-memory index, exact byte accounting, eviction and
 * recovery.
 *
 * <h2>Layout</h2>
 * {@code dir/lock} (exclusive lock of the owning process), {@code dir/tmp/.tmp-<random>} (entries
 * being written), {@code dir/xx/<name>} (committed entries; {@code name} is 32 hex digits of the
 * key's SHA-256, {@code xx} its first two), {@code dir/index.snap} (index snapshot written at a
 * clean close). Entry files follow {@link EntryFormat}.
 *
 * <h2>Publishing</h2>
 * A writer fills a unique temporary file and seals it (blocks, CRCs, trailer; fdatasync under
 * {@code durability = FSYNC}); then {@link #publish}, under the key's lock, renames the file over
 * the entry's name and updates the index. The store owns its locks: callers never hold one; a
 * tier above that must order its own changes with the store's passes a callback that runs under
 * the key's lock ({@link #publish}, {@link #remove}, {@link #removeVersion}, {@link #ifCurrent},
 * {@link #atomically}). rename(2) is atomic, so a reader opening the name sees the old or the
 * new file, never a mix; a reader holding the old file's descriptor keeps reading the old version.
 *
 * <h2>Invariants (kept under the key's stripe lock)</h2>
 * <ul>
 *   <li>{@code index.get(k) == e} iff the file at {@code e}'s name is {@code e}'s version and
 *       {@code e} is linked in the eviction policy;</li>
 *   <li>{@code bytes} is the sum of {@code fileLength} over the index, {@code count} its size.
 *       Files unlinked while a handle still has them open are no longer counted: their space
 *       comes back when the last handle closes, and handles are short-lived.</li>
 * </ul>
 *
 * <h2>Recovery</h2>
 * At open, a valid snapshot (written only by a clean close, deleted and the deletion fsync'd before
 * the cache serves) is loaded; otherwise the fan-out directories are scanned in parallel, reading
 * only each file's header and trailer. Either way it runs in the background while the cache
 * serves. A lookup of a key the scan has not reached yet probes the key's file directly, so a
 * committed entry is never reported missing during recovery. Keys that live operations touch
 * during recovery (put, delete, probe) are authoritative and the scan leaves them alone; prefixes
 * purged during recovery are purged from what the scan finds later.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class DiskStore implements CacheTier, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DiskStore.class);
    private static final int STRIPES = 1024;
    private static final int PREFETCH = 8192;
    /** First read of a metadata record: most are a few hundred bytes. */
    private static final int META_PREFETCH = 4096;
    static final String SNAPSHOT = "index.snap";

    final CacheConfig config;
    final FileIo io;
    final Fs fs;
    final Faults faults;
    final Path root;
    final Path tmpDir;
    final int blockSize;
    /** Direct buffers for block reads: see {@link BlockBuffers}. */
    final BlockBuffers blockBuffers;
    /**
     * Direct buffers for the parts of a scatter read that do not go to the caller (the head of the
     * first block, the tail of the last, the CRCs): two blocks and a few CRCs each.
     */
    final BlockBuffers scratchBuffers;
    /**
     * Reads of committed entries' blocks ({@link DiskHandle}): served on the caller's thread from
     * the page cache ({@link DiskHandle#readIfCached}), and through the backend asynchronously.
     */
    final java.util.concurrent.atomic.LongAdder readsCached = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder readsAsync = new java.util.concurrent.atomic.LongAdder();
    /** Recently opened versions kept open: see {@link OpenFiles}. */
    final OpenFiles openFiles = new OpenFiles(OpenFiles.DEFAULT_MAX, OpenFiles.DEFAULT_VALID);
    final ConcurrentHashMap<String, DiskEntry> index = new ConcurrentHashMap<>();
    final EvictionPolicy policy;
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong reserved = new AtomicLong();
    private final ReentrantLock evictLock = new ReentrantLock();
    final LongAdder evictions = new LongAdder();

    // recovery state
    private volatile boolean recovering = true;
    private volatile boolean stopRecovery;
    private final Set<String> touched = ConcurrentHashMap.newKeySet();
    private final List<String> purgedPrefixes = new CopyOnWriteArrayList<>();
    private final AtomicLong recoveredEntries = new AtomicLong();
    private volatile long recoveryNanos = -1;
    private volatile @Nullable Thread recoveryThread;
    /** Set when the disk may hold files the index does not know (a failed unlink): no snapshot then. */
    private volatile boolean dirty;
    private final AutoCloseable dirLock;
    /**
     * Virtual threads for the probes of asynchronous lookups during recovery, and for opening an
     * open version's send channel ({@link OpenVersion#sendChannel}).
     */
    final ExecutorService probes =
            Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("kura-cache-probe-", 0).factory());

    DiskStore(CacheConfig config, FileIo io, Fs fs, Faults faults, EvictionKind policy, int blockSize) throws IOException {
        this.config = config;
        this.io = io;
        this.fs = fs;
        this.faults = faults;
        this.root = config.dir().toAbsolutePath();
        this.tmpDir = root.resolve("tmp");
        this.blockSize = blockSize;
        // room for DiskHandle.BLOCKS_PER_READ blocks and their CRCs per buffer; 64 kept idle
        // (16 MiB with 64 KiB blocks, as 256 one-block buffers were)
        this.blockBuffers = new BlockBuffers(DiskHandle.BLOCKS_PER_READ * (blockSize + EntryFormat.CRC_SIZE), 64);
        this.scratchBuffers = new BlockBuffers(2 * blockSize + DiskHandle.BLOCKS_PER_SCATTER * EntryFormat.CRC_SIZE, 256);
        this.policy = policy.newPolicy();
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
        fs.mkdirs(root);
        this.dirLock = fs.lock(root.resolve("lock"));
        try {
            fs.mkdirs(tmpDir);
            for (int i = 0; i < 256; i++) {
                fs.mkdirs(root.resolve(fanout(i)));
            }
        } catch (IOException e) {
            closeQuietly(dirLock);
            throw e;
        }
    }

    static String fanout(int i) {
        return String.format("%02x", i);
    }

    Path pathOf(String name) {
        return root.resolve(name.substring(0, 2)).resolve(name);
    }

    /** Where the metadata record of the entry {@code name} lives, beside it. */
    Path metaPathOf(String name) {
        return root.resolve(name.substring(0, 2)).resolve(name + EntryFormat.META_SUFFIX);
    }

    /**
     * The lock of a key. Stripes are chosen by the key's file name, not its string hash, so that
     * recovery (which meets files before it knows their key) can take the same lock.
     */
    private ReentrantLock lockFor(String key) {
        return lockForName(EntryFormat.nameOf(key));
    }

    private ReentrantLock lockForName(String name) {
        return stripes[Integer.parseInt(name, 0, 3, 16) & (STRIPES - 1)];
    }

    @Override
    public Tier tier() {
        return Tier.DISK;
    }

    @Override
    public long bytes() {
        return bytes.get();
    }

    @Override
    public long entries() {
        return count.get();
    }

    @Override
    public long evictions() {
        return evictions.sum();
    }

    // ---- the lock protocol, for the tiers above -----------------------------------------------

    /**
     * Runs {@code action} holding the key's lock: no publish, removal, metadata update or
     * recovery registration of the key interleaves with it. This is the only way another tier
     * orders its changes of a key with the disk tier's (the memory tier changes only inside it).
     * The action must be short and must not call back into this store for another key.
     */
    <T> T atomically(String key, java.util.function.Supplier<T> action) {
        ReentrantLock l = lockFor(key);
        l.lock();
        try {
            return action.get();
        } finally {
            l.unlock();
        }
    }

    /**
     * Publishes a sealed writer: renames its file into place and indexes it, then runs
     * {@code underLock} with the new entry, all under the key's lock; then (durability
     * {@code FSYNC}) makes the rename durable and evicts if needed.
     *
     * @return a handle on the new version, reading through the writer's descriptor
     * @throws IOException when the rename failed: the writer is aborted, the key's older version is
     *     removed too (it must not outlive a newer one the caller may publish elsewhere), and
     *     {@code underLock} has run with null
     */
    DiskHandle publish(DiskWriter w, java.util.function.Consumer<DiskEntry> underLock) throws IOException {
        DiskEntry de;
        ReentrantLock l = lockFor(w.key);
        l.lock();
        try {
            try {
                de = publishLocked(w);
                w.published();
            } catch (IOException ex) {
                faults.record("rename", ex);
                w.abort();
                removeLocked(w.key);
                underLock.accept(null);
                throw ex;
            }
            underLock.accept(de);
        } finally {
            l.unlock();
        }
        syncDirOf(de);
        evictIfNeeded();
        // Reads through the writer's descriptor; not offered to the open-file cache (it was opened
        // for writing, and the next lookup opens the published file read-only).
        return new DiskHandle(this, new OpenVersion(de, w.file, new EntryFormat.Header(w.headerLength(), blockSize,
                w.md.size(), w.writeId, w.key, w.md, 0), w.wholeFile, w.md, 0));
    }

    /** Removes the key's version (if any) and runs {@code underLock}, under the key's lock. */
    boolean remove(String key, Runnable underLock) {
        ReentrantLock l = lockFor(key);
        l.lock();
        try {
            boolean removed = removeLocked(key);
            underLock.run();
            return removed;
        } finally {
            l.unlock();
        }
    }

    /**
     * Removes the key's version if it is {@code version}, and runs {@code underLock}, under the
     * key's lock; true when the disk tier removed it.
     */
    boolean removeVersion(String key, long version, Runnable underLock) {
        ReentrantLock l = lockFor(key);
        l.lock();
        try {
            DiskEntry e = index.get(key);
            boolean removed = e != null && e.writeId == version && removeLocked(key);
            underLock.run();
            return removed;
        } finally {
            l.unlock();
        }
    }

    /**
     * Runs {@code land} under the key's lock if the version {@code h} reads is still current and
     * its metadata unchanged since {@code h} read it (a promotion must not resurrect anything).
     */
    boolean ifCurrent(DiskHandle h, Runnable land) {
        ReentrantLock l = lockForName(h.entry.name);
        l.lock();
        try {
            if (index.get(h.entry.key) != h.entry || h.entry.metaUpdates != h.metaSeen) {
                return false;
            }
            land.run();
            return true;
        } finally {
            l.unlock();
        }
    }

    long recoveredEntries() {
        return recoveredEntries.get();
    }

    long recoveryNanos() {
        return recoveryNanos;
    }

    boolean recovered() {
        return !recovering;
    }

    // ---- index maintenance (callers hold the key's lock) -------------------------------------

    // Error Prone's @GuardedBy cannot name a striped lock; the assertion checks it (tests run with -ea)
    private void insertLocked(DiskEntry e) {
        assert lockForName(e.name).isHeldByCurrentThread() : "caller holds the lock of " + e.key;
        DiskEntry old = index.put(e.key, e);
        if (old != null) {
            openFiles.invalidate(old.key);
            policy.onRemove(old);
            bytes.addAndGet(-old.fileLength);
            count.decrementAndGet();
            if (old.metaUpdates > 0 && e.metaUpdates == 0) {
                // the record belongs to the replaced version (readers check its write id anyway)
                unlinkQuietly(metaPathOf(old.name));
            }
        }
        policy.onInsert(e);
        bytes.addAndGet(e.fileLength);
        count.incrementAndGet();
    }

    /** Removes the key's current version and its file; true if there was one. Hold the lock. */
    // Error Prone's @GuardedBy cannot name a striped lock; the assertion checks it (tests run with -ea)
    private boolean removeLocked(String key) {
        assert lockFor(key).isHeldByCurrentThread() : "caller holds the lock of " + key;
        if (recovering) {
            touched.add(key);
        }
        DiskEntry e = index.remove(key);
        if (e != null) {
            openFiles.invalidate(key);
            policy.onRemove(e);
            bytes.addAndGet(-e.fileLength);
            count.decrementAndGet();
            unlinkEntryFiles(e);
            return true;
        }
        if (recovering) {
            // the scan may not have reached it yet: its files must go too
            try {
                String name = EntryFormat.nameOf(key);
                fs.unlink(metaPathOf(name));
                return fs.unlink(pathOf(name));
            } catch (IOException ex) {
                faults.record("unlink", ex);
                dirty = true;
            }
        }
        return false;
    }

    /** Removes {@code e} if it is still the key's current version. */
    boolean removeIfCurrent(DiskEntry e) {
        ReentrantLock l = lockForName(e.name);
        l.lock();
        try {
            if (!index.remove(e.key, e)) {
                return false;
            }
            openFiles.invalidate(e.key);
            policy.onRemove(e);
            bytes.addAndGet(-e.fileLength);
            count.decrementAndGet();
            unlinkEntryFiles(e);
            return true;
        } finally {
            l.unlock();
        }
    }

    private void unlinkEntryFiles(DiskEntry e) {
        unlinkQuietly(pathOf(e.name));
        if (e.metaUpdates > 0) {
            unlinkQuietly(metaPathOf(e.name));
        }
    }

    private void unlinkQuietly(Path p) {
        try {
            fs.unlink(p);
        } catch (IOException ex) {
            faults.record("unlink", ex);
            dirty = true;
        }
    }


    // ---- lookups ------------------------------------------------------------------------------

    /**
     * Opens a handle on the key's current version, or returns null on a miss. Faults are counted
     * and turn into a miss; a corrupt file is removed.
     */
    @Override
    public @Nullable DiskHandle open(String key) {
        for (int attempt = 0; attempt < 3; attempt++) {
            DiskEntry e = index.get(key);
            if (e == null) {
                if (!recovering) {
                    return null;
                }
                e = probe(key);
                if (e == null) {
                    return null;
                }
            }
            DiskHandle h = openVersion(e);
            if (h != null) {
                policy.onAccess(e);
                return h;
            }
            if (index.get(key) == e) {
                return null;
            }
            // replaced while we opened it: look again
        }
        return null;
    }

    /**
     * Asynchronous form of {@link #open}: the caller's thread never waits on the disk. During
     * recovery a key not yet indexed is probed (blocking) on one of this store's virtual threads.
     */
    @Override
    public CompletableFuture<DiskHandle> openAsync(String key) {
        DiskEntry e = index.get(key);
        if (e == null) {
            if (!recovering) {
                return CompletableFuture.completedFuture(null);
            }
            return CompletableFuture.supplyAsync(() -> open(key), probes);
        }
        return openVersionAsync(e).thenCompose(h -> {
            if (h != null) {
                policy.onAccess(e);
                return CompletableFuture.completedFuture(h);
            }
            DiskEntry now = index.get(key);
            if (now == null || now == e) {
                return CompletableFuture.completedFuture(null);
            }
            // replaced while we opened it: the newer version, once
            return openVersionAsync(now).thenApply(h2 -> {
                if (h2 != null) {
                    policy.onAccess(now);
                }
                return h2;
            });
        });
    }

    /**
     * Opens a handle on exactly version {@code e}, or null when it is gone (replaced, deleted) or
     * failed its checks (then it is removed).
     */
    @Nullable DiskHandle openVersion(DiskEntry e) {
        OpenVersion cached = openFiles.acquire(e);
        if (cached != null) {
            return new DiskHandle(this, cached);
        }
        Path p = pathOf(e.name);
        IoFile f;
        try {
            f = io.open(p, OpenFlag.READ);
        } catch (IoException ex) {
            if (ex.errno() == Errno.ENOENT) {
                // deleted from outside the cache, or replaced/removed concurrently
                if (index.get(e.key) == e) {
                    faults.record("missing", "entry file vanished", ex);
                    removeIfCurrent(e);
                }
            } else {
                faults.record("open", ex);
            }
            return null;
        }
        try {
            long len = f.size();
            int n = (int) Math.min(len, PREFETCH);
            ByteBuffer buf = ByteBuffer.allocate(n);
            readFully(f, buf, 0);
            buf.flip();
            if (len != e.fileLength) {
                // a different version under the name: a newer one, or a torn one
                if (len >= EntryFormat.HEADER_FIXED && buf.remaining() >= EntryFormat.HEADER_FIXED) {
                    EntryFormat.Header h = readHeader(f, buf);
                    if (h.writeId() != e.writeId && h.key().equals(e.key)) {
                        f.close();
                        return null;
                    }
                }
                throw new EntryFormat.FormatException("file length " + len + " != " + e.fileLength);
            }
            EntryFormat.Header h = readHeader(f, buf);
            if (h.writeId() != e.writeId) {
                f.close();
                return null;
            }
            if (!h.key().equals(e.key) || h.fileLength() != len) {
                throw new EntryFormat.FormatException("header does not match the index");
            }
            if (len <= n) {
                // the whole file is in hand: check everything now, so a corrupt small entry is a
                // plain miss rather than a failed read later
                EntryFormat.decodeTrailer(buf.slice((int) h.trailerOffset(), EntryFormat.TRAILER_SIZE), h);
                verifyBlocks(buf, h);
            }
            int seen = e.metaUpdates;
            EntryMetadata md = seen > 0 ? readMeta(e) : null;
            return opened(new OpenVersion(e, f, h, len <= n ? buf : buf.slice(0, Math.min(n, h.headerLength())),
                    md != null ? md : h.metadata(), seen));
        } catch (EntryFormat.FormatException ex) {
            closeQuietly(f);
            corrupt(e, ex);
            return null;
        } catch (IOException ex) {
            closeQuietly(f);
            faults.record("read", ex);
            return null;
        }
    }

    /**
     * Asynchronous form of {@link #openVersion}: open and header reads go through kura-io's
     * asynchronous forms, so the caller's thread never waits on the disk. The length is checked
     * without {@code fstat} (which kura-io has only in blocking form): a small file is read whole
     * with one byte more, which must come back missing; for a larger one the trailer is read with
     * one byte more, and checked. Completes with null when the version is gone or failed its
     * checks (then it is removed); never exceptionally.
     */
    CompletableFuture<DiskHandle> openVersionAsync(DiskEntry e) {
        OpenVersion cached = openFiles.acquire(e);
        if (cached != null) {
            return CompletableFuture.completedFuture(new DiskHandle(this, cached));
        }
        Path p = pathOf(e.name);
        return io.openAsync(p, OpenFlag.READ).handle((f, ex) -> {
            if (ex != null) {
                openFailed(e, unwrap(ex));
                return CompletableFuture.<DiskHandle>completedFuture(null);
            }
            return readHandleAsync(e, f);
        }).thenCompose(x -> x);
    }

    private void openFailed(DiskEntry e, Throwable ex) {
        if (ex instanceof IoException io && io.errno() == Errno.ENOENT) {
            // deleted from outside the cache, or replaced/removed concurrently
            if (index.get(e.key) == e) {
                faults.record("missing", "entry file vanished", ex);
                removeIfCurrent(e);
            }
        } else {
            faults.record("open", ex);
        }
    }

    static Throwable unwrap(Throwable ex) {
        return ex instanceof java.util.concurrent.CompletionException && ex.getCause() != null ? ex.getCause() : ex;
    }

    private CompletableFuture<DiskHandle> readHandleAsync(DiskEntry e, IoFile f) {
        boolean small = e.fileLength < PREFETCH;
        ByteBuffer buf = ByteBuffer.allocate((int) (small ? e.fileLength + 1 : PREFETCH));
        return f.readFullyAsync(java.lang.foreign.MemorySegment.ofBuffer(buf), 0)
                .thenCompose(got -> {
                    buf.limit((int) (long) got);
                    int hl;
                    try {
                        hl = EntryFormat.claimedHeaderLength(buf);
                    } catch (EntryFormat.FormatException fe) {
                        return CompletableFuture.failedFuture(fe);
                    }
                    if (hl < 0) {
                        return CompletableFuture.failedFuture(new EntryFormat.FormatException("short file"));
                    }
                    if (hl <= buf.limit()) {
                        return CompletableFuture.completedFuture(buf);
                    }
                    ByteBuffer hb = ByteBuffer.allocate(hl);
                    return f.readFullyAsync(java.lang.foreign.MemorySegment.ofBuffer(hb), 0).thenApply(n -> hb.limit((int) (long) n));
                })
                .thenCompose(hb -> {
                    EntryFormat.Header h;
                    try {
                        h = EntryFormat.decodeHeader(hb);
                    } catch (EntryFormat.FormatException fe) {
                        return CompletableFuture.failedFuture(fe);
                    }
                    if (h.writeId() != e.writeId) {
                        closeQuietly(f);
                        return CompletableFuture.<DiskHandle>completedFuture(null); // replaced meanwhile
                    }
                    if (!h.key().equals(e.key) || h.fileLength() != e.fileLength) {
                        return CompletableFuture.failedFuture(new EntryFormat.FormatException("header does not match the index"));
                    }
                    if (small) {
                        try {
                            if (buf.limit() != e.fileLength) {
                                throw new EntryFormat.FormatException("file length " + buf.limit() + " != " + e.fileLength);
                            }
                            EntryFormat.decodeTrailer(buf.slice((int) h.trailerOffset(), EntryFormat.TRAILER_SIZE), h);
                            verifyBlocks(buf, h);
                        } catch (EntryFormat.FormatException fe) {
                            return CompletableFuture.failedFuture(fe);
                        }
                        return withMetaAsync(e, f, h, buf);
                    }
                    ByteBuffer t = ByteBuffer.allocate(EntryFormat.TRAILER_SIZE + 1);
                    return f.readFullyAsync(java.lang.foreign.MemorySegment.ofBuffer(t), h.trailerOffset()).thenCompose(n -> {
                        try {
                            if (n != EntryFormat.TRAILER_SIZE) {
                                throw new EntryFormat.FormatException("file length does not match its header");
                            }
                            EntryFormat.decodeTrailer(t.limit(EntryFormat.TRAILER_SIZE), h);
                        } catch (EntryFormat.FormatException fe) {
                            return CompletableFuture.failedFuture(fe);
                        }
                        return withMetaAsync(e, f, h, buf.slice(0, Math.min(buf.limit(), h.headerLength())));
                    });
                })
                .handle((h, ex) -> {
                    if (ex == null) {
                        return h;
                    }
                    closeQuietly(f);
                    Throwable c = unwrap(ex);
                    if (c instanceof EntryFormat.FormatException fe) {
                        corrupt(e, fe);
                    } else {
                        faults.record("read", c);
                    }
                    return null;
                });
    }

    private CompletableFuture<DiskHandle> withMetaAsync(DiskEntry e, IoFile f, EntryFormat.Header h, ByteBuffer prefetch) {
        int seen = e.metaUpdates;
        if (seen == 0) {
            return CompletableFuture.completedFuture(opened(new OpenVersion(e, f, h, prefetch, h.metadata(), 0)));
        }
        return readMetaAsync(e).thenApply(md -> opened(new OpenVersion(e, f, h, prefetch,
                md != null ? md : h.metadata(), seen)));
    }

    /** A handle on a version just opened, which is offered to the open-file cache too. */
    private DiskHandle opened(OpenVersion v) {
        openFiles.offer(v, index);
        return new DiskHandle(this, v);
    }

    // ---- metadata records (revalidation without rewriting) -----------------------------------

    /**
     * The metadata in the record beside {@code e}'s file, or null when it is missing, torn or
     * belongs to another version: the header's older metadata is then used, which at worst makes
     * the entry look expired (one extra revalidation). Faults are counted, never thrown.
     */
    @Nullable EntryMetadata readMeta(DiskEntry e) {
        Path p = metaPathOf(e.name);
        try (IoFile f = io.open(p, OpenFlag.READ)) {
            ByteBuffer b = ByteBuffer.allocate(META_PREFETCH);
            readFully(f, b, 0);
            b.flip();
            int len = EntryFormat.claimedMetaLength(b);
            if (len >= META_PREFETCH) {
                b = ByteBuffer.allocate(len + 1);
                readFully(f, b, 0);
                b.flip();
            }
            return metaOf(e, b);
        } catch (EntryFormat.FormatException ex) {
            faults.record("corrupt", "metadata record of " + e.key + " ignored", ex);
            return null;
        } catch (IoException ex) {
            if (ex.errno() != Errno.ENOENT) {
                faults.record("read", ex);
            }
            return null;
        } catch (IOException ex) {
            faults.record("read", ex);
            return null;
        }
    }

    /** Asynchronous form of {@link #readMeta}; never completes exceptionally. */
    CompletableFuture<EntryMetadata> readMetaAsync(DiskEntry e) {
        Path p = metaPathOf(e.name);
        return io.openAsync(p, OpenFlag.READ).thenCompose(f -> {
            ByteBuffer b = ByteBuffer.allocate(META_PREFETCH);
            return f.readFullyAsync(java.lang.foreign.MemorySegment.ofBuffer(b), 0).thenCompose(n -> {
                b.limit((int) (long) n);
                int len;
                try {
                    len = EntryFormat.claimedMetaLength(b);
                } catch (EntryFormat.FormatException fe) {
                    return CompletableFuture.failedFuture(fe);
                }
                if (len < META_PREFETCH) {
                    return CompletableFuture.completedFuture(b);
                }
                ByteBuffer all = ByteBuffer.allocate(len + 1);
                return f.readFullyAsync(java.lang.foreign.MemorySegment.ofBuffer(all), 0)
                        .thenApply(m -> all.limit((int) (long) m));
            }).thenApply(buf -> {
                try {
                    return metaOf(e, buf);
                } catch (EntryFormat.FormatException fe) {
                    throw new java.util.concurrent.CompletionException(fe);
                }
            }).whenComplete((x, ex) -> closeQuietly(f));
        }).handle((md, ex) -> {
            if (ex == null) {
                return md;
            }
            Throwable c = unwrap(ex);
            if (c instanceof EntryFormat.FormatException fe) {
                faults.record("corrupt", "metadata record of " + e.key + " ignored", fe);
            } else if (!(c instanceof IoException io && io.errno() == Errno.ENOENT)) {
                faults.record("read", c);
            }
            return null;
        });
    }

    private static @Nullable EntryMetadata metaOf(DiskEntry e, ByteBuffer whole) throws EntryFormat.FormatException {
        EntryFormat.MetaRecord r = EntryFormat.decodeMetaRecord(whole, e.objectSize);
        if (r.writeId() != e.writeId || !r.key().equals(e.key)) {
            return null; // another version's record, about to be removed
        }
        return r.metadata();
    }

    /**
     * Replaces the metadata of version {@code writeId} of {@code key} (after a 304): writes a
     * metadata record to a temporary file (fdatasync under {@code FSYNC}), then under the key's
     * lock renames it to {@code <name>.meta} if that version is still current. The object's bytes
     * are not touched: the cost is one small file, O(metadata).
     *
     * <p>Crash safety: rename(2) is atomic, so after a crash the record under the name is the old
     * one (or none) or the new one, never a mix; under {@code durability = none} a power loss can
     * leave it torn or empty, which its CRC32C catches, and then the header's older metadata is
     * used: at most one extra revalidation.
     *
     * @return false when the version is no longer current or the disk failed (counted)
     */
    boolean updateMetadata(String key, long writeId, EntryMetadata md) {
        ByteBuffer rec;
        try {
            rec = EntryFormat.encodeMetaRecord(key, writeId, md);
        } catch (IllegalArgumentException ex) {
            return false; // metadata too large to store
        }
        Path tmp = tmpDir.resolve(".tmp-meta-" + Long.toHexString(ThreadLocalRandom.current().nextLong())
                + Long.toHexString(System.nanoTime()));
        try (IoFile f = io.open(tmp, OpenFlag.WRITE, OpenFlag.CREATE_NEW)) {
            writeFully(f, rec, 0);
            if (config.durability() == CacheConfig.Durability.FSYNC) {
                f.fdatasync();
            }
        } catch (IOException ex) {
            faults.record("write", ex);
            unlinkQuietly(tmp);
            return false;
        }
        String name = EntryFormat.nameOf(key);
        ReentrantLock l = lockForName(name);
        l.lock();
        try {
            DiskEntry e = index.get(key);
            if (e == null || e.writeId != writeId) {
                unlinkQuietly(tmp);
                return false;
            }
            fs.rename(tmp, metaPathOf(name));
            e.metaUpdates++;
        } catch (IOException ex) {
            faults.record("rename", ex);
            unlinkQuietly(tmp);
            return false;
        } finally {
            l.unlock();
        }
        if (config.durability() == CacheConfig.Durability.FSYNC) {
            try {
                fs.fsyncDir(Objects.requireNonNull(metaPathOf(name).getParent()));
            } catch (IOException ex) {
                faults.record("fsync", ex);
            }
        }
        return true;
    }

    /**
     * Recovery: takes the metadata record beside {@code e} into account, or removes it when it is
     * torn or belongs to another version. The caller holds the name's lock.
     */
    // Error Prone's @GuardedBy cannot name a striped lock; the assertion checks it (tests run with -ea)
    private void adoptMetaLocked(DiskEntry e, Path metaPath) {
        assert lockForName(e.name).isHeldByCurrentThread() : "caller holds the lock of " + e.name;
        if (e.metaUpdates > 0) {
            return;
        }
        try (IoFile f = io.open(metaPath, OpenFlag.READ)) {
            ByteBuffer b = ByteBuffer.allocate(EntryFormat.META_FIXED + EntryFormat.MAX_KEY_BYTES
                    + EntryFormat.MAX_META_BYTES + EntryFormat.CRC_SIZE + 1);
            readFully(f, b, 0);
            b.flip();
            if (metaOf(e, b) != null) {
                e.metaUpdates = 1;
                return;
            }
        } catch (EntryFormat.FormatException ex) {
            faults.record("corrupt", "recovery dropped " + metaPath, ex);
        } catch (IoException ex) {
            if (ex.errno() == Errno.ENOENT) {
                return;
            }
            faults.record("recovery", ex);
            return;
        } catch (IOException ex) {
            faults.record("recovery", ex);
            return;
        }
        unlinkQuietly(metaPath);
    }

    /** Recovery scan: a metadata record found in a fan-out directory (after its entries). */
    private void adoptMeta(Path metaPath, String name) {
        ReentrantLock l = lockForName(name);
        l.lock();
        try {
            DiskEntry owner = ownerOf(name);
            if (owner != null) {
                adoptMetaLocked(owner, metaPath);
            } else {
                unlinkQuietly(metaPath);
            }
        } finally {
            l.unlock();
        }
    }

    /** The indexed entry whose file is {@code name}, if any (names are hashes: read the record's key). */
    private @Nullable DiskEntry ownerOf(String name) {
        // the record names its key; the index is keyed by key
        Path p = metaPathOf(name);
        try (IoFile f = io.open(p, OpenFlag.READ)) {
            ByteBuffer b = ByteBuffer.allocate(EntryFormat.META_FIXED + EntryFormat.MAX_KEY_BYTES);
            readFully(f, b, 0);
            b.flip();
            if (EntryFormat.claimedMetaLength(b) < 0) {
                return null;
            }
            int kl = b.getInt(24);
            if (kl < 0 || kl > EntryFormat.MAX_KEY_BYTES || EntryFormat.META_FIXED + kl > b.limit()) {
                return null;
            }
            String key = java.nio.charset.StandardCharsets.UTF_8.decode(b.slice(EntryFormat.META_FIXED, kl)).toString();
            DiskEntry e = index.get(key);
            return e != null && e.name.equals(name) ? e : null;
        } catch (IOException | EntryFormat.FormatException ex) {
            return null;
        }
    }

    private static void verifyBlocks(ByteBuffer whole, EntryFormat.Header h) throws EntryFormat.FormatException {
        long blocks = h.blockCount();
        for (long i = 0; i < blocks; i++) {
            int off = (int) EntryFormat.blockOffset(h.headerLength(), h.blockSize(), i);
            int blen = (int) Math.min(h.blockSize(), h.objectSize() - i * h.blockSize());
            if (EntryFormat.crc(whole, off, blen) != whole.getInt(off + blen)) {
                throw new EntryFormat.FormatException("CRC32C mismatch in block " + i);
            }
        }
    }

    /** Counts and removes a version that failed its checks. */
    void corrupt(DiskEntry e, Exception why) {
        faults.record("corrupt", "entry " + e.key + " removed", why);
        removeIfCurrent(e);
    }

    private static EntryFormat.Header readHeader(IoFile f, ByteBuffer first) throws IOException, EntryFormat.FormatException {
        int hl = EntryFormat.claimedHeaderLength(first);
        if (hl < 0) {
            throw new EntryFormat.FormatException("short file");
        }
        if (hl <= first.remaining()) {
            return EntryFormat.decodeHeader(first);
        }
        ByteBuffer b = ByteBuffer.allocate(hl);
        readFully(f, b, 0);
        b.flip();
        return EntryFormat.decodeHeader(b);
    }

    static void readFully(IoFile f, ByteBuffer b, long pos) throws IOException {
        long p = pos;
        while (b.hasRemaining()) {
            int n = f.read(b, p);
            if (n <= 0) {
                break;
            }
            p += n;
        }
    }

    static void writeFully(IoFile f, ByteBuffer b, long pos) throws IOException {
        long p = pos;
        while (b.hasRemaining()) {
            int n = f.write(b, p);
            if (n <= 0) {
                throw new IoException(Errno.EIO.value(), f.path(), "write", "write made no progress", null);
            }
            p += n;
        }
    }

    /**
     * Reads and checks the header and trailer of a committed file; returns its index entry, or
     * null when the file does not exist. Throws FormatException for anything not a committed entry.
     */
    @Nullable DiskEntry inspect(Path p, String expectName) throws IOException, EntryFormat.FormatException {
        IoFile f;
        try {
            f = io.open(p, OpenFlag.READ);
        } catch (IoException ex) {
            if (ex.errno() == Errno.ENOENT) {
                return null;
            }
            throw ex;
        }
        try {
            // no fstat: the reads themselves establish the length (a read that does not fill its
            // buffer hit end of file), which saves a syscall per file when scanning a million;
            // one byte more than a page so that a file of exactly 4096 bytes is seen whole
            ByteBuffer buf = ByteBuffer.allocate(4097);
            readFully(f, buf, 0);
            buf.flip();
            boolean whole = buf.limit() < buf.capacity();
            EntryFormat.Header h = readHeader(f, buf);
            long len = h.fileLength();
            ByteBuffer t;
            if (whole) {
                if (buf.limit() != len) {
                    throw new EntryFormat.FormatException("file length " + buf.limit() + ", header says " + len);
                }
                t = buf.slice((int) h.trailerOffset(), EntryFormat.TRAILER_SIZE);
            } else {
                if (len < buf.capacity()) {
                    throw new EntryFormat.FormatException("file longer than its header says");
                }
                ByteBuffer tt = ByteBuffer.allocate(EntryFormat.TRAILER_SIZE + 1);
                readFully(f, tt, h.trailerOffset());
                if (tt.position() != EntryFormat.TRAILER_SIZE) {
                    throw new EntryFormat.FormatException("file length does not match its header");
                }
                t = tt.flip();
            }
            EntryFormat.decodeTrailer(t, h);
            String name = EntryFormat.nameOf(h.key());
            if (expectName != null && !name.equals(expectName)) {
                throw new EntryFormat.FormatException("file name does not match its key");
            }
            return new DiskEntry(h.key(), name, len, h.objectSize(), h.writeId(), false);
        } finally {
            closeQuietly(f);
        }
    }

    /** During recovery: looks for the key's file on disk before the scan gets there. */
    private @Nullable DiskEntry probe(String key) {
        String name = EntryFormat.nameOf(key);
        ReentrantLock l = lockForName(name);
        l.lock();
        try {
            DiskEntry cur = index.get(key);
            if (cur != null || touched.contains(key)) {
                return cur;
            }
            Path p = pathOf(name);
            DiskEntry e;
            try {
                e = inspect(p, name);
            } catch (EntryFormat.FormatException ex) {
                faults.record("corrupt", "recovery dropped " + p, ex);
                unlinkQuietly(p);
                touched.add(key);
                return null;
            } catch (IOException ex) {
                faults.record("probe", ex);
                return null;
            }
            touched.add(key);
            if (e == null || !e.key.equals(key) || isPurged(key)) {
                return null;
            }
            adoptMetaLocked(e, metaPathOf(name));
            insertLocked(e);
            recoveredEntries.incrementAndGet();
            return e;
        } finally {
            l.unlock();
        }
    }

    private boolean isPurged(String key) {
        for (String p : purgedPrefixes) {
            if (key.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    // ---- writes -------------------------------------------------------------------------------

    /** Starts writing a new version; the caller must seal+publish or abort it. */
    DiskWriter begin(String key, EntryMetadata md, long writeId) throws IOException {
        ByteBuffer header = EntryFormat.encodeHeader(key, md, blockSize, writeId);
        long fileLength = EntryFormat.fileLength(header.remaining(), md.size(), blockSize);
        reserved.addAndGet(fileLength);
        try {
            evictIfNeeded();
            Path tmp = tmpDir.resolve(".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong())
                    + Long.toHexString(System.nanoTime()));
            IoFile f = io.open(tmp, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE_NEW);
            return new DiskWriter(this, key, md, writeId, tmp, f, header, fileLength);
        } catch (IOException | RuntimeException ex) {
            reserved.addAndGet(-fileLength);
            throw ex;
        }
    }

    void unreserve(long n) {
        reserved.addAndGet(-n);
    }

    /**
     * Renames a sealed writer's file into place and indexes it. The caller holds the key's lock.
     *
     * @return the new version's entry
     */
    // Error Prone's @GuardedBy cannot name a striped lock; the assertion checks it (tests run with -ea)
    private DiskEntry publishLocked(DiskWriter w) throws IOException {
        assert lockFor(w.key).isHeldByCurrentThread() : "caller holds the lock of " + w.key;
        String name = EntryFormat.nameOf(w.key);
        Path target = pathOf(name);
        fs.rename(w.tmp, target);
        if (recovering) {
            touched.add(w.key);
        }
        DiskEntry e = new DiskEntry(w.key, name, w.fileLength, w.md.size(), w.writeId, false);
        insertLocked(e);
        return e;
    }

    /** After a publish under {@code FSYNC}: makes the rename durable. */
    private void syncDirOf(DiskEntry e) {
        if (config.durability() == CacheConfig.Durability.FSYNC) {
            try {
                fs.fsyncDir(Objects.requireNonNull(pathOf(e.name).getParent()));
            } catch (IOException ex) {
                faults.record("fsync", ex);
            }
        }
    }

    // ---- eviction -----------------------------------------------------------------------------

    /** Evicts until bytes (plus space reserved by writers) and entries are within bounds. */
    void evictIfNeeded() {
        if (!overLimit()) {
            return;
        }
        evictLock.lock();
        try {
            int idle = 0;
            while (overLimit() && idle < 1000) {
                DiskEntry v = policy.victim();
                if (v == null) {
                    break;
                }
                if (removeIfCurrent(v)) {
                    evictions.increment();
                    idle = 0;
                } else {
                    idle++;
                    ReentrantLock l = lockForName(v.name);
                    l.lock();
                    try {
                        if (index.get(v.key) != v) {
                            policy.onRemove(v);
                        }
                    } finally {
                        l.unlock();
                    }
                }
            }
        } finally {
            evictLock.unlock();
        }
    }

    private boolean overLimit() {
        return bytes.get() + reserved.get() > config.maxSize()
                || (config.maxEntries() > 0 && count.get() > config.maxEntries());
    }

    // ---- purge --------------------------------------------------------------------------------

    /** Removes every key starting with {@code prefix}; returns the keys removed. */
    List<String> purge(String prefix) {
        if (recovering) {
            purgedPrefixes.add(prefix);
        }
        List<String> removed = new ArrayList<>();
        for (String k : index.keySet()) {
            if (k.startsWith(prefix)) {
                ReentrantLock l = lockFor(k);
                l.lock();
                try {
                    if (removeLocked(k)) {
                        removed.add(k);
                    }
                } finally {
                    l.unlock();
                }
            }
        }
        return removed;
    }

    // ---- recovery -----------------------------------------------------------------------------

    /** Loads the snapshot if there is a valid one (deleting it durably), then starts recovery. */
    void startRecovery() {
        List<DiskEntry> snap = null;
        Path sp = root.resolve(SNAPSHOT);
        try {
            snap = Snapshot.read(io, sp);
        } catch (IOException | EntryFormat.FormatException ex) {
            faults.record("snapshot", "ignored, scanning instead", ex);
        }
        try {
            if (fs.unlink(sp)) {
                fs.fsyncDir(root);
            }
        } catch (IOException ex) {
            // a stale snapshot could come back after a crash: do not trust it next time either
            faults.record("snapshot", ex);
            snap = null;
        }
        List<DiskEntry> fromSnapshot = snap;
        long t0 = System.nanoTime();
        // before anything is written: temporary files of this process must not be taken for leftovers
        cleanTmp();
        Thread t = Thread.ofPlatform().name("kura-cache-recovery").daemon(true).unstarted(() -> {
            try {
                if (fromSnapshot != null) {
                    for (DiskEntry e : fromSnapshot) {
                        if (stopRecovery) {
                            return;
                        }
                        register(e, false); // the snapshot's flag says whether it has a record
                    }
                } else {
                    scan();
                }
                if (!stopRecovery) {
                    recoveryNanos = System.nanoTime() - t0;
                    recovering = false;
                    touched.clear();
                    purgedPrefixes.clear();
                    LOG.info("cache recovery: {} entries, {} bytes in {} ms ({})", count.get(), bytes.get(),
                            recoveryNanos / 1_000_000, fromSnapshot != null ? "snapshot" : "scan");
                    evictIfNeeded();
                }
            } catch (RuntimeException ex) {
                LOG.error("cache recovery failed; the cache serves what it has", ex);
                dirty = true;
            }
        });
        recoveryThread = t;
        t.start();
    }

    private void cleanTmp() {
        try {
            for (String n : fs.list(tmpDir)) {
                unlinkQuietly(tmpDir.resolve(n));
            }
        } catch (IOException ex) {
            faults.record("recovery", ex);
        }
    }

    private void scan() {
        int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
        try (ExecutorService pool = Executors.newFixedThreadPool(threads,
                Thread.ofPlatform().name("kura-cache-scan-", 0).daemon(true).factory())) {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 256; i++) {
                Path dir = root.resolve(fanout(i));
                fs.add(pool.submit(() -> scanDir(dir)));
            }
            for (Future<?> f : fs) {
                try {
                    f.get();
                } catch (Exception ex) {
                    LOG.warn("cache recovery: scan task failed", ex);
                    dirty = true;
                }
            }
        }
    }

    private void scanDir(Path dir) {
        List<String> names;
        try {
            names = fs.list(dir);
        } catch (IOException ex) {
            faults.record("recovery", ex);
            dirty = true;
            return;
        }
        String prefix = dir.getFileName().toString();
        // metadata records of this directory: attached to their entry as it is indexed (so that
        // no lookup sees the entry with its header's older metadata), the rest checked after
        Set<String> metas = new java.util.HashSet<>();
        for (String n : names) {
            if (n.length() == 32 + EntryFormat.META_SUFFIX.length() && n.endsWith(EntryFormat.META_SUFFIX)
                    && n.startsWith(prefix) && isHex(n.substring(0, 32))) {
                metas.add(n);
            }
        }
        for (String n : names) {
            if (stopRecovery) {
                return;
            }
            Path p = dir.resolve(n);
            if (metas.contains(n)) {
                continue;
            }
            if (n.length() != 32 || !n.startsWith(prefix) || !isHex(n)) {
                unlinkQuietly(p);
                continue;
            }
            try {
                DiskEntry e = inspect(p, n);
                if (e != null) {
                    register(e, metas.contains(n + EntryFormat.META_SUFFIX));
                }
            } catch (EntryFormat.FormatException ex) {
                // torn, short, zero-length or corrupt: never served
                dropUnlessTouched(p, n, ex, metas.contains(n + EntryFormat.META_SUFFIX));
            } catch (IOException ex) {
                faults.record("recovery", ex);
                dirty = true;
            }
        }
        for (String m : metas) {
            if (stopRecovery) {
                return;
            }
            adoptMeta(dir.resolve(m), m.substring(0, 32));
        }
    }

    private static boolean isHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    /**
     * A bad file is deleted, but under its name's lock and after a second look: a live writer may
     * have renamed a new, valid version over it since the first look.
     */
    private void dropUnlessTouched(Path p, String name, Exception why, boolean hasMeta) {
        ReentrantLock l = lockForName(name);
        l.lock();
        try {
            DiskEntry again = inspect(p, name);
            if (again != null) {
                registerLocked(again, hasMeta);
            }
        } catch (EntryFormat.FormatException ex) {
            faults.record("corrupt", "recovery dropped " + p, why);
            unlinkQuietly(p);
        } catch (IOException ex) {
            faults.record("recovery", ex);
            dirty = true;
        } finally {
            l.unlock();
        }
    }

    /** @param metaListed the scan saw a metadata record beside the entry (read and attached first) */
    private void register(DiskEntry e, boolean metaListed) {
        ReentrantLock l = lockForName(e.name);
        l.lock();
        try {
            registerLocked(e, metaListed);
        } finally {
            l.unlock();
        }
    }

    // Error Prone's @GuardedBy cannot name a striped lock; the assertion checks it (tests run with -ea)
    private void registerLocked(DiskEntry e, boolean metaListed) {
        assert lockForName(e.name).isHeldByCurrentThread() : "caller holds the lock of " + e.name;
        if (touched.contains(e.key) || index.containsKey(e.key)) {
            return;
        }
        if (isPurged(e.key)) {
            unlinkEntryFiles(e);
            unlinkQuietly(metaPathOf(e.name));
            return;
        }
        if (metaListed) {
            adoptMetaLocked(e, metaPathOf(e.name));
        }
        insertLocked(e);
        recoveredEntries.incrementAndGet();
    }

    // ---- close --------------------------------------------------------------------------------

    @Override
    public void close() {
        probes.shutdown();
        openFiles.invalidateAll();
        stopRecovery = recovering;
        Thread t = recoveryThread;
        if (t != null) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
        if (!recovering && !dirty) {
            try {
                Snapshot.write(io, fs, root, root.resolve(SNAPSHOT), policy, index);
            } catch (IOException ex) {
                faults.record("snapshot", ex);
            }
        }
        closeQuietly(dirLock);
    }

    static void closeQuietly(@Nullable AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // closing a read-only descriptor or a lock cannot lose data
        }
    }
}
