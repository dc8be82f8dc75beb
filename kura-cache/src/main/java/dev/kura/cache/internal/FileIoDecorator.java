package dev.kura.cache.internal;

import dev.kura.io.Backend;
import dev.kura.io.BackendInfo;
import dev.kura.io.FileIo;
import dev.kura.io.IoBatch;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import org.jspecify.annotations.Nullable;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link FileIo} that forwards every operation to another, with a hook before each one and a
 * count of bytes written after: the one decorator behind {@link CheckedFileIo} (a check before
 * each blocking form) and the tests' {@code FaultyFileIo} (an injected errno before any form).
 * Each operation is named as the system call it stands for: {@code open}, {@code fstat},
 * {@code read}, {@code write}, {@code fsync}, {@code fdatasync}; {@code close} passes through
 * unhooked (kura-cache closes a file only after its operations completed).
 *
 * <p>Batches go through the decorated files' asynchronous forms ({@link IoBatch#ofAsyncForms}),
 * so the hooks see them too.
 *
 * <p>Thread-safety: as the wrapped FileIo, if the hooks are thread-safe.
 */
abstract class FileIoDecorator implements FileIo {
    private final FileIo delegate;

    FileIoDecorator(FileIo delegate) {
        this.delegate = delegate;
    }

    /** Before a blocking operation: throws to fail it. */
    abstract void beforeBlocking(String op, Path path) throws IoException;

    /** Before an asynchronous operation: the failure to complete it with instead, or null to run it. */
    abstract @Nullable IoException beforeAsync(String op, Path path);

    /** After {@code bytes} were written through any form. */
    void written(long bytes) {
    }

    private <T> @Nullable CompletableFuture<T> refused(String op, Path path) {
        IoException e = beforeAsync(op, path);
        return e == null ? null : CompletableFuture.failedFuture(e);
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
        beforeBlocking("open", path);
        return new F(delegate.open(path, flags));
    }

    @Override
    public CompletableFuture<IoFile> openAsync(Path path, OpenFlag... flags) {
        CompletableFuture<IoFile> f = refused("open", path);
        return f != null ? f : delegate.openAsync(path, flags).thenApply(F::new);
    }

    @Override
    public IoBatch batch() {
        // each operation goes through the decorated file's own asynchronous form
        return IoBatch.ofAsyncForms();
    }

    @Override
    public void close() {
        delegate.close();
    }

    /** A file whose operations pass the hooks. */
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
            beforeBlocking("fstat", d.path());
            return d.size();
        }

        @Override
        public CompletableFuture<Integer> readAsync(MemorySegment dst, long position) {
            CompletableFuture<Integer> f = refused("read", d.path());
            return f != null ? f : d.readAsync(dst, position);
        }

        @Override
        public CompletableFuture<Integer> readAsync(ByteBuffer dst, long position) {
            CompletableFuture<Integer> f = refused("read", d.path());
            return f != null ? f : d.readAsync(dst, position);
        }

        @Override
        public CompletableFuture<Integer> writeAsync(MemorySegment src, long position) {
            CompletableFuture<Integer> f = refused("write", d.path());
            return f != null ? f : d.writeAsync(src, position).thenApply(this::counted);
        }

        @Override
        public CompletableFuture<Integer> writeAsync(ByteBuffer src, long position) {
            CompletableFuture<Integer> f = refused("write", d.path());
            return f != null ? f : d.writeAsync(src, position).thenApply(this::counted);
        }

        @Override
        public CompletableFuture<Long> readFullyAsync(MemorySegment dst, long position) {
            CompletableFuture<Long> f = refused("read", d.path());
            return f != null ? f : d.readFullyAsync(dst, position);
        }

        @Override
        public CompletableFuture<Long> readFullyAsync(java.util.List<MemorySegment> dsts, long position) {
            CompletableFuture<Long> f = refused("read", d.path());
            return f != null ? f : d.readFullyAsync(dsts, position);
        }

        /**
         * Never blocks, so it passes the asynchronous forms' hook: an injected fault fails it too.
         * (The one-segment form is IoFile's default over this one.)
         */
        @Override
        public long readIfCached(java.util.List<MemorySegment> dsts, long position) throws IoException {
            IoException e = beforeAsync("read", d.path());
            if (e != null) {
                throw e;
            }
            return d.readIfCached(dsts, position);
        }

        @Override
        public CompletableFuture<Void> writeFullyAsync(MemorySegment src, long position) {
            CompletableFuture<Void> f = refused("write", d.path());
            long n = src.byteSize();
            return f != null ? f : d.writeFullyAsync(src, position).thenRun(() -> written(n));
        }

        @Override
        public CompletableFuture<Void> fsyncAsync() {
            CompletableFuture<Void> f = refused("fsync", d.path());
            return f != null ? f : d.fsyncAsync();
        }

        @Override
        public CompletableFuture<Void> fdatasyncAsync() {
            CompletableFuture<Void> f = refused("fdatasync", d.path());
            return f != null ? f : d.fdatasyncAsync();
        }

        private int counted(int n) {
            written(n);
            return n;
        }

        @Override
        public int read(MemorySegment dst, long position) throws IoException {
            beforeBlocking("read", d.path());
            return d.read(dst, position);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IoException {
            beforeBlocking("read", d.path());
            return d.read(dst, position);
        }

        @Override
        public int write(MemorySegment src, long position) throws IoException {
            beforeBlocking("write", d.path());
            return counted(d.write(src, position));
        }

        @Override
        public int write(ByteBuffer src, long position) throws IoException {
            beforeBlocking("write", d.path());
            return counted(d.write(src, position));
        }

        @Override
        public long readFully(MemorySegment dst, long position) throws IoException {
            beforeBlocking("read", d.path());
            return d.readFully(dst, position);
        }

        @Override
        public void writeFully(MemorySegment src, long position) throws IoException {
            beforeBlocking("write", d.path());
            d.writeFully(src, position);
            written(src.byteSize());
        }

        @Override
        public void fsync() throws IoException {
            beforeBlocking("fsync", d.path());
            d.fsync();
        }

        @Override
        public void fdatasync() throws IoException {
            beforeBlocking("fdatasync", d.path());
            d.fdatasync();
        }

        @Override
        public void close() throws IoException {
            d.close();
        }
    }
}
