package dev.kura.io.internal;

import dev.kura.io.Errno;
import dev.kura.io.IoException;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Waiting on futures without pinning virtual threads, and unwrapping their failures. */
public final class Futures {
    private Futures() {
    }

    /** Strips the CompletionException / ExecutionException wrappers CompletableFuture adds. */
    public static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /**
     * Waits for {@code f} and returns its value. {@link CompletableFuture#join()} parks a virtual
     * thread rather than pinning its carrier, which is why this is safe in the blocking forms.
     *
     * @throws IoException the failure of {@code f}, or ECANCELED if it was cancelled
     */
    public static <T> T await(CompletableFuture<T> f) throws IoException {
        try {
            return f.join();
        } catch (CancellationException e) {
            throw new IoException(Errno.ECANCELED.value(), null, null, "operation cancelled", e);
        } catch (CompletionException e) {
            Throwable c = unwrap(e);
            if (c instanceof IoException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IoException(0, null, null, String.valueOf(c), c);
        }
    }
}
