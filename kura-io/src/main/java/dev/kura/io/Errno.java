package dev.kura.io;

/**
 * The Linux error numbers kura's file I/O reports, with their values from
 * {@code include/uapi/asm-generic/errno-base.h} and {@code errno.h} (x86-64 and arm64 share them).
 *
 * <p>The io_uring backend gets these straight from a CQE's negative {@code res}; the NIO backend
 * maps the JDK's exceptions onto them (see {@link IoException}). {@link #UNKNOWN} stands for a value
 * not listed here; {@link IoException#errnoValue()} still carries the raw number.
 *
 * <p>Thread-safety: immutable.
 */
public enum Errno {
    EPERM(1), ENOENT(2), EINTR(4), EIO(5), ENXIO(6), EBADF(9), EAGAIN(11), ENOMEM(12), EACCES(13),
    EFAULT(14), EBUSY(16), EEXIST(17), EXDEV(18), ENODEV(19), ENOTDIR(20), EISDIR(21), EINVAL(22),
    ENFILE(23), EMFILE(24), ETXTBSY(26), EFBIG(27), ENOSPC(28), ESPIPE(29), EROFS(30), EPIPE(32),
    ENAMETOOLONG(36), ENOSYS(38), ELOOP(40), EOVERFLOW(75), EOPNOTSUPP(95), ETIME(62),
    ECANCELED(125), EDQUOT(122), UNKNOWN(0);

    private final int value;

    Errno(int value) {
        this.value = value;
    }

    /** The positive kernel value of this error number, or 0 for {@link #UNKNOWN}. */
    public int value() {
        return value;
    }

    /**
     * Returns the constant for a kernel error number.
     *
     * @param value a positive errno, or the negative {@code res} of a CQE (the sign is ignored)
     * @return the matching constant, or {@link #UNKNOWN}
     */
    public static Errno of(int value) {
        int v = Math.abs(value);
        for (Errno e : values()) {
            if (e.value == v) {
                return e;
            }
        }
        return UNKNOWN;
    }
}
