package dev.kura.io;

import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A failed file operation, naming the kernel error number and the file.
 *
 * <p>Every error kura-io reports is one of these, whichever backend ran the operation, so that
 * callers can branch on {@link #errno()} (for example {@link Errno#ENOSPC} to stop admitting
 * writes) instead of parsing messages. The message has the form
 * {@code "ENOSPC: No space left on device: /var/cache/kura/ab/cd (write)"}.
 *
 * <p>Reading at or past end of file is never an error: it is a short read.
 *
 * <p>Thread-safety: immutable once thrown.
 */
public class IoException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Errno errno;
    private final int errnoValue;
    private final transient @Nullable Path path;
    private final @Nullable String operation;

    /**
     * @param errnoValue the positive kernel error number (or the negative CQE result)
     * @param path the file the operation was on, or {@code null} when there is none
     * @param operation a short name of the operation ({@code "read"}, {@code "open"}, ...)
     * @param detail a human-readable description, or {@code null} for the standard strerror text
     * @param cause the JDK exception this one translates, or {@code null}
     */
    public IoException(int errnoValue, @Nullable Path path, @Nullable String operation, @Nullable String detail,
            @Nullable Throwable cause) {
        super(message(Errno.of(errnoValue), path, operation, detail), cause);
        this.errnoValue = Math.abs(errnoValue);
        this.errno = Errno.of(errnoValue);
        this.path = path;
        this.operation = operation;
    }

    /** Same as {@code new IoException(errno.value(), path, operation, null, null)}. */
    public IoException(Errno errno, @Nullable Path path, String operation) {
        this(errno.value(), path, operation, null, null);
    }

    /** The error number, or {@link Errno#UNKNOWN} when the raw value is not a listed one. */
    public Errno errno() {
        return errno;
    }

    /** The raw positive kernel error number; 0 when the error did not come from the kernel. */
    public int errnoValue() {
        return errnoValue;
    }

    /** The file the operation was on, or {@code null}. */
    public @Nullable Path path() {
        return path;
    }

    /** The operation that failed: {@code open}, {@code read}, {@code write}, {@code fsync}, ... */
    public @Nullable String operation() {
        return operation;
    }

    private static String message(Errno errno, @Nullable Path path, @Nullable String operation, @Nullable String detail) {
        StringBuilder sb = new StringBuilder(errno.name()).append(": ")
                .append(detail != null ? detail : strerror(errno));
        if (path != null) {
            sb.append(": ").append(path);
        }
        if (operation != null) {
            sb.append(" (").append(operation).append(')');
        }
        return sb.toString();
    }

    /** The glibc {@code strerror(3)} text for the common error numbers. */
    public static String strerror(Errno errno) {
        return switch (errno) {
            case EPERM -> "Operation not permitted";
            case ENOENT -> "No such file or directory";
            case EINTR -> "Interrupted system call";
            case EIO -> "Input/output error";
            case EBADF -> "Bad file descriptor";
            case EAGAIN -> "Resource temporarily unavailable";
            case ENOMEM -> "Cannot allocate memory";
            case EACCES -> "Permission denied";
            case EEXIST -> "File exists";
            case ENOTDIR -> "Not a directory";
            case EISDIR -> "Is a directory";
            case EINVAL -> "Invalid argument";
            case EMFILE -> "Too many open files";
            case EFBIG -> "File too large";
            case ENOSPC -> "No space left on device";
            case EROFS -> "Read-only file system";
            case ENOSYS -> "Function not implemented";
            case EOPNOTSUPP -> "Operation not supported";
            case ECANCELED -> "Operation canceled";
            case EDQUOT -> "Disk quota exceeded";
            case ENAMETOOLONG -> "File name too long";
            case ELOOP -> "Too many levels of symbolic links";
            default -> "error " + errno.value();
        };
    }
}
