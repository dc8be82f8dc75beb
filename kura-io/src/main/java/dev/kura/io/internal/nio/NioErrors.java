package dev.kura.io.internal.nio;

import dev.kura.io.Errno;
import dev.kura.io.IoException;

import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Maps the JDK's file exceptions onto errno values, so that the NIO backend reports the same
 * {@link IoException} as io_uring. The JDK gives the errno only as its {@code strerror(3)} text
 * (in {@link FileSystemException#getReason()} or the message), so that text is matched.
 */
final class NioErrors {
    private NioErrors() {
    }

    private static final Object[][] TEXTS = {
            {"no space left on device", Errno.ENOSPC},
            {"input/output error", Errno.EIO},
            {"is a directory", Errno.EISDIR},
            {"not a directory", Errno.ENOTDIR},
            {"permission denied", Errno.EACCES},
            {"operation not permitted", Errno.EPERM},
            {"read-only file system", Errno.EROFS},
            {"too many open files", Errno.EMFILE},
            {"disk quota exceeded", Errno.EDQUOT},
            {"file too large", Errno.EFBIG},
            {"no such file or directory", Errno.ENOENT},
            {"file exists", Errno.EEXIST},
            {"bad file descriptor", Errno.EBADF},
            {"invalid argument", Errno.EINVAL},
            {"block size", Errno.EINVAL},       // FileChannel's O_DIRECT alignment checks
            {"alignment", Errno.EINVAL},
            {"aligned", Errno.EINVAL},
            {"file name too long", Errno.ENAMETOOLONG},
            {"too many levels of symbolic links", Errno.ELOOP},
            {"broken pipe", Errno.EPIPE},       // strerror(EPIPE); e.g. /dev/kmsg records overwritten under a reader
    };

    static IoException translate(Throwable t, Path path, String op) {
        if (t instanceof IoException io) {
            return io;
        }
        Errno errno = switch (t) {
            case NoSuchFileException e -> Errno.ENOENT;
            case AccessDeniedException e -> Errno.EACCES;
            case FileAlreadyExistsException e -> Errno.EEXIST;
            case NotDirectoryException e -> Errno.ENOTDIR;
            case ClosedChannelException e -> Errno.EBADF;
            // FileChannel refuses a transfer against the open mode itself; pread(2)/pwrite(2) say EBADF
            case NonReadableChannelException e -> Errno.EBADF;
            case NonWritableChannelException e -> Errno.EBADF;
            case UnsupportedOperationException e -> Errno.EOPNOTSUPP;
            default -> byText(t);
        };
        String detail = t instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : t.getMessage();
        if (errno == Errno.UNKNOWN) {
            return new IoException(0, path, op, String.valueOf(detail), t);
        }
        return new IoException(errno.value(), path, op, detail == null ? null : detail, t);
    }

    private static Errno byText(Throwable t) {
        String text = (t instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : String.valueOf(t.getMessage()))
                .toLowerCase(Locale.ROOT);
        for (Object[] row : TEXTS) {
            if (text.contains((String) row[0])) {
                return (Errno) row[1];
            }
        }
        return Errno.UNKNOWN;
    }
}
