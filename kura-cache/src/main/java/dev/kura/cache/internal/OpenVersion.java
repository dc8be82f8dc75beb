package dev.kura.cache.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.cache.BlockingCheck;
import dev.kura.cache.EntryMetadata;
import dev.kura.io.IoFile;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One committed version of a disk entry, opened once: its descriptor, decoded header, current
 * metadata and the head of the file read at open ({@code prefetch}: the whole file for small
 * entries, already checked). Every {@link DiskHandle} on the version and the {@link OpenFiles}
 * cache hold a reference; the descriptor is closed when the last one is released.
 *
 * <p>Everything but the reference count and the send channel is immutable: a handle's reads are
 * positional and its views of {@code prefetch} are its own, so any number of handles share one open
 * version.
 *
 * <p>The send channel ({@link #sendChannel}) is a second descriptor on the same file, a JDK
 * {@link FileChannel}, for zero-copy sends (Netty hands a {@code FileChannel}'s descriptor to
 * {@code sendfile(2)} / {@code splice(2)}; kura-io's descriptor is not one). It is opened once, by
 * path, off the calling thread (an open may wait on the disk, and the callers are event loops), and
 * only kept when the file at the path still starts with this version's header bytes (the header
 * holds the version's write id, so a file of a newer version at the same path is told apart).
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class OpenVersion {
    final DiskEntry entry;
    final IoFile file;
    final EntryFormat.Header header;
    /** The version's metadata when opened: the header's, or a newer metadata record's. */
    final EntryMetadata metadata;
    /** {@link DiskEntry#metaUpdates} when {@link #metadata} was read. */
    final int metaSeen;
    /** Bytes [0, prefetch.limit()) of the file, read at open; never written after construction. */
    final ByteBuffer prefetch;
    /** Holders; 0 means the descriptor is closed (or being closed) and can no longer be retained. */
    private final AtomicInteger refs = new AtomicInteger(1);
    private final Object sendLock = new Object();
    @GuardedBy("sendLock")
    private @Nullable FileChannel send;
    @GuardedBy("sendLock")
    private boolean sendAsked;
    @GuardedBy("sendLock")
    private boolean closed;

    /** An open version with one reference, the caller's. */
    OpenVersion(DiskEntry entry, IoFile file, EntryFormat.Header header, @Nullable ByteBuffer prefetch,
                EntryMetadata metadata, int metaSeen) {
        this.entry = entry;
        this.file = file;
        this.header = header;
        this.metadata = metadata;
        this.metaSeen = metaSeen;
        this.prefetch = prefetch == null ? ByteBuffer.allocate(0) : prefetch;
    }

    /** True when this is still what a fresh open of {@code e} would find: same version, same metadata. */
    boolean matches(DiskEntry e) {
        return entry == e && e.metaUpdates == metaSeen;
    }

    /** Takes one more reference; false when the last one is already gone (the descriptor is closed). */
    boolean retain() {
        while (true) {
            int r = refs.get();
            if (r == 0) {
                return false;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /**
     * The send channel, or null while it is being opened (the first call starts that on
     * {@code opener}), when it could not be opened, when the path no longer holds this version, or
     * after the last reference is gone. The caller holds a reference for as long as it uses it.
     */
    @Nullable FileChannel sendChannel(Executor opener) {
        synchronized (sendLock) {
            if (sendAsked || closed) {
                return send;
            }
            sendAsked = true;
        }
        opener.execute(this::openSendChannel);
        return null;
    }

    private void openSendChannel() {
        FileChannel c = null;
        try {
            BlockingCheck.check("open", file.path());
            c = FileChannel.open(file.path(), StandardOpenOption.READ);
            int n = Math.min(header.headerLength(), prefetch.limit());
            ByteBuffer head = ByteBuffer.allocate(n);
            while (head.hasRemaining() && c.read(head, head.position()) > 0) {
                // positional reads until the header is in
            }
            if (head.flip().equals(prefetch.duplicate().position(0).limit(n))) {
                synchronized (sendLock) {
                    if (!closed) {
                        send = c;
                        c = null;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // no send channel: this version is sent by copying, as before
        } finally {
            DiskStore.closeQuietly(c);
        }
    }

    /** Gives one reference back; the last closes the descriptor. */
    void release() {
        int r = refs.decrementAndGet();
        if (r == 0) {
            FileChannel c;
            synchronized (sendLock) {
                closed = true;
                c = send;
                send = null;
            }
            DiskStore.closeQuietly(c);
            DiskStore.closeQuietly(file);
        } else if (r < 0) {
            throw new IllegalStateException("open version of " + entry.key + " released more often than retained");
        }
    }
}
