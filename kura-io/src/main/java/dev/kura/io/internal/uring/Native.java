package dev.kura.io.internal.uring;

import org.jspecify.annotations.Nullable;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * The libc entry points the io_uring backend calls through the FFM API, and the errno they leave.
 *
 * <p>The three io_uring system calls have no libc wrappers, so they go through the variadic
 * {@code syscall(2)}; every variadic argument is passed as a {@code long} because glibc reads all
 * six with {@code va_arg(ap, long)}: an {@code int} would leave the upper half of the register
 * undefined. The system call numbers (425, 426, 427) are the same on x86-64 and arm64
 * ({@code include/uapi/asm-generic/unistd.h}, {@code arch/x86/entry/syscalls/syscall_64.tbl}).
 *
 * <p>Calls that can fail capture {@code errno} into a caller-supplied segment
 * ({@link Linker.Option#captureCallState}): a Java thread may run other native code between the
 * call and a later read of the thread-local errno, so it must be captured at the call.
 *
 * <p>Thread-safety: stateless; every method may be called from any thread. A capture segment must
 * not be shared by threads calling at the same time.
 */
@SuppressWarnings("restricted") // native access is the point of this backend; it needs --enable-native-access
final class Native {
    static final long SYS_IO_URING_SETUP = 425;
    static final long SYS_IO_URING_ENTER = 426;
    static final long SYS_IO_URING_REGISTER = 427;

    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_POPULATE = 0x8000;
    static final int EFD_CLOEXEC = 0x80000;

    /** {@code open(2)} flags; O_DIRECT differs between x86-64 and arm64 ({@code asm/fcntl.h}). */
    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_RDWR = 2;
    static final int O_CREAT = 0100;
    static final int O_EXCL = 0200;
    static final int O_TRUNC = 01000;
    static final int O_CLOEXEC = 02000000;
    static final int O_DIRECT;
    static final int AT_FDCWD = -100;
    static final int AT_EMPTY_PATH = 0x1000;
    /** {@code preadv2(2)}: x86-64 327, arm64 286 ({@code syscall_64.tbl}, {@code asm-generic/unistd.h}). */
    static final long SYS_PREADV2;
    /** {@code RWF_NOWAIT} ({@code include/uapi/linux/fs.h}): fail with EAGAIN rather than wait for the device. */
    static final int RWF_NOWAIT = 0x8;
    /** {@code fstatfs(2)}: x86-64 138, arm64 44. */
    static final long SYS_FSTATFS;
    /** {@code struct statfs} is 120 bytes on both; {@code f_type} is its first (64-bit) field. */
    static final int STATFS_SIZE = 120;
    /** {@code TMPFS_MAGIC} ({@code include/uapi/linux/magic.h}). */
    static final long TMPFS_MAGIC = 0x01021994L;

    /** Null when the platform offers no libc {@code syscall} (not Linux): io_uring is then ENOSYS. */
    private static final @Nullable MethodHandle SYSCALL;
    private static final @Nullable MethodHandle MMAP;
    private static final @Nullable MethodHandle MUNMAP;
    private static final @Nullable MethodHandle CLOSE;
    private static final @Nullable MethodHandle EVENTFD;
    private static final @Nullable MethodHandle WRITE;
    private static final @Nullable MethodHandle ALIGNED_ALLOC;
    private static final @Nullable MethodHandle FREE;
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final @Nullable String UNAVAILABLE;

    static {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        O_DIRECT = arch.equals("aarch64") || arch.equals("arm64") ? 0200000 : 040000;
        SYS_PREADV2 = arch.equals("aarch64") || arch.equals("arm64") ? 286 : 327;
        SYS_FSTATFS = arch.equals("aarch64") || arch.equals("arm64") ? 44 : 138;
        MethodHandle sys = null, mmap = null, munmap = null, close = null, efd = null, write = null;
        MethodHandle alloc = null, free = null;
        String why = null;
        try {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
                why = "not Linux";
            } else if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                why = "big-endian platform (ring layouts are written little-endian)";
            } else if (!(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64") || arch.equals("arm64"))) {
                why = "architecture " + arch + " (system call numbers known for x86-64 and arm64 only)";
            } else {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                ValueLayout.OfLong L = ValueLayout.JAVA_LONG;
                ValueLayout.OfInt I = ValueLayout.JAVA_INT;
                sys = linker.downcallHandle(libc.find("syscall").orElseThrow(),
                        FunctionDescriptor.of(L, L, L, L, L, L, L, L), Linker.Option.firstVariadicArg(1), errno);
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                        FunctionDescriptor.of(L, L, L, I, I, I, L), errno);
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(I, L, L), errno);
                close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(I, I), errno);
                efd = linker.downcallHandle(libc.find("eventfd").orElseThrow(),
                        FunctionDescriptor.of(I, I, I), errno);
                // An eventfd write of 8 bytes never blocks (the counter cannot reach its maximum
                // here) and calls back into nothing: short enough to be a critical call.
                write = linker.downcallHandle(libc.find("write").orElseThrow(),
                        FunctionDescriptor.of(L, I, L, L), Linker.Option.critical(false));
                alloc = linker.downcallHandle(libc.find("aligned_alloc").orElseThrow(),
                        FunctionDescriptor.of(L, L, L));
                free = linker.downcallHandle(libc.find("free").orElseThrow(),
                        FunctionDescriptor.ofVoid(L));
            }
        } catch (RuntimeException | Error e) {
            why = "cannot link libc: " + e;
        }
        SYSCALL = sys;
        MMAP = mmap;
        MUNMAP = munmap;
        CLOSE = close;
        EVENTFD = efd;
        WRITE = write;
        ALIGNED_ALLOC = alloc;
        FREE = free;
        UNAVAILABLE = why;
    }

    private Native() {
    }

    /** Why native calls cannot be made here, or {@code null} when they can. */
    static @Nullable String unavailable() {
        return UNAVAILABLE;
    }

    /** A segment to capture errno into; one per calling thread. */
    static MemorySegment newCapture(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /** The errno captured by the last call that used {@code capture}. */
    static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** A handle that is null only where {@link #unavailable()} says why; callers check that first. */
    private static MethodHandle linked(@Nullable MethodHandle h) {
        if (h == null) {
            throw new IllegalStateException("native calls unavailable: " + UNAVAILABLE);
        }
        return h;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }

    /** {@code syscall(nr, a1..a6)}: the raw result, -1 with errno in {@code capture} on failure. */
    static long syscall(MemorySegment capture, long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        try {
            return (long) linked(SYSCALL).invokeExact(capture, nr, a1, a2, a3, a4, a5, a6);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code mmap(NULL, length, prot, flags, fd, offset)}; returns the address or -1 (MAP_FAILED). */
    static long mmap(MemorySegment capture, long length, int prot, int flags, int fd, long offset) {
        try {
            return (long) linked(MMAP).invokeExact(capture, 0L, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int munmap(MemorySegment capture, long address, long length) {
        try {
            return (int) linked(MUNMAP).invokeExact(capture, address, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int close(MemorySegment capture, int fd) {
        try {
            return (int) linked(CLOSE).invokeExact(capture, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int eventfd(MemorySegment capture, int initval, int flags) {
        try {
            return (int) linked(EVENTFD).invokeExact(capture, initval, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code write(fd, address, length)}, errno not captured. */
    static long write(int fd, long address, long length) {
        try {
            return (long) linked(WRITE).invokeExact(fd, address, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code aligned_alloc(alignment, size)}: an address, or 0 when out of memory. */
    static long alignedAlloc(long alignment, long size) {
        try {
            return (long) linked(ALIGNED_ALLOC).invokeExact(alignment, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void free(long address) {
        try {
            linked(FREE).invokeExact(address);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
