package dev.kura.cache.internal;

import dev.kura.cache.BlockingCheck;
import dev.kura.io.FileIo;
import dev.kura.io.IoException;
import org.jspecify.annotations.Nullable;

import java.nio.file.Path;

/**
 * The {@link FileIo} a cache uses: the caller's, with {@link BlockingCheck#check} before every
 * blocking form. Asynchronous forms pass straight through.
 *
 * <p>Thread-safety: as the wrapped FileIo.
 */
final class CheckedFileIo extends FileIoDecorator {

    private CheckedFileIo(FileIo d) {
        super(d);
    }

    static FileIo wrap(FileIo io) {
        return io instanceof CheckedFileIo ? io : new CheckedFileIo(io);
    }

    @Override
    void beforeBlocking(String op, Path path) {
        BlockingCheck.check(op, path);
    }

    @Override
    @Nullable IoException beforeAsync(String op, Path path) {
        return null;
    }
}
