package dev.kura.cache;

import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * One committed version of a cached object, open for reading.
 *
 * <p>A handle pins its version: while it is open, reads return that version's bytes even if the key
 * is overwritten, deleted or evicted meanwhile (the disk tier keeps the unlinked file open), so a
 * reader never sees a mix of two versions. Close it when done; an unclosed handle keeps disk space
 * in use until it is closed.
 *
 * <p>Reads never load the whole object: they read the blocks the range touches and verify each
 * block's CRC32C before copying. A failed check makes the read fail with {@link CorruptEntryException}
 * and removes the entry from the cache.
 *
 * <p>Thread-safety: safe for concurrent reads; close once.
 */
public interface CacheEntry extends AutoCloseable {

    /** The key this entry is stored under. */
    String key();

    /** Size, type, validators, expiry and headers of this version. */
    EntryMetadata metadata();

    /** Which tier the lookup found this version in. */
    Tier tier();

    /**
     * True when the bytes are in memory: {@link #read} is a copy that never touches a disk and
     * {@link #readAsync} completes at once. A memory-tier hit, and the blocking
     * {@link Cache#lookup}'s promotion of a small disk hit, are; a disk handle is not.
     */
    boolean inMemory();

    /**
     * Copies bytes of the object starting at {@code position} into {@code dst} (from its position
     * to its limit), advancing {@code dst}'s position.
     *
     * @param position offset in the object in bytes, 0 &lt;= position
     * @return the number of bytes copied; 0 when {@code position >= size} or dst has no room
     * @throws CorruptEntryException when a block fails its checksum (the entry is then removed)
     * @throws IOException on an I/O error of the disk tier
     */
    int read(long position, ByteBuffer dst) throws IOException;

    /** Asynchronous form of {@link #read(long, ByteBuffer)}; never blocks the caller. */
    CompletableFuture<Integer> readAsync(long position, ByteBuffer dst);

    /**
     * Copies bytes starting at {@code position} into {@code dst} on the calling thread when that
     * cannot wait for a device: a disk-tier version whose blocks are in the kernel's page cache
     * ({@code preadv2(2)} with {@code RWF_NOWAIT}, io_uring backend), checked block by block as
     * {@link #read} checks them. An event loop tries this before {@link #readAsync}.
     *
     * <p>The default declines (-1): memory-tier versions are read with {@link #read} or lent.
     *
     * @param position offset in the object in bytes, 0 &lt;= position
     * @param dst a direct buffer (a heap buffer is declined)
     * @return bytes copied (at least 1, advancing {@code dst}'s position), or -1 when none could be
     *     copied without waiting (not cached, another backend, a closed handle, at or past the end);
     *     then {@link #readAsync} from the same position
     * @throws CorruptEntryException when a block fails its checksum (the entry is then removed)
     * @throws IOException on an I/O error of the disk tier
     */
    default int readIfCached(long position, ByteBuffer dst) throws IOException {
        return -1;
    }

    /**
     * Lends bytes {@code [position, position + length)} without copying them, when this version is
     * held in the memory tier's native memory: the HTTP layer hands the buffer to the socket as it is.
     * The loan stays valid after this handle is closed, until the loan itself is closed.
     *
     * @param position offset in the object in bytes, 0 &lt;= position
     * @param length bytes wanted, at most {@code size - position}
     * @return the loan, or null when this entry's bytes cannot be lent (a disk handle); then
     *     {@link #read} or {@link #readAsync}
     * @throws IllegalStateException when this handle is closed
     */
    default @Nullable LentBytes lend(long position, int length) {
        return null;
    }

    /**
     * Checks bytes from {@code position} against their CRC32C, as {@link #readIfCached} does, and
     * gives them as spans of the entry file for a zero-copy send, when this is a disk-tier version
     * whose blocks are in the page cache. The check reads the blocks into {@code scratch} (they are
     * copied there, not sent from there): the point is that the copy into the socket, which holds
     * the socket's lock, is replaced by the kernel lending page-cache pages.
     *
     * <p>The default declines (null): memory-tier versions are lent ({@link #lend}).
     *
     * @param position offset in the object in bytes, 0 &lt;= position
     * @param scratch a direct buffer; up to {@code scratch.remaining()} bytes are checked and given
     *     (fewer at the end of the object or where the page cache stops); its contents are garbage after
     * @return the spans (close them when sent), or null when this way cannot give the bytes now (not
     *     cached, not a disk version, the version's file no longer at its path, a closed handle, at or
     *     past the end); then {@link #readIfCached} or {@link #readAsync} from the same position
     * @throws CorruptEntryException when a block fails its checksum (the entry is then removed)
     * @throws IOException on an I/O error of the disk tier
     */
    default @Nullable FileSpans fileSpans(long position, ByteBuffer scratch) throws IOException {
        return null;
    }

    /** Releases the handle; further reads fail with {@link IllegalStateException}. Idempotent. */
    @Override
    void close();
}
