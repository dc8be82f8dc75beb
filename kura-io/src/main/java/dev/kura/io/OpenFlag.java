package dev.kura.io;

/**
 * How a file is opened: the subset of {@code open(2)} flags kura uses.
 *
 * <p>At least one of {@link #READ} and {@link #WRITE} must be given. {@link #DIRECT} bypasses the
 * page cache ({@code O_DIRECT}); every transfer on such a file must then use a buffer address, a
 * length and a file offset aligned to the device's logical block size (512 or 4096 bytes; 4096 is
 * always safe), or it fails with {@link Errno#EINVAL}. See {@code open(2)}, section "O_DIRECT".
 */
public enum OpenFlag {
    /** Open for reading ({@code O_RDONLY}, or {@code O_RDWR} together with {@link #WRITE}). */
    READ,
    /** Open for writing ({@code O_WRONLY}, or {@code O_RDWR} together with {@link #READ}). */
    WRITE,
    /** Create the file if it does not exist ({@code O_CREAT}, mode 0644 less the umask). */
    CREATE,
    /** Create the file and fail with {@link Errno#EEXIST} if it exists ({@code O_CREAT|O_EXCL}). */
    CREATE_NEW,
    /** Truncate an existing file to zero length ({@code O_TRUNC}). */
    TRUNCATE,
    /** Bypass the page cache ({@code O_DIRECT}); transfers must be block-aligned. */
    DIRECT
}
