package dev.kura.cache.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheStats;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.cache.FillFailedException;
import dev.kura.cache.PendingEntry;
import dev.kura.cache.Tier;
import dev.kura.io.FileIo;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@link Cache}: a {@link MemoryTier} (Caffeine, W-TinyLFU) in front of the {@link DiskStore},
 * both behind {@link CacheTier}, with single-flight fills that followers can stream.
 *
 * <h2>Tiers</h2>
 * A lookup tries memory, then disk. The blocking {@link #lookup} reads a small disk hit whole
 * (checking every block's CRC) and offers it to the memory tier (promotion) before returning;
 * {@link #lookupAsync} returns the disk handle at once and promotes after the handle is closed,
 * off the caller's thread. A writer feeds both tiers at once; each tier may refuse (too big, disk
 * failing) without stopping the other, and the commit publishes to whichever took it. A 304 is a
 * metadata update: a small record beside the disk entry, and a new value in the memory tier.
 *
 * <h2>Consistency between tiers</h2>
 * The disk tier owns the per-key lock: every change of a key's version (publish, delete,
 * expiry, metadata update) happens inside a {@link DiskStore} method that takes it, and the memory
 * tier changes only in a callback run under it ({@link DiskStore#publish}, {@code remove},
 * {@code removeVersion}, {@code ifCurrent}, {@code atomically}). A promotion lands only if the disk
 * version it read, and that version's metadata, are still current ({@link DiskStore#ifCurrent}).
 * So the memory tier never holds a version older than the disk tier's, and a version replaced on
 * disk is never resurrected from memory. Versions are compared by write id
 * ({@link VersionedEntry#version()}), the same in both tiers' copies.
 *
 * <h2>Single flight</h2>
 * {@link #fill} registers one {@code FillState} per key; later callers become followers: they
 * stream the fill as it grows ({@link Fill.Follower#pending()}, see {@link FillProgress}) or get a
 * future of the committed version (each their own handle, opened asynchronously), or empty / a
 * {@link FillFailedException} if the leader gives up.
 *
 * <p>Thread-safety: safe for concurrent use from platform and virtual threads.
 */
public final class TieredCache implements Cache {
    private final CacheConfig config;
    private final DiskStore disk;
    private final Faults faults;
    private final MemoryTier memory;
    private final ConcurrentHashMap<String, FillState> fills = new ConcurrentHashMap<>();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder memoryHits = new LongAdder();
    private final LongAdder diskHits = new LongAdder();
    private final LongAdder expirations = new LongAdder();
    private final AtomicInteger activeWriters = new AtomicInteger();
    /**
     * Bound on promotions after serving that run at once. Why: each holds an entry-sized buffer,
     * and with one virtual thread per closed disk hit and no bound, 4 MiB entries under 256
     * connections took the process to 3.7 GiB RSS (bench/serve.sh Zipf row, 2026-12-02); a
     * promotion is an optimisation, so past the bound a hit is simply not promoted (counted in
     * {@link #promotionsSkipped}).
     */
    static final int PROMOTIONS_IN_FLIGHT = 4;
    private final Semaphore promotions = new Semaphore(PROMOTIONS_IN_FLIGHT);
    private final LongAdder promotionsSkipped = new LongAdder();

    /**
     * Virtual threads for the blocking work that asynchronous callers must not do: probes of keys
     * recovery has not reached, and promotions (reads of whole entries, and landing them, which takes a key's lock).
     */
    private final ExecutorService blockingPool =
            Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("kura-cache-", 0).factory());
    private volatile boolean closed;

    private TieredCache(CacheConfig config, DiskStore disk, Faults faults) {
        this.config = config;
        this.disk = disk;
        this.faults = faults;
        this.memory = new MemoryTier(config.memoryMaxSize(), config.memoryMaxItemSize());
    }

    /** Opens a cache with kura's choices: NIO directory operations, SIEVE eviction, 64 KiB blocks. */
    public static Cache open(CacheConfig config, FileIo io) throws IOException {
        return open(config, io, NioFs.INSTANCE, EvictionKind.SIEVE, EntryFormat.DEFAULT_BLOCK_SIZE);
    }

    /**
     * Opens a cache with explicit parts (tests inject faulty {@link Fs} and {@link FileIo} wrappers,
     * compare eviction policies, use small blocks).
     *
     * @param policy the disk tier's eviction policy
     * @param blockSize bytes per checksummed block, 512..16 MiB
     */
    public static TieredCache open(CacheConfig config, FileIo io, Fs fs, EvictionKind policy, int blockSize) throws IOException {
        Faults faults = new Faults();
        // every blocking file operation passes BlockingCheck (see there)
        DiskStore disk = new DiskStore(config, CheckedFileIo.wrap(io), CheckedFs.wrap(fs), faults, policy, blockSize);
        TieredCache c = new TieredCache(config, disk, faults);
        disk.startRecovery();
        return c;
    }

    /** The disk tier (for tests of its internals). */
    DiskStore diskStore() {
        return disk;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("cache is closed");
        }
    }

    // ---- lookups ------------------------------------------------------------------------------

    @Override
    public Optional<CacheEntry> lookup(String key) {
        checkOpen();
        CacheEntry e = find(key);
        if (e == null) {
            misses.increment();
            return Optional.empty();
        }
        countHit(e);
        return Optional.of(e);
    }

    @Override
    public CompletableFuture<Optional<CacheEntry>> lookupAsync(String key) {
        checkOpen();
        MemoryEntry m = memory.open(key);
        if (m != null) {
            countHit(m);
            return CompletableFuture.completedFuture(Optional.of(m));
        }
        return disk.openAsync(key).thenApply(h -> {
            if (h == null) {
                misses.increment();
                return Optional.<CacheEntry>empty();
            }
            countHit(h);
            promoteAfterServing(key, h);
            return Optional.<CacheEntry>of(h);
        });
    }

    /**
     * Promotion without blocking anyone: when the handle is closed (the response is served), a
     * virtual thread of {@link #blockingPool} reads the entry whole (every block's CRC checked) and
     * offers it to the memory tier, if the version and its metadata are still current.
     *
     * <p>Why a blocking read on a virtual thread and not the ring's asynchronous reads: a promotion
     * read on the ring ran its CRC checks and follow-up reads in the ring thread's completion
     * callbacks, where they delayed the completions of the reads that responses were waiting for.
     * With 4 MiB entries churning through a 16 MiB memory tier (30 objects, 32 connections, 2-core
     * machine, 2026-12-02) the ring form served 24-114 req/s with 23-33 wrk timeouts per 12 s,
     * this form 156-194 req/s with 1-9; without promotion 355-372 (docs/CONFIG.md,
     * {@code memory.max-item-size}).
     */
    private void promoteAfterServing(String key, DiskHandle h) {
        if (!memory.takes(h.metadata().size())) {
            return;
        }
        h.onClose(x -> {
            // Best effort: past PROMOTIONS_IN_FLIGHT the hit is not promoted (a later one may be).
            if (!promotions.tryAcquire()) {
                x.closeFile();
                promotionsSkipped.increment();
                return;
            }
            try {
                blockingPool.execute(() -> {
                    try {
                        promoteClosed(key, x);
                    } finally {
                        promotions.release();
                    }
                });
            } catch (RejectedExecutionException closing) {
                promotions.release();
                x.closeFile();
            }
        });
    }

    /** {@link #promote} of the closed handle {@code x}, which is then given its file back. Blocking. */
    private void promoteClosed(String key, DiskHandle x) {
        try {
            promote(key, x).data().release(); // the tier holds its own reference
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            // best effort; read faults and corrupt blocks are counted where they happen
        } finally {
            x.closeFile();
        }
    }

    @Override
    public Optional<CacheEntry> get(String key) {
        checkOpen();
        VersionedEntry e = find(key);
        if (e == null) {
            misses.increment();
            return Optional.empty();
        }
        if (e.metadata().isExpired(Instant.now())) {
            long id = e.version();
            e.close();
            expire(key, id);
            misses.increment();
            return Optional.empty();
        }
        countHit(e);
        return Optional.of(e);
    }

    private void countHit(CacheEntry e) {
        hits.increment();
        if (e.tier() == Tier.MEMORY) {
            memoryHits.increment();
        } else {
            diskHits.increment();
        }
    }

    /** Removes the key's version {@code writeId} from both tiers, if still current. */
    private void expire(String key, long writeId) {
        boolean[] fromMemory = new boolean[1];
        boolean fromDisk = disk.removeVersion(key, writeId, () -> fromMemory[0] = memory.removeVersion(key, writeId));
        if (fromDisk || fromMemory[0]) {
            expirations.increment();
        }
    }

    /** Finds the key in memory, then on disk; faults are misses. Blocking (see {@link Cache#lookup}). */
    private @Nullable VersionedEntry find(String key) {
        MemoryEntry m = memory.open(key);
        if (m != null) {
            return m;
        }
        DiskHandle h = disk.open(key);
        if (h == null) {
            return null;
        }
        if (!memory.takes(h.metadata().size())) {
            return h;
        }
        try (h) {
            MemoryEntry.Value v = promote(key, h);
            try {
                return MemoryEntry.open(v, Tier.DISK);
            } finally {
                v.data().release(); // the tier and the handle hold their own references
            }
        } catch (IOException ex) {
            // counted where it happened (read fault or corrupt block, the entry is then removed)
            return null;
        }
    }

    /**
     * Promotion: reads {@code h} whole (every block's CRC checked) into new native memory and
     * offers it to the memory tier if {@code h}'s version is still current and the cache open.
     * Returns the value with one reference on its bytes, the caller's, to release. Blocking.
     *
     * @throws IOException when a block cannot be read or fails its check, or the entry is shorter
     *     than its size
     */
    private MemoryEntry.Value promote(String key, DiskHandle h) throws IOException {
        long size = h.metadata().size();
        NativeBytes data = NativeBytes.allocate(size);
        try {
            if (h.readBlocking(0, data.writable()) != size) {
                throw new IOException("entry shorter than its size");
            }
            MemoryEntry.Value v = new MemoryEntry.Value(key, h.metadata(), data, h.version());
            if (!closed) {
                disk.ifCurrent(h, () -> memory.put(v));
            }
            return v;
        } catch (IOException | RuntimeException e) {
            data.release();
            throw e;
        }
    }

    // ---- fills --------------------------------------------------------------------------------

    /**
     * One fill in flight for a key: its followers' futures, and once the leader has begun, the
     * progress readers follow. Ends exactly once ({@link #finish}).
     */
    private final class FillState {
        final String key;
        @GuardedBy("this")
        private final List<CompletableFuture<Optional<CacheEntry>>> results = new ArrayList<>();
        @GuardedBy("this")
        private final List<CompletableFuture<PendingEntry>> pendings = new ArrayList<>();
        @GuardedBy("this")
        private @Nullable FillProgress progress;
        @GuardedBy("this")
        private boolean done;
        @GuardedBy("this")
        private @Nullable Object committed;

        FillState(String key) {
            this.key = key;
        }

        /** The leader has begun writing: readers waiting for that get theirs. */
        void begun(FillProgress p) {
            List<CompletableFuture<PendingEntry>> waiting;
            List<FillReader> readers = new ArrayList<>();
            synchronized (this) {
                if (done) {
                    return;
                }
                progress = p;
                waiting = List.copyOf(pendings);
                pendings.clear();
                for (int i = 0; i < waiting.size(); i++) {
                    readers.add(FillReader.attach(p)); // the fill holds its reference: cannot fail
                }
            }
            for (int i = 0; i < waiting.size(); i++) {
                if (!waiting.get(i).complete(readers.get(i))) {
                    readers.get(i).close();
                }
            }
        }

        /** Ends the fill: committed is the new version (disk entry or memory value), or null. */
        void finish(@Nullable Object committedVersion) {
            fills.remove(key, this);
            List<CompletableFuture<Optional<CacheEntry>>> rs;
            List<CompletableFuture<PendingEntry>> ps;
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                committed = committedVersion;
                rs = List.copyOf(results);
                ps = List.copyOf(pendings);
                results.clear();
                pendings.clear();
            }
            for (CompletableFuture<Optional<CacheEntry>> f : rs) {
                completeResult(f, committedVersion);
            }
            for (CompletableFuture<PendingEntry> f : ps) {
                // never begun: cancelled or refused
                f.completeExceptionally(new FillFailedException("fill of " + key + " ended without writing"));
            }
        }

        CompletableFuture<Optional<CacheEntry>> result() {
            CompletableFuture<Optional<CacheEntry>> f = new CompletableFuture<>();
            Object c;
            synchronized (this) {
                if (!done) {
                    results.add(f);
                    return f;
                }
                c = committed;
            }
            completeResult(f, c);
            return f;
        }

        CompletableFuture<PendingEntry> pending() {
            CompletableFuture<PendingEntry> f = new CompletableFuture<>();
            Object c;
            synchronized (this) {
                if (!done) {
                    if (progress == null) {
                        pendings.add(f);
                    } else {
                        // attached under the lock: the fill's own reference is dropped only after done
                        f.complete(FillReader.attach(progress));
                    }
                    return f;
                }
                c = committed;
            }
            if (c == null) {
                f.completeExceptionally(new FillFailedException("fill of " + key + " ended without committing"));
                return f;
            }
            handleAsync(c).whenComplete((h, ex) -> {
                if (h != null) {
                    f.complete(new CommittedReader(h));
                } else {
                    f.completeExceptionally(new FillFailedException("fill of " + key
                            + " committed, but the version is gone (replaced, evicted or unreadable)", ex));
                }
            });
            return f;
        }
    }

    private void completeResult(CompletableFuture<Optional<CacheEntry>> f, @Nullable Object committedVersion) {
        if (committedVersion == null) {
            f.complete(Optional.empty());
            return;
        }
        handleAsync(committedVersion).whenComplete((h, ex) -> {
            if (!f.complete(Optional.ofNullable(h)) && h != null) {
                h.close();
            }
        });
    }

    /** A handle on a committed version, opened without blocking the caller; null when it is gone. */
    private CompletableFuture<CacheEntry> handleAsync(Object committed) {
        if (committed instanceof DiskEntry de) {
            return disk.openVersionAsync(de).thenApply(h -> (CacheEntry) h);
        }
        if (committed instanceof MemoryEntry.Value v) {
            return CompletableFuture.completedFuture(MemoryEntry.open(v, Tier.MEMORY));
        }
        return CompletableFuture.completedFuture(null);
    }

    /** A follower of a running fill: registers its futures with the fill on first use. */
    private static final class Follower implements Fill.Follower {
        private final FillState st;
        @GuardedBy("this")
        private @Nullable CompletableFuture<Optional<CacheEntry>> result;
        @GuardedBy("this")
        private @Nullable CompletableFuture<PendingEntry> pending;

        Follower(FillState st) {
            this.st = st;
        }

        @Override
        public synchronized CompletableFuture<Optional<CacheEntry>> result() {
            if (result == null) {
                result = st.result();
            }
            return result;
        }

        @Override
        public synchronized CompletableFuture<PendingEntry> pending() {
            if (pending == null) {
                pending = st.pending();
            }
            return pending;
        }
    }

    @Override
    public Fill fill(String key) {
        checkOpen();
        Objects.requireNonNull(key, "key");
        while (true) {
            FillState st = new FillState(key);
            FillState prev = fills.putIfAbsent(key, st);
            if (prev == null) {
                return new Leader(st);
            }
            synchronized (prev) {
                if (!prev.done) {
                    return new Follower(prev);
                }
            }
            Thread.onSpinWait();
        }
    }

    private final class Leader implements Fill.Leader {
        private final FillState st;
        private boolean begun;

        Leader(FillState st) {
            this.st = st;
        }

        @Override
        public @Nullable CacheWriter begin(EntryMetadata metadata) {
            if (begun) {
                throw new IllegalStateException("fill already begun");
            }
            begun = true;
            if (closed) {
                st.finish(null);
                return null;
            }
            TieredWriter w = startWriter(st.key, metadata, st);
            if (w == null) {
                st.finish(null);
            } else {
                st.begun(w.progress);
            }
            return w;
        }

        @Override
        public void cancel() {
            st.finish(null);
        }
    }

    private @Nullable TieredWriter startWriter(String key, EntryMetadata md, FillState st) {
        if (key.getBytes(StandardCharsets.UTF_8).length > EntryFormat.MAX_KEY_BYTES) {
            return null;
        }
        boolean toMemory = memory.takes(md.size());
        long writeId = ThreadLocalRandom.current().nextLong();
        DiskWriter dw = null;
        if (md.size() <= config.maxItemSize()) {
            try {
                dw = disk.begin(key, md, writeId);
            } catch (IOException | IllegalArgumentException ex) {
                faults.record("write", ex);
            }
        }
        if (dw == null && !toMemory) {
            return null;
        }
        byte[] mem = toMemory ? new byte[(int) md.size()] : null;
        FillProgress progress;
        if (mem != null) {
            progress = FillProgress.inMemory(key, md, mem);
        } else {
            DiskWriter d = Objects.requireNonNull(dw, "no tier takes it: returned above");
            try {
                // readers that follow the fill share this descriptor (see FillProgress)
                IoFile rf = disk.io.open(d.tmp, OpenFlag.READ);
                progress = FillProgress.onDisk(key, md, rf, d.headerLength(), disk.blockSize, disk.blockBuffers);
            } catch (IOException ex) {
                faults.record("open", ex);
                d.abort();
                return null;
            }
            d.follow(progress);
        }
        activeWriters.incrementAndGet();
        return new TieredWriter(key, md, writeId, dw, mem, st, progress);
    }

    /**
     * Streams one version into both tiers. Whichever tier fails is dropped; the write fails only
     * when no tier is left.
     */
    private final class TieredWriter implements CacheWriter {
        private final String key;
        private final EntryMetadata md;
        private final long writeId;
        private @Nullable DiskWriter dw;
        private byte @Nullable [] mem;
        private final FillState st;
        final FillProgress progress;
        private long written;
        private boolean ended;

        TieredWriter(String key, EntryMetadata md, long writeId, @Nullable DiskWriter dw, byte @Nullable [] mem, FillState st,
                     FillProgress progress) {
            this.key = key;
            this.md = md;
            this.writeId = writeId;
            this.dw = dw;
            this.mem = mem;
            this.st = st;
            this.progress = progress;
        }

        @Override
        public PendingEntry reader() {
            if (ended) {
                throw new IllegalStateException("writer already ended");
            }
            // not ended: the writer still holds the fill's file, so the reader attaches
            return Objects.requireNonNull(FillReader.attach(progress), "a live writer's fill");
        }

        /** Ends the fill without a committed version. */
        private void failFill(String why, @Nullable Throwable cause) {
            progress.fail(why, cause);
            st.finish(null);
            progress.fillEnded();
        }

        @Override
        public void write(ByteBuffer src) throws IOException {
            if (ended) {
                throw new IllegalStateException("writer already ended");
            }
            int n = src.remaining();
            if (written + n > md.size()) {
                abort();
                throw new IOException("cache entry " + key + ": more than the declared " + md.size() + " bytes");
            }
            if (mem != null) {
                src.get(src.position(), mem, (int) written, n);
            }
            IOException failure = null;
            if (dw != null) {
                try {
                    dw.write(src.duplicate());
                    if (mem == null) {
                        dw.flushForReaders();
                    }
                } catch (IOException ex) {
                    faults.record("write", ex);
                    dw.abort();
                    dw = null;
                    failure = ex;
                }
            }
            src.position(src.position() + n);
            written += n;
            if (dw == null && mem == null) {
                abort(failure);
                throw failure != null ? failure : new IOException("no cache tier takes " + key);
            }
            if (mem != null) {
                progress.advanceMemory(written);
            }
        }

        @Override
        public long written() {
            return written;
        }

        @Override
        public CacheEntry commit() throws IOException {
            if (ended) {
                throw new IllegalStateException("writer already ended");
            }
            if (written != md.size()) {
                abort();
                throw new IOException("cache entry " + key + ": " + written + " bytes written, " + md.size() + " declared");
            }
            IOException failure = null;
            if (dw != null) {
                try {
                    dw.seal();
                } catch (IOException ex) {
                    faults.record("write", ex);
                    dw.abort();
                    dw = null;
                    failure = ex;
                }
            }
            if (dw == null && mem == null) {
                abort(failure);
                throw failure != null ? failure : new IOException("no cache tier takes " + key);
            }
            // the commit holds one reference on the native copy until it returns (finally below);
            // the tier and the returned handle take their own
            MemoryEntry.Value mv = mem != null ? new MemoryEntry.Value(key, md, NativeBytes.copyOf(mem), writeId) : null;
            try {
                return publish(mv, failure);
            } finally {
                if (mv != null) {
                    mv.data().release();
                }
            }
        }

        /** The rest of {@link #commit}: publishes the sealed version to the tiers. */
        private CacheEntry publish(MemoryEntry.@Nullable Value mv, @Nullable IOException failure) throws IOException {
            // the memory tier follows the disk tier's change, under the same key lock
            java.util.function.Consumer<DiskEntry> memoryFollows = de -> {
                if (mv != null) {
                    memory.put(mv);
                } else {
                    memory.remove(key);
                }
            };
            DiskHandle onDisk = null;
            if (dw != null) {
                try {
                    onDisk = disk.publish(dw, memoryFollows);
                } catch (IOException ex) {
                    failure = ex; // counted, the writer aborted, the older version removed
                }
                dw = null;
            } else {
                // the disk tier did not take this version: its old version must not outlive it
                disk.remove(key, () -> memoryFollows.accept(null));
            }
            ended = true;
            activeWriters.decrementAndGet();
            if (onDisk == null && mv == null) {
                failFill("publishing failed", failure);
                throw failure;
            }
            // The single-flight state ends before the readers learn of the commit: a client whose
            // response ends on the commit and asks again at once must find the committed version,
            // not this fill still registered (it would follow it and be counted as a miss).
            CacheEntry handle;
            if (onDisk != null) {
                handle = onDisk;
                st.finish(onDisk.entry);
            } else {
                // the commit's own reference keeps the bytes, so this handle always opens
                handle = Objects.requireNonNull(MemoryEntry.open(
                        Objects.requireNonNull(mv, "a memory copy: onDisk was null"), Tier.MEMORY), "bytes held by the commit");
                st.finish(mv);
            }
            progress.commit();
            progress.fillEnded();
            return handle;
        }

        @Override
        public void abort() {
            abort(null);
        }

        private void abort(@Nullable Throwable cause) {
            if (ended) {
                return;
            }
            ended = true;
            activeWriters.decrementAndGet();
            if (dw != null) {
                dw.abort();
                dw = null;
            }
            mem = null;
            failFill(cause != null ? "the cache write failed" : "the writer aborted", cause);
        }

        @Override
        public void close() {
            abort();
        }
    }

    // ---- metadata, delete, purge --------------------------------------------------------------

    /**
     * After a 304: the version's new metadata goes into a small record beside its file
     * ({@link DiskStore#updateMetadata}) and into the memory tier's value, never a copy of the
     * object. The disk update comes first; the memory value follows only when the disk took it (or
     * the disk tier does not hold the key), so the tiers never disagree the wrong way round.
     */
    @Override
    public boolean updateMetadata(String key, String etag, EntryMetadata metadata) {
        checkOpen();
        if (key.getBytes(StandardCharsets.UTF_8).length > EntryFormat.MAX_KEY_BYTES) {
            return false;
        }
        long writeId = 0;
        boolean onDisk = false;
        boolean updated = false;
        DiskHandle h = disk.open(key);
        if (h != null) {
            try (h) {
                onDisk = true;
                writeId = h.version();
                if (sameVersion(h.metadata(), etag, metadata)) {
                    updated = disk.updateMetadata(key, writeId, metadata);
                }
            }
        }
        if (onDisk && !updated) {
            return false;
        }
        long version = writeId;
        boolean diskHasIt = onDisk;
        boolean inMemory = disk.atomically(key, () -> {
            MemoryEntry.Value v = memory.get(key);
            if (v != null && (diskHasIt ? v.writeId() == version : sameVersion(v.metadata(), etag, metadata))) {
                // the same bytes under new metadata: put takes a reference before the old value's
                // replacement releases its own; false if they were evicted meanwhile
                return memory.put(new MemoryEntry.Value(key, metadata, v.data(), v.writeId()));
            }
            return false;
        });
        return updated || inMemory;
    }

    private static boolean sameVersion(EntryMetadata cur, String etag, EntryMetadata next) {
        return Objects.equals(cur.etag(), etag) && cur.size() == next.size();
    }

    @Override
    public boolean delete(String key) {
        checkOpen();
        boolean[] fromMemory = new boolean[1];
        boolean fromDisk = disk.remove(key, () -> fromMemory[0] = memory.remove(key));
        return fromDisk || fromMemory[0];
    }

    @Override
    public long purgePrefix(String prefix) {
        checkOpen();
        Set<String> removed = new HashSet<>(disk.purge(prefix));
        for (String k : memory.keysStartingWith(prefix)) {
            if (disk.atomically(k, () -> memory.remove(k))) {
                removed.add(k);
            }
        }
        return removed.size();
    }

    @Override
    public void clear() {
        purgePrefix("");
    }

    // ---- stats, close -------------------------------------------------------------------------

    @Override
    public CacheStats stats() {
        return new CacheStats(hits.sum(), misses.sum(), memoryHits.sum(), diskHits.sum(),
                disk.evictions() + memory.evictions(), expirations.sum(), memory.bytes(), memory.entries(),
                disk.bytes(), disk.entries(), fills.size(), faults.snapshot(), disk.recoveredEntries(),
                disk.recoveryNanos(), disk.readsCached.sum(), disk.readsAsync.sum(), promotionsSkipped.sum());
    }

    @Override
    public boolean recovered() {
        return disk.recovered();
    }

    /** Number of log lines written for faults (tests check that bursts are rate-limited). */
    public long faultLogLines() {
        return faults.logLines();
    }

    /** The eviction policy in use ({@code sieve} or {@code lru}). */
    public String evictionPolicy() {
        return disk.policy.name();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (activeWriters.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (FillState st : List.copyOf(fills.values())) {
            st.finish(null);
        }
        blockingPool.shutdown();
        disk.close();
        memory.clear();
    }
}
