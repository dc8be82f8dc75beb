package dev.kura.cache.internal;

import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoException;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fault-injecting layer behind the kura-io seam: wraps any backend and fails chosen operations
 * with a chosen errno, as the kernel would. Works the same over NIO and io_uring. The forwarding
 * is {@link FileIoDecorator}'s; this class only decides.
 */
final class FaultyFileIo extends FileIoDecorator {
    /** Decides whether an operation fails: returns the errno to inject, or null. */
    interface Rule {
        /** @param op open, fstat, read, write or fsync (fdatasync is reported as fsync) */
        Errno check(String op, Path path);
    }

    volatile Rule rule = (op, p) -> null;
    final AtomicLong injected = new AtomicLong();
    /** Bytes written through every file of this FileIo, any form (tests check what an operation costs). */
    final AtomicLong bytesWritten = new AtomicLong();

    FaultyFileIo(FileIo delegate) {
        super(delegate);
    }

    @Override
    void beforeBlocking(String op, Path p) throws IoException {
        IoException e = beforeAsync(op, p);
        if (e != null) {
            throw e;
        }
    }

    @Override
    IoException beforeAsync(String op, Path p) {
        String name = op.equals("fdatasync") ? "fsync" : op;
        Errno e = rule.check(name, p);
        if (e == null) {
            return null;
        }
        injected.incrementAndGet();
        return new IoException(e, p, name);
    }

    @Override
    void written(long bytes) {
        bytesWritten.addAndGet(bytes);
    }
}
