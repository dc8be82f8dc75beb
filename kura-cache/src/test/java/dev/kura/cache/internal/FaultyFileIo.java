package dev.kura.cache.internal;

import dev.kura.io.Backend;
import dev.kura.io.BackendInfo;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoBatch;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fault-injecting layer behind the kura-io seam: wraps any backend and fails chosen operations
 * with a chosen errno, as the kernel would. Works the same over NIO and io_uring.
 */
final class FaultyFileIo implements FileIo {
    /** Decides whether an operation fails: returns the errno to inject, or null. */
    interface Rule {
        Errno check(String op, Path path);
    }

    private final FileIo delegate;
    volatile Rule rule = (op, p) -> null;
    final AtomicLong injected = new AtomicLong();
    /** Bytes written through every file of this FileIo, any form (tests check what an operation costs). */
    final AtomicLong bytesWritten = new AtomicLong();

    FaultyFileIo(FileIo delegate) {
        this.delegate = delegate;
    }

    private void check(String op, Path p) throws IoException {
        Errno e = rule.check(op, p);
        if (e != null) {
            injected.incrementAndGet();
            throw new IoException(e, p, op);
        }
    }

    private <T> CompletableFuture<T> checkAsync(String op, Path p) {
        try {
            check(op, p);
            return null;
        } catch (IoException ex) {
            return CompletableFuture.failedFuture(ex);
        }
    }

    @Override
    public Backend backend() {
        return delegate.backend();
    }

    @Override
    public BackendInfo info() {
        return delegate.info();
    }

    @Override
    public IoFile open(Path path, OpenFlag... flags) throws IoException {
        check("open", path);
        return new F(delegate.open(path, flags));
    }

    @Override
    public CompletableFuture<IoFile> openAsync(Path path, OpenFlag... flags) {
        CompletableFuture<IoFile> f = checkAsync("open", path);
        return f != null ? f : delegate.openAsync(path, flags).thenApply(F::new);
    }

    @Override
    public IoBatch batch() {
        // Each operation of this batch goes through the faulty file's own async form, so faults apply.
        return new dev.kura.io.internal.SimpleBatch();
    }

    @Override
    public void close() {
        delegate.close();
    }

    private final class F implements IoFile {
        private final IoFile d;

        F(IoFile d) {
            this.d = d;
        }

        @Override
        public Path path() {
            return d.path();
        }

        @Override
        public Set<OpenFlag> flags() {
            return d.flags();
        }

        @Override
        public long size() throws IoException {
            check("fstat", d.path());
            return d.size();
        }

        @Override
        public CompletableFuture<Integer> readAsync(MemorySegment dst, long position) {
            CompletableFuture<Integer> f = checkAsync("read", d.path());
            return f != null ? f : d.readAsync(dst, position);
        }

        @Override
        public CompletableFuture<Integer> readAsync(ByteBuffer dst, long position) {
            CompletableFuture<Integer> f = checkAsync("read", d.path());
            return f != null ? f : d.readAsync(dst, position);
        }

        @Override
        public CompletableFuture<Integer> writeAsync(MemorySegment src, long position) {
            CompletableFuture<Integer> f = checkAsync("write", d.path());
            return f != null ? f : d.writeAsync(src, position).thenApply(this::counted);
        }

        @Override
        public CompletableFuture<Integer> writeAsync(ByteBuffer src, long position) {
            CompletableFuture<Integer> f = checkAsync("write", d.path());
            return f != null ? f : d.writeAsync(src, position).thenApply(this::counted);
        }

        @Override
        public CompletableFuture<Long> readFullyAsync(MemorySegment dst, long position) {
            CompletableFuture<Long> f = checkAsync("read", d.path());
            return f != null ? f : d.readFullyAsync(dst, position);
        }

        @Override
        public CompletableFuture<Void> writeFullyAsync(MemorySegment src, long position) {
            CompletableFuture<Void> f = checkAsync("write", d.path());
            long n = src.byteSize();
            return f != null ? f : d.writeFullyAsync(src, position).thenRun(() -> bytesWritten.addAndGet(n));
        }

        @Override
        public CompletableFuture<Void> fsyncAsync() {
            CompletableFuture<Void> f = checkAsync("fsync", d.path());
            return f != null ? f : d.fsyncAsync();
        }

        @Override
        public CompletableFuture<Void> fdatasyncAsync() {
            CompletableFuture<Void> f = checkAsync("fsync", d.path());
            return f != null ? f : d.fdatasyncAsync();
        }

        private int counted(int n) {
            bytesWritten.addAndGet(n);
            return n;
        }

        @Override
        public int read(MemorySegment dst, long position) throws IoException {
            check("read", d.path());
            return d.read(dst, position);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IoException {
            check("read", d.path());
            return d.read(dst, position);
        }

        @Override
        public int write(MemorySegment src, long position) throws IoException {
            check("write", d.path());
            return counted(d.write(src, position));
        }

        @Override
        public int write(ByteBuffer src, long position) throws IoException {
            check("write", d.path());
            return counted(d.write(src, position));
        }

        @Override
        public long readFully(MemorySegment dst, long position) throws IoException {
            check("read", d.path());
            return d.readFully(dst, position);
        }

        @Override
        public void writeFully(MemorySegment src, long position) throws IoException {
            check("write", d.path());
            d.writeFully(src, position);
            bytesWritten.addAndGet(src.byteSize());
        }

        @Override
        public void fsync() throws IoException {
            check("fsync", d.path());
            d.fsync();
        }

        @Override
        public void fdatasync() throws IoException {
            check("fsync", d.path());
            d.fdatasync();
        }

        @Override
        public void close() throws IoException {
            d.close();
        }
    }
}
