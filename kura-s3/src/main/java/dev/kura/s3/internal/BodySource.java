package dev.kura.s3.internal;

import dev.kura.cache.CacheEntry;
import dev.kura.cache.FileSpans;
import dev.kura.cache.LentBytes;
import dev.kura.cache.PendingEntry;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Where a response body's bytes come from: a committed cache entry, or a fill being written
 * ({@link PendingEntry}: the bytes are read as the fill writes them, at the reader's pace).
 *
 * <p>Thread-safety: one read in flight at a time.
 */
interface BodySource extends AutoCloseable {

    /**
     * Reads bytes at object offset {@code position} into {@code dst}.
     *
     * @return a future of the bytes read (at least 1, at most {@code dst.remaining()}), or -1 at the
     *     end; fails when the bytes cannot be had (disk error, corrupt block, failed fill)
     */
    CompletableFuture<Integer> readAsync(long position, ByteBuffer dst);

    /**
     * Reads bytes at object offset {@code position} into a direct {@code dst} on the calling thread
     * when they can be had without waiting for a device ({@link CacheEntry#readIfCached}: a disk
     * entry whose blocks are in the page cache). The event loop tries this before
     * {@link #readAsync}.
     *
     * @return bytes read (at least 1), or -1 when this way cannot read them now (then
     *     {@link #readAsync} from the same position)
     * @throws IOException when the bytes are bad (a corrupt block) or the read failed
     */
    default int readIfCached(long position, ByteBuffer dst) throws IOException {
        return -1;
    }

    /**
     * Bytes from object offset {@code position} checked and given as spans of a disk entry's file
     * for a zero-copy send ({@link CacheEntry#fileSpans}), up to {@code scratch.remaining()} bytes;
     * null when this source cannot (then {@link #readIfCached} / {@link #readAsync}).
     *
     * @throws IOException when the bytes are bad (a corrupt block) or the read failed
     */
    default @Nullable FileSpans fileSpans(long position, ByteBuffer scratch) throws IOException {
        return null;
    }

    /** True when reads complete at once from memory (no need to leave the calling thread). */
    boolean inMemory();

    /**
     * Bytes from {@code position} lent without a copy when the source holds them in the memory tier
     * ({@link CacheEntry#lend}), else null (then {@link #readAsync}): {@code length} bytes, or fewer
     * where a sliced object's slice ends. The caller closes the loan once the socket write carrying
     * it has completed or failed.
     */
    default @Nullable LentBytes lend(long position, int length) {
        return null;
    }

    /** The cache key, for logs. */
    String key();

    /**
     * Completes when the source is settled: at once for a committed entry; when the fill commits
     * (or fails) for a fill being written. A response that read a fill ends only after this, so a
     * client that got its last byte finds the entry committed on its next request.
     */
    default CompletableFuture<Void> settled() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    void close();

    /** A committed entry. */
    static BodySource of(CacheEntry e) {
        boolean memory = e.inMemory();
        return new BodySource() {
            @Override
            public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
                if (!memory) {
                    return e.readAsync(position, dst);
                }
                try {
                    return CompletableFuture.completedFuture(e.read(position, dst));
                } catch (IOException | RuntimeException x) {
                    return CompletableFuture.failedFuture(x);
                }
            }

            @Override
            public int readIfCached(long position, ByteBuffer dst) throws IOException {
                return memory ? -1 : e.readIfCached(position, dst);
            }

            @Override
            public @Nullable FileSpans fileSpans(long position, ByteBuffer scratch) throws IOException {
                return memory ? null : e.fileSpans(position, scratch);
            }

            @Override
            public boolean inMemory() {
                return memory;
            }

            @Override
            public @Nullable LentBytes lend(long position, int length) {
                return memory ? e.lend(position, length) : null;
            }

            @Override
            public String key() {
                return e.key();
            }

            @Override
            public void close() {
                e.close();
            }
        };
    }

    /** A fill being written, read as it grows. */
    static BodySource of(PendingEntry p, String key) {
        return new BodySource() {
            @Override
            public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
                return p.readAsync(position, dst);
            }

            @Override
            public CompletableFuture<Void> settled() {
                return p.committed().exceptionally(x -> null);
            }

            @Override
            public boolean inMemory() {
                return false;
            }

            @Override
            public String key() {
                return key;
            }

            @Override
            public void close() {
                p.close();
            }
        };
    }

    /**
     * An origin body read in order, uncached (when the cache refuses a fill). Reads block on the
     * origin: use it only from a virtual thread, with positions that follow each other from
     * {@code first}.
     */
    static BodySource ofStream(OriginResponse.Body body, String key) {
        return new BodySource() {
            private long next = body.first();

            @Override
            public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
                if (position != next) {
                    return CompletableFuture.failedFuture(new IOException("out-of-order read of an origin stream at "
                            + position + ", expected " + next));
                }
                try {
                    byte[] b = new byte[Math.min(dst.remaining(), 64 * 1024)];
                    int n = body.body().read(b);
                    if (n > 0) {
                        dst.put(b, 0, n);
                        next += n;
                    }
                    return CompletableFuture.completedFuture(n);
                } catch (IOException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }

            @Override
            public boolean inMemory() {
                return false;
            }

            @Override
            public String key() {
                return key;
            }

            @Override
            public void close() {
                body.close();
            }
        };
    }
}
