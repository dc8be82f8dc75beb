package dev.kura.io.internal;

import dev.kura.io.IoBatch;
import dev.kura.io.IoFile;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A batch that starts each operation through the file's own asynchronous form at
 * {@link #submit()}: the NIO backend's batch, where there is no kernel queue to fill at once.
 */
public final class SimpleBatch implements IoBatch {
    private final List<Runnable> starts = new ArrayList<>();
    private boolean submitted;

    private <T> CompletableFuture<T> add(Supplier<CompletableFuture<T>> op) {
        if (submitted) {
            throw new IllegalStateException("batch already submitted");
        }
        CompletableFuture<T> out = new OpFuture<>();
        starts.add(() -> op.get().whenComplete((r, e) -> {
            if (e != null) {
                out.completeExceptionally(Futures.unwrap(e));
            } else {
                out.complete(r);
            }
        }));
        return out;
    }

    @Override
    public CompletableFuture<Integer> read(IoFile file, MemorySegment dst, long position) {
        return add(() -> file.readAsync(dst, position));
    }

    @Override
    public CompletableFuture<Integer> write(IoFile file, MemorySegment src, long position) {
        return add(() -> file.writeAsync(src, position));
    }

    @Override
    public CompletableFuture<Void> fsync(IoFile file) {
        return add(file::fsyncAsync);
    }

    @Override
    public int size() {
        return starts.size();
    }

    @Override
    public void submit() {
        if (submitted) {
            throw new IllegalStateException("batch already submitted");
        }
        submitted = true;
        starts.forEach(Runnable::run);
    }
}
