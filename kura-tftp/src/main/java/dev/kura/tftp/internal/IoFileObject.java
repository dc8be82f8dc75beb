package dev.kura.tftp.internal;

import dev.kura.io.IoFile;
import dev.kura.tftp.TftpSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * A file under {@code tftp.root}, opened through kura-io, as a {@link TftpSource.OpenObject}: the
 * one read path ({@link FileBlockReader}) serves local files and source objects alike.
 *
 * <p>Thread-safety: as {@link IoFile}: reads may be issued from any thread.
 */
final class IoFileObject implements TftpSource.OpenObject {

    private final IoFile file;
    private final long size;

    IoFileObject(IoFile file, long size) {
        this.file = file;
        this.size = size;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public CompletableFuture<Integer> read(ByteBuffer dst, long position) {
        return file.readFullyAsync(MemorySegment.ofBuffer(dst), position).thenApply(Long::intValue);
    }

    /** The page-cache part of the range, copied on this thread ({@code preadv2} with {@code RWF_NOWAIT}). */
    @Override
    public int readNow(ByteBuffer dst, long position) throws IOException {
        return file.readIfCached(MemorySegment.ofBuffer(dst), position);
    }

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException ignored) {
            // Read-only descriptor: nothing is lost when its close fails.
        }
    }
}
