package dev.kura.io.internal.nio;

import org.jspecify.annotations.Nullable;
import dev.kura.io.IoException;
import dev.kura.io.OpenFlag;
import dev.kura.io.internal.AbstractIoFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/** A file of the {@link NioFileIo} backend: one {@link FileChannel}, shared by all threads. */
final class NioIoFile extends AbstractIoFile {
    private final NioFileIo io;
    private final FileChannel ch;

    NioIoFile(NioFileIo io, Path path, Set<OpenFlag> flags, FileChannel ch) {
        super(path, flags);
        this.io = io;
        this.ch = ch;
    }

    @FunctionalInterface
    private interface Op<T> {
        /** The result; null only for Void operations. */
        @Nullable T run() throws IOException;
    }

    private <T> CompletableFuture<T> submit(String name, Op<T> op) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            io.execute(() -> {
                try {
                    f.complete(op.run());
                } catch (Throwable e) {
                    f.completeExceptionally(NioErrors.translate(e, path, name));
                }
            });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(closedError(name));
        }
        return f;
    }

    /**
     * FileChannel transfers through a ByteBuffer; a heap segment is wrapped as a heap buffer (the
     * JDK then copies through a temporary direct buffer, as it always does for heap buffers).
     */
    private static ByteBuffer buffer(MemorySegment seg) {
        return seg.asByteBuffer();
    }

    private int pread(MemorySegment dst, long position) throws IOException {
        int n = ch.read(buffer(dst), position);
        return Math.max(n, 0); // FileChannel says -1 at end of file; kura-io says 0
    }

    private int pwrite(MemorySegment src, long position) throws IOException {
        return ch.write(buffer(src), position);
    }

    @Override
    protected CompletableFuture<Integer> startRead(MemorySegment dst, long position) {
        return submit("read", () -> pread(dst, position));
    }

    @Override
    protected CompletableFuture<Integer> startWrite(MemorySegment src, long position) {
        return submit("write", () -> pwrite(src, position));
    }

    @Override
    protected CompletableFuture<Void> startSync(boolean dataOnly) {
        return submit(dataOnly ? "fdatasync" : "fsync", () -> {
            ch.force(!dataOnly);
            return null;
        });
    }

    @Override
    protected Integer tryDirect(boolean write, MemorySegment buf, long position) throws IoException {
        try {
            return write ? pwrite(buf, position) : pread(buf, position);
        } catch (IOException | NonReadableChannelException | NonWritableChannelException e) {
            throw NioErrors.translate(e, path, write ? "write" : "read");
        }
    }

    @Override
    public long size() throws IoException {
        if (!enter()) {
            throw closedError("fstat");
        }
        try {
            return ch.size();
        } catch (IOException e) {
            throw NioErrors.translate(e, path, "fstat");
        } finally {
            exit();
        }
    }

    @Override
    protected void closeDescriptor() throws IoException {
        try {
            ch.close();
        } catch (IOException e) {
            throw NioErrors.translate(e, path, "close");
        }
    }

    @Override
    protected void onClosed() {
        io.forget(this);
    }
}
