package dev.kura.cache.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The directory operations of the disk tier: the only place besides kura-io's {@code FileIo} where
 * the cache touches the file system. Keeping them behind one small interface lets tests inject
 * faults (EIO, EACCES, ENOSPC) into renames, unlinks and listings as they do into reads and writes.
 *
 * <p>Errors are {@link dev.kura.io.IoException}s naming the errno, like kura-io's.
 *
 * <p>Thread-safety: implementations must be safe for concurrent use.
 */
public interface Fs {

    /** Creates {@code dir} and its parents if missing. */
    void mkdirs(Path dir) throws IOException;

    /** Atomically replaces {@code to} with {@code from} ({@code rename(2)}). */
    void rename(Path from, Path to) throws IOException;

    /** Removes a file; false when it did not exist. */
    boolean unlink(Path file) throws IOException;

    /** Names (not paths) of the entries of {@code dir}; empty when it does not exist. */
    List<String> list(Path dir) throws IOException;


    /** {@code fsync(2)} of a directory, so that renames and unlinks in it survive power loss. */
    void fsyncDir(Path dir) throws IOException;

    /**
     * Takes an exclusive lock on {@code file} (created if missing) for the life of the process or
     * until the returned handle is closed.
     *
     * @throws IOException when another process holds it
     */
    AutoCloseable lock(Path file) throws IOException;
}
