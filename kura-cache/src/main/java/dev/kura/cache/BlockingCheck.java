package dev.kura.cache;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import org.jspecify.annotations.Nullable;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A check, for tests, that no blocking file operation of kura-cache runs on a thread that must
 * never wait on a disk (a Netty event loop): issue 8 §3.
 *
 * <h2>How</h2>
 * Every {@link Cache} sees its {@code FileIo} and directory operations through a thin wrapper
 * that calls {@link #check} before each <em>blocking</em> form (open, read, write, fsync, fstat,
 * rename, unlink, list, mkdir, lock). The asynchronous forms ({@code openAsync},
 * {@code readAsync}, ...) are not checked: they only submit. {@code close} of a file is not
 * checked either: kura-cache closes a descriptor only after its operations completed, so
 * {@code close(2)} does no I/O and never waits. A test installs a predicate naming the forbidden
 * threads (kura-s3's: Netty's event-loop threads); a blocking operation on such a thread is
 * recorded in {@link #violations()} and fails with {@link BlockingOperationError}, naming the
 * operation, the path and the thread. With no predicate installed (production) the check is one
 * volatile read.
 *
 * <h2>Why not BlockHound</h2>
 * BlockHound (io.projectreactor.tools:blockhound) instruments JDK natives with a Java agent (and
 * needs {@code -XX:+AllowRedefinitionToAddDeleteMethods} on recent JDKs); it would flag the NIO
 * backend's {@code pread} but, for the io_uring backend, only the parking of a blocking form, and
 * it knows nothing of kura-io's own threads. A check in the seam kura-cache already has (the
 * same one its fault injection uses) is precise about what it reports, works the same on both
 * backends, needs no agent or JVM flag, and kura-cache stays free of Netty: the predicate is
 * installed from outside. It was chosen without trying BlockHound on JDK 25.
 *
 * <p>Thread-safety: safe for concurrent use; the predicate is global to the JVM (tests that
 * install one must not run in parallel with tests that expect none).
 */
public final class BlockingCheck {
    private static volatile @Nullable Predicate<Thread> forbidden;
    @GuardedBy("VIOLATIONS")
    private static final List<String> VIOLATIONS = new ArrayList<>();

    private BlockingCheck() {
    }

    /** Thrown when a blocking file operation runs on a forbidden thread. */
    public static final class BlockingOperationError extends AssertionError {
        private static final long serialVersionUID = 1L;

        BlockingOperationError(String message) {
            super(message);
        }
    }

    /**
     * From now on, blocking file operations on threads for which {@code p} is true fail; clears
     * the violations recorded so far.
     */
    public static void forbidOn(Predicate<Thread> p) {
        synchronized (VIOLATIONS) {
            VIOLATIONS.clear();
        }
        forbidden = p;
    }

    /** Removes the predicate: nothing is checked any more. */
    public static void allowAll() {
        forbidden = null;
    }

    /** The violations since the last {@link #forbidOn}, each as "operation path on thread". */
    public static List<String> violations() {
        synchronized (VIOLATIONS) {
            return List.copyOf(VIOLATIONS);
        }
    }

    /**
     * Called before a blocking file operation (by kura-cache; other modules may call it before
     * theirs).
     *
     * @param op the operation, e.g. {@code "read"}
     * @param path the file or directory, for the message
     * @throws BlockingOperationError when the current thread is forbidden to block
     */
    public static void check(String op, Object path) {
        Predicate<Thread> p = forbidden;
        if (p == null) {
            return;
        }
        Thread t = Thread.currentThread();
        if (p.test(t)) {
            String v = "blocking " + op + " " + path + " on " + t.getName();
            synchronized (VIOLATIONS) {
                VIOLATIONS.add(v);
            }
            throw new BlockingOperationError(v);
        }
    }
}
