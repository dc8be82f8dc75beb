package dev.kura.io.internal.uring;

import java.util.Objects;
import org.jspecify.annotations.Nullable;
import dev.kura.io.IoException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * One operation on its way through a ring: the SQE fields, the buffers it owns until its CQE, and
 * the future its CQE completes.
 *
 * <h2>Ownership</h2>
 * From {@link Ring#enqueue} until its CQE the op (and its {@link #bounce} buffer or fixed buffer)
 * belongs to the ring thread; the submitter keeps only {@link #future}. The buffers are released
 * in {@link #complete(int)}, after the kernel has posted the CQE and so let go of them, and before
 * the future completes, so a caller that sees the future done never races a buffer release.
 *
 * <p>Thread-safety: handed from the submitter to the ring thread through the ring's queue
 * (a safe publication); never shared afterwards.
 */
final class Op {
    /** What the CQE's {@code res} turns into. */
    enum Kind { COUNT, STATX_SIZE, FD }

    // SQE fields
    int opcode;
    int sqeFlags;
    int fd;
    long off;
    long addr;
    int len;
    int opFlags;
    int bufIndex;

    final Kind kind;
    final String name;
    final Path path;
    final CompletableFuture<Object> future = new CompletableFuture<>();

    /** Native buffer the kernel reads or writes, owned until the CQE; null when the caller's segment is used. */
    @Nullable MemorySegment bounce;
    @Nullable BufferPool bouncePool;
    /** Index of the ring's fixed buffer in {@link #bounce}, or -1. */
    int fixedIndex = -1;
    /** Heap segment to copy the bytes read into after the CQE, or null. */
    @Nullable MemorySegment copyOutTo;
    /** The ring whose admission permit this op holds, or null (submitted by a ring thread). */
    @Nullable Ring permitOf;

    Op(int opcode, Kind kind, String name, Path path) {
        this.opcode = opcode;
        this.kind = kind;
        this.name = name;
        this.path = path;
    }

    /** The future, typed as the caller knows it to be (Integer for COUNT and FD, Long for STATX_SIZE). */
    @SuppressWarnings("unchecked")
    <T> CompletableFuture<T> result() {
        return (CompletableFuture<T>) (CompletableFuture<?>) future;
    }

    /** Runs on the ring thread for the op's CQE (or with -ECANCELED when it never reached the kernel). */
    void complete(Ring ring, int res) {
        @Nullable Object value = null;
        @Nullable Throwable failure = null;
        try {
            if (res > 0 && copyOutTo != null) {
                MemorySegment.copy(bounce, 0, copyOutTo, 0, Math.min(res, copyOutTo.byteSize()));
            }
            if (res >= 0) {
                value = kind == Kind.STATX_SIZE
                        ? (Object) Objects.requireNonNull(bounce, "statx without its buffer").get(ValueLayout.JAVA_LONG, Uapi.STX_SIZE + 256)
                        : (Object) res;
            }
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            releaseResources(ring);
        }
        if (failure != null) {
            future.completeExceptionally(failure);
        } else if (res < 0) {
            future.completeExceptionally(new IoException(-res, path, name, null, null));
        } else {
            future.complete(value);
        }
    }

    /** Gives back the buffers and the admission permit; once only. */
    void releaseResources(Ring ring) {
        if (bounce != null) {
            if (fixedIndex >= 0) {
                ring.releaseFixed(fixedIndex);
            } else {
                Objects.requireNonNull(bouncePool, "bounce buffer without its pool").release(bounce);
            }
            bounce = null;
            fixedIndex = -1;
        }
        if (permitOf != null) {
            permitOf.releasePermit();
            permitOf = null;
        }
    }
}
