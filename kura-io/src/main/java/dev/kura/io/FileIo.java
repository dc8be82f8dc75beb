package dev.kura.io;

import dev.kura.io.internal.BackendSelector;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * kura's file I/O: a backend that opens files and runs positional reads, writes and syncs on them,
 * asynchronously or blocking.
 *
 * <p>Two backends implement it, and one conformance suite checks that they behave the same:
 * <ul>
 *   <li><b>io_uring</b>: the kernel's asynchronous I/O interface, called through the Foreign
 *       Function &amp; Memory API ({@code io_uring_setup(2)}, {@code io_uring_enter(2)},
 *       {@code io_uring_register(2)}, {@code mmap(2)}); several rings, each owned by a platform
 *       thread. No native library is needed.</li>
 *   <li><b>nio</b>: {@link java.nio.channels.FileChannel} positional I/O on a pool of platform
 *       threads; what the JDK's AsynchronousFileChannel does, and the fallback.</li>
 * </ul>
 * {@link #create(IoConfig)} picks one as {@link IoConfig#backend()} says; {@link #info()} tells
 * which and why.
 *
 * <p>Usage:
 * <pre>{@code
 * try (FileIo io = FileIo.create(IoConfig.defaults());
 *      IoFile f = io.open(path, OpenFlag.READ);
 *      Arena arena = Arena.ofConfined()) {
 *     MemorySegment buf = arena.allocate(4096, 4096);
 *     int n = f.read(buf, 0);
 * }
 * }</pre>
 *
 * <p>Thread-safety: safe for concurrent use from platform and virtual threads.
 */
public interface FileIo extends AutoCloseable {

    /**
     * Starts a backend as {@code config} says.
     *
     * @throws IoException when {@link Backend#IO_URING} is asked for and cannot run here; the
     *     message says why (ENOSYS: kernel without io_uring; EPERM: {@code kernel.io_uring_disabled}
     *     or seccomp; ENOMEM: locked-memory limit; EOPNOTSUPP: an opcode kura needs is missing)
     */
    static FileIo create(IoConfig config) throws IoException {
        return BackendSelector.create(config);
    }

    /** Same as {@code create(IoConfig.defaults())}: io_uring where it runs, NIO otherwise. */
    static FileIo create() throws IoException {
        return create(IoConfig.defaults());
    }

    /** The backend running: {@link Backend#IO_URING} or {@link Backend#NIO}. */
    Backend backend();

    /** What was chosen and why, the kernel, and the io_uring features and opcodes found. */
    BackendInfo info();

    /**
     * Opens a file ({@code open(2)} / {@code openat(2)}).
     *
     * @param flags at least one of READ and WRITE
     * @throws IoException ENOENT, EACCES, EISDIR (WRITE on a directory), EEXIST (CREATE_NEW),
     *     EINVAL (DIRECT on a filesystem without it), EMFILE, ...
     * @throws IllegalArgumentException when neither READ nor WRITE is given
     */
    IoFile open(Path path, OpenFlag... flags) throws IoException;

    /** Asynchronous form of {@link #open(Path, OpenFlag...)}. */
    CompletableFuture<IoFile> openAsync(Path path, OpenFlag... flags);

    /** Starts a batch of operations to submit together. */
    IoBatch batch();

    /**
     * Stops the backend: files still open are closed (their operations in flight are waited for),
     * then the rings or the pool are released. Idempotent.
     */
    @Override
    void close();
}
