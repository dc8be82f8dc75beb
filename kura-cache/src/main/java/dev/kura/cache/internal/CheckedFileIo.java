package dev.kura.cache.internal;

import dev.kura.cache.BlockingCheck;
import dev.kura.io.Backend;
import dev.kura.io.BackendInfo;
import dev.kura.io.FileIo;
import dev.kura.io.IoBatch;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import dev.kura.io.internal.SimpleBatch;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The {@link FileIo} a cache uses: the caller's, with {@link BlockingCheck#check} before every
 * blocking form. Asynchronous forms pass straight through.
 *
 * <p>Thread-safety: as the wrapped FileIo.
 */
final class CheckedFileIo implements FileIo {
    private final FileIo d;

    private CheckedFileIo(FileIo d) {
        this.d = d;
    }

    static FileIo wrap(FileIo io) {
        return io instanceof CheckedFileIo ? io : new CheckedFileIo(io);
    }

    @Override
    public Backend backend() {
        return d.backend();
    }

    @Override
    public BackendInfo info() {
        return d.info();
    }

    @Override
    public IoFile open(Path path, OpenFlag... flags) throws IoException {
        BlockingCheck.check("open", path);
        return new F(d.open(path, flags));
    }

    @Override
    public CompletableFuture<IoFile> openAsync(Path path, OpenFlag... flags) {
        return d.openAsync(path, flags).thenApply(F::new);
    }

    @Override
    public IoBatch batch() {
        // each operation goes through the wrapped file's own asynchronous form
        return new SimpleBatch();
    }

    @Override
    public void close() {
        d.close();
    }

    /** A file whose blocking forms are checked. */
    private static final class F implements IoFile {
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
            BlockingCheck.check("fstat", d.path());
            return d.size();
        }

        @Override
        public CompletableFuture<Integer> readAsync(MemorySegment dst, long position) {
            return d.readAsync(dst, position);
        }

        @Override
        public CompletableFuture<Integer> readAsync(ByteBuffer dst, long position) {
            return d.readAsync(dst, position);
        }

        @Override
        public CompletableFuture<Integer> writeAsync(MemorySegment src, long position) {
            return d.writeAsync(src, position);
        }

        @Override
        public CompletableFuture<Integer> writeAsync(ByteBuffer src, long position) {
            return d.writeAsync(src, position);
        }

        @Override
        public CompletableFuture<Long> readFullyAsync(MemorySegment dst, long position) {
            return d.readFullyAsync(dst, position);
        }

        @Override
        public CompletableFuture<Void> writeFullyAsync(MemorySegment src, long position) {
            return d.writeFullyAsync(src, position);
        }

        @Override
        public CompletableFuture<Void> fsyncAsync() {
            return d.fsyncAsync();
        }

        @Override
        public CompletableFuture<Void> fdatasyncAsync() {
            return d.fdatasyncAsync();
        }

        @Override
        public int read(MemorySegment dst, long position) throws IoException {
            BlockingCheck.check("read", d.path());
            return d.read(dst, position);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IoException {
            BlockingCheck.check("read", d.path());
            return d.read(dst, position);
        }

        @Override
        public int write(MemorySegment src, long position) throws IoException {
            BlockingCheck.check("write", d.path());
            return d.write(src, position);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IoException {
            BlockingCheck.check("write", d.path());
            return d.write(src, position);
        }

        @Override
        public long readFully(MemorySegment dst, long position) throws IoException {
            BlockingCheck.check("read", d.path());
            return d.readFully(dst, position);
        }

        @Override
        public void writeFully(MemorySegment src, long position) throws IoException {
            BlockingCheck.check("write", d.path());
            d.writeFully(src, position);
        }

        @Override
        public void fsync() throws IoException {
            BlockingCheck.check("fsync", d.path());
            d.fsync();
        }

        @Override
        public void fdatasync() throws IoException {
            BlockingCheck.check("fdatasync", d.path());
            d.fdatasync();
        }

        @Override
        public void close() throws IoException {
            // not checked: kura-cache closes a file only after its operations completed (see BlockingCheck)
            d.close();
        }
    }
}
