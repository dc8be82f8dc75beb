package dev.kura.io.internal;

import java.util.concurrent.CompletableFuture;

/**
 * The future of one kura-io operation, which {@link #cancel(boolean)} cannot complete early.
 *
 * <p>A plain {@link CompletableFuture} completes the moment {@code cancel} is called, while the
 * kernel or a pool thread may still be writing into the operation's buffer; a caller who frees the
 * buffer once the future is done (as {@link dev.kura.io.IoFile} allows) would then hand live memory
 * back to the allocator. So a submitted operation cannot be cancelled: {@code cancel} returns false
 * and the future completes with the operation's outcome.
 *
 * <p>Dependent stages ({@code thenApply}, ...) are plain CompletableFutures: the caller's own
 * stages stay cancellable, since cancelling them does not touch the buffer's owner.
 */
public final class OpFuture<T> extends CompletableFuture<T> {

    /** Has no effect on a kura-io operation; returns whether the future already was cancelled. */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        return isCancelled();
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>();
    }

    /** A future that completes as {@code f} does (failures unwrapped), and cannot be cancelled. */
    public static <T> OpFuture<T> of(CompletableFuture<T> f) {
        if (f instanceof OpFuture<T> op) {
            return op;
        }
        OpFuture<T> out = new OpFuture<>();
        f.whenComplete((r, e) -> {
            if (e != null) {
                out.completeExceptionally(Futures.unwrap(e));
            } else {
                out.complete(r);
            }
        });
        return out;
    }
}
