package dev.kura.cache.internal;

import dev.kura.cache.BlockingCheck;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@link Fs} a cache uses: the caller's, with {@link BlockingCheck#check} before every
 * operation (all of them block).
 *
 * <p>Thread-safety: as the wrapped Fs.
 */
final class CheckedFs implements Fs {
    private final Fs d;

    private CheckedFs(Fs d) {
        this.d = d;
    }

    static Fs wrap(Fs fs) {
        return fs instanceof CheckedFs ? fs : new CheckedFs(fs);
    }

    @Override
    public void mkdirs(Path dir) throws IOException {
        BlockingCheck.check("mkdir", dir);
        d.mkdirs(dir);
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        BlockingCheck.check("rename", to);
        d.rename(from, to);
    }

    @Override
    public boolean unlink(Path file) throws IOException {
        BlockingCheck.check("unlink", file);
        return d.unlink(file);
    }

    @Override
    public List<String> list(Path dir) throws IOException {
        BlockingCheck.check("list", dir);
        return d.list(dir);
    }

    @Override
    public void fsyncDir(Path dir) throws IOException {
        BlockingCheck.check("fsync", dir);
        d.fsyncDir(dir);
    }

    @Override
    public AutoCloseable lock(Path file) throws IOException {
        BlockingCheck.check("lock", file);
        return d.lock(file);
    }
}
