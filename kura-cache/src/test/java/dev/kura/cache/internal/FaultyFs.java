package dev.kura.cache.internal;

import dev.kura.io.Errno;
import dev.kura.io.IoException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** An {@link Fs} that fails chosen directory operations with a chosen errno. */
final class FaultyFs implements Fs {
    private final Fs d = NioFs.INSTANCE;
    volatile FaultyFileIo.Rule rule = (op, p) -> null;
    final AtomicLong injected = new AtomicLong();

    private void check(String op, Path p) throws IoException {
        Errno e = rule.check(op, p);
        if (e != null) {
            injected.incrementAndGet();
            throw new IoException(e, p, op);
        }
    }

    @Override
    public void mkdirs(Path dir) throws IOException {
        check("mkdir", dir);
        d.mkdirs(dir);
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        check("rename", to);
        d.rename(from, to);
    }

    @Override
    public boolean unlink(Path file) throws IOException {
        check("unlink", file);
        return d.unlink(file);
    }

    @Override
    public List<String> list(Path dir) throws IOException {
        check("list", dir);
        return d.list(dir);
    }


    @Override
    public void fsyncDir(Path dir) throws IOException {
        check("fsync", dir);
        d.fsyncDir(dir);
    }

    @Override
    public AutoCloseable lock(Path file) throws IOException {
        check("lock", file);
        return d.lock(file);
    }
}
