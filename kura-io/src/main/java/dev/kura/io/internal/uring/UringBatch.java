package dev.kura.io.internal.uring;

import org.jspecify.annotations.Nullable;
import dev.kura.io.IoBatch;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.internal.Futures;
import dev.kura.io.internal.OpFuture;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An {@link IoBatch} of the io_uring backend: every operation goes to one ring as one queue
 * element, which the ring thread turns into consecutive SQEs and submits with a single
 * {@code io_uring_enter(2)}. A batch larger than the queue depth is split into chunks of the queue
 * depth, each its own enter.
 *
 * <p>Thread-safety: build and submit on one thread (see {@link IoBatch}).
 */
final class UringBatch implements IoBatch {
    private enum Kind { READ, WRITE, FSYNC }

    private record Item(Kind kind, UringIoFile file, @Nullable MemorySegment seg, long position, CompletableFuture<Object> out) {
        /** The buffer of a READ or WRITE (only FSYNC has none), capped at what one SQE can carry. */
        MemorySegment rwBuffer() {
            MemorySegment s = java.util.Objects.requireNonNull(seg, "read or write without a buffer");
            return s.byteSize() > Integer.MAX_VALUE ? s.asSlice(0, Integer.MAX_VALUE) : s;
        }

    }

    private final UringFileIo io;
    private final List<Item> items = new ArrayList<>();
    private boolean submitted;

    UringBatch(UringFileIo io) {
        this.io = io;
    }

    private UringIoFile own(IoFile file) {
        if (file instanceof UringIoFile f && f.io() == io) {
            return f;
        }
        throw new IllegalArgumentException("file " + file.path() + " belongs to another FileIo");
    }

    @SuppressWarnings("unchecked")
    private <T> CompletableFuture<T> add(Kind kind, IoFile file, @Nullable MemorySegment seg, long position) {
        if (submitted) {
            throw new IllegalStateException("batch already submitted");
        }
        // Not cancellable: the future must not complete while the kernel may write the buffer.
        CompletableFuture<Object> out = new OpFuture<>();
        items.add(new Item(kind, own(file), seg, position, out));
        return (CompletableFuture<T>) (CompletableFuture<?>) out;
    }

    @Override
    public CompletableFuture<Integer> read(IoFile file, MemorySegment dst, long position) {
        return add(Kind.READ, file, dst, position);
    }

    @Override
    public CompletableFuture<Integer> write(IoFile file, MemorySegment src, long position) {
        return add(Kind.WRITE, file, src, position);
    }

    @Override
    public CompletableFuture<Void> fsync(IoFile file) {
        return add(Kind.FSYNC, file, null, 0);
    }

    @Override
    public int size() {
        return items.size();
    }

    @Override
    public void submit() {
        if (submitted) {
            throw new IllegalStateException("batch already submitted");
        }
        submitted = true;
        // Operations that fail their checks complete here; the rest go to the kernel.
        List<Item> live = new ArrayList<>(items.size());
        for (Item it : items) {
            String name = it.kind == Kind.READ ? "read" : it.kind == Kind.WRITE ? "write" : "fsync";
            if (it.seg != null) {
                IoException bad = it.file.checkBatchArgs(name, it.seg, it.position);
                if (bad != null) {
                    it.out.completeExceptionally(bad);
                    continue;
                }
            }
            if (!it.file.batchEnter()) {
                it.out.completeExceptionally(it.file.batchClosedError(name));
                continue;
            }
            if (it.seg != null && it.seg.byteSize() == 0) {
                it.file.batchExit();
                it.out.complete(0);
                continue;
            }
            live.add(it);
        }
        if (live.isEmpty()) {
            return;
        }
        Ring ring = io.pickRing();
        int chunk = Math.max(1, Math.min(io.queueDepth(), ring.sqEntries));
        chunks:
        for (int from = 0; from < live.size(); from += chunk) {
            int n = Math.min(chunk, live.size() - from);
            Ring permit = ring.acquirePermit(n);
            Op[] ops = new Op[n];
            for (int i = 0; i < n; i++) {
                Item it = live.get(from + i);
                Op op;
                try {
                    op = it.kind == Kind.FSYNC ? it.file.prepareSync(permit, false)
                            : it.file.prepareRw(ring, permit, it.kind == Kind.WRITE,
                            it.rwBuffer(), it.position);
                } catch (RuntimeException | Error e) {
                    // Nothing of this chunk reached the kernel: give back what was taken and fail it.
                    for (int j = 0; j < i; j++) {
                        ops[j].complete(ring, -dev.kura.io.Errno.ENOMEM.value());
                    }
                    for (int j = i; j < n; j++) {
                        if (permit != null) {
                            permit.releasePermit();
                        }
                        Item failed = live.get(from + j);
                        failed.file.batchExit();
                        failed.out.completeExceptionally(e);
                    }
                    continue chunks;
                }
                ops[i] = op;
                UringIoFile file = it.file;
                boolean sync = it.kind == Kind.FSYNC;
                op.future.whenComplete((r, e) -> {
                    file.batchExit();
                    if (e != null) {
                        it.out.completeExceptionally(Futures.unwrap(e));
                    } else {
                        it.out.complete(sync ? null : r);
                    }
                });
            }
            ring.enqueue(ops);
        }
    }
}
