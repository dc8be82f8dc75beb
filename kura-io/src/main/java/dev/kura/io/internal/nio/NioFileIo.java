package dev.kura.io.internal.nio;

import dev.kura.io.Backend;
import dev.kura.io.BackendInfo;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoBatch;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import dev.kura.io.internal.Kernel;
import dev.kura.io.internal.OpenFlags;
import dev.kura.io.internal.SimpleBatch;

import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The portable backend: {@link FileChannel} positional I/O ({@code pread(2)}/{@code pwrite(2)})
 * run on a fixed pool of platform threads.
 *
 * <p>This is what the JDK's {@code AsynchronousFileChannel} and tokio's {@code spawn_blocking}
 * file I/O do, and so it is both the fallback and the baseline io_uring is measured against. Every
 * asynchronous operation costs a hand-off to a pool thread and back (two context switches); the
 * blocking form called from a platform thread skips the hand-off and runs on the caller, while from
 * a virtual thread it goes through the pool so that the carrier is never pinned by a blocking
 * {@code pread}.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public final class NioFileIo implements FileIo {
    private final ExecutorService pool;
    private final BackendInfo info;
    private final Set<NioIoFile> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    public NioFileIo(IoConfig config, String reason) {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor tpe = new ThreadPoolExecutor(config.nioThreads(), config.nioThreads(),
                30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = Thread.ofPlatform().daemon().name("kura-nio-" + n.incrementAndGet()).unstarted(r);
            return t;
        });
        tpe.allowCoreThreadTimeOut(true);
        this.pool = tpe;
        this.info = new BackendInfo(Backend.NIO, config.backend(), reason, Kernel.release(),
                List.of(), List.of(), List.of(), config.nioThreads(), 0);
    }

    @Override
    public Backend backend() {
        return Backend.NIO;
    }

    @Override
    public BackendInfo info() {
        return info;
    }

    static Set<OpenOption> options(Set<OpenFlag> flags) {
        Set<OpenOption> o = new HashSet<>();
        if (flags.contains(OpenFlag.READ)) {
            o.add(StandardOpenOption.READ);
        }
        if (flags.contains(OpenFlag.WRITE)) {
            o.add(StandardOpenOption.WRITE);
        }
        if (flags.contains(OpenFlag.CREATE)) {
            o.add(StandardOpenOption.CREATE);
        }
        if (flags.contains(OpenFlag.CREATE_NEW)) {
            o.add(StandardOpenOption.CREATE_NEW);
        }
        if (flags.contains(OpenFlag.TRUNCATE)) {
            o.add(StandardOpenOption.TRUNCATE_EXISTING);
        }
        if (flags.contains(OpenFlag.DIRECT)) {
            o.add(com.sun.nio.file.ExtendedOpenOption.DIRECT);
        }
        return o;
    }

    @Override
    public IoFile open(Path path, OpenFlag... flags) throws IoException {
        Set<OpenFlag> set = OpenFlags.of(flags);
        if (closed) {
            throw new IoException(Errno.EBADF.value(), path, "open", "file I/O backend is closed", null);
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(path, options(set));
        } catch (Exception e) {
            throw NioErrors.translate(e, path, "open");
        }
        NioIoFile f = new NioIoFile(this, path, set, ch);
        open.add(f);
        return f;
    }

    @Override
    public CompletableFuture<IoFile> openAsync(Path path, OpenFlag... flags) {
        CompletableFuture<IoFile> out = new CompletableFuture<>();
        try {
            OpenFlags.of(flags);
            pool.execute(() -> {
                try {
                    out.complete(open(path, flags));
                } catch (Throwable e) {
                    out.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            out.completeExceptionally(new IoException(Errno.EBADF.value(), path, "open", "file I/O backend is closed", e));
        } catch (RuntimeException e) {
            out.completeExceptionally(e);
        }
        return out;
    }

    /** Runs {@code task} on the pool; fails with EBADF once the backend is closed. */
    void execute(Runnable task) {
        pool.execute(task);
    }

    void forget(NioIoFile f) {
        open.remove(f);
    }

    @Override
    public IoBatch batch() {
        return new SimpleBatch();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (NioIoFile f : List.copyOf(open)) {
            try {
                f.close();
            } catch (IoException ignored) {
                // the descriptor is gone either way; the backend is shutting down
            }
        }
        pool.shutdown();
        try {
            pool.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
