package dev.kura.cache.internal;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
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
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Memory files for the memory tier ({@link NativeBytes}): an anonymous file in RAM
 * ({@code memfd_create(2)}, Linux 3.17+, glibc 2.27+) of a given size, mapped shared
 * ({@code mmap(2)}, {@code MAP_SHARED}) for reading and writing, and opened as a
 * {@link FileChannel} (through {@code /proc/self/fd}) so that Netty can send its pages as a file
 * region. The mapping and the channel are two views of the same pages.
 *
 * <p>Why a file and not {@code malloc}: {@code sendfile(2)} and {@code splice(2)} take pages from a
 * file, never from a process's anonymous memory; a memory file is RAM that is also a file.
 *
 * <p>Thread-safety: stateless apart from the one-time failure log; safe for concurrent use.
 */
final class MemoryFiles {
    private static final Logger log = LoggerFactory.getLogger(MemoryFiles.class);
    private static final int MFD_CLOEXEC = 1;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_SHARED = 0x1;
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final AtomicBoolean LOGGED = new AtomicBoolean();
    /** The linked libc calls, or null where memory files cannot be made (not Linux, not linked). */
    private static final @Nullable Calls CALLS = link();
    /** True when memory files can be made here (Linux, the calls linked). */
    static final boolean AVAILABLE = CALLS != null;

    /** The libc calls this class makes; the first three capture errno. */
    private record Calls(MethodHandle memfdCreate, MethodHandle ftruncate, MethodHandle mmap, MethodHandle munmap,
                         MethodHandle close) {
    }

    private static @Nullable Calls link() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            Linker.Option errno = Linker.Option.captureCallState("errno");
            ValueLayout.OfInt i = ValueLayout.JAVA_INT;
            ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
            return new Calls(
                    linker.downcallHandle(libc.findOrThrow("memfd_create"),
                            FunctionDescriptor.of(i, ValueLayout.ADDRESS, i), errno),
                    linker.downcallHandle(libc.findOrThrow("ftruncate"), FunctionDescriptor.of(i, i, l), errno),
                    linker.downcallHandle(libc.findOrThrow("mmap"),
                            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, l, i, i, i, l), errno),
                    linker.downcallHandle(libc.findOrThrow("munmap"), FunctionDescriptor.of(i, ValueLayout.ADDRESS, l)),
                    linker.downcallHandle(libc.findOrThrow("close"), FunctionDescriptor.of(i, i)));
        } catch (RuntimeException | Error e) {
            log.info("memory tier: no memory files ({}); memory hits are copied into the socket", e.toString());
            return null;
        }
    }

    private MemoryFiles() {
    }

    /** A memory file's shared mapping ({@code size} bytes) and the file open for reading. */
    record Mapped(MemorySegment segment, FileChannel file) {
    }

    /**
     * Makes a memory file of {@code size} bytes (zero-filled, pages allocated as they are first
     * written), maps it shared and opens it as a channel; the descriptor from
     * {@code memfd_create} is closed again (the mapping and the channel keep the file).
     *
     * @param size bytes, &gt; 0
     * @throws IOException when a call fails (the message carries the call and its errno), e.g.
     *     {@code EMFILE} at the descriptor limit; nothing is left open then
     */
    static Mapped create(long size) throws IOException {
        Calls c = CALLS;
        if (c == null) {
            throw new IOException("memory files are not available");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) c.memfdCreate().invokeExact(state, arena.allocateFrom("kura-memory-tier"), MFD_CLOEXEC);
            if (fd < 0) {
                throw new IOException("memfd_create failed: errno " + (int) ERRNO.get(state, 0L));
            }
            try {
                if ((int) c.ftruncate().invokeExact(state, fd, size) != 0) {
                    throw new IOException("ftruncate(" + size + ") of a memory file failed: errno " + (int) ERRNO.get(state, 0L));
                }
                MemorySegment addr = (MemorySegment) c.mmap().invokeExact(state, MemorySegment.NULL, size, PROT_READ_WRITE,
                        MAP_SHARED, fd, 0L);
                if (addr.address() == -1L) {
                    throw new IOException("mmap of a memory file of " + size + " bytes failed: errno " + (int) ERRNO.get(state, 0L));
                }
                MemorySegment segment = addr.reinterpret(size);
                FileChannel file;
                try {
                    file = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ);
                } catch (IOException | RuntimeException e) {
                    unmap(c, segment);
                    throw e;
                }
                return new Mapped(segment, file);
            } finally {
                int ignored = (int) c.close().invokeExact(fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("memory file call failed", t);
        }
    }

    /** Unmaps {@code segment} and closes {@code file}: the pages go once no socket holds them. */
    static void close(MemorySegment segment, FileChannel file) {
        Calls c = CALLS;
        if (c != null) { // else no memory file was ever made
            unmap(c, segment);
        }
        try {
            file.close();
        } catch (IOException e) {
            failed(e);
        }
    }

    private static void unmap(Calls c, MemorySegment segment) {
        try {
            int r = (int) c.munmap().invokeExact(segment, segment.byteSize());
            if (r != 0) {
                throw new IllegalStateException("munmap failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
    }

    /** Logs the first failure to make or close a memory file (later ones are the same story). */
    static void failed(Throwable e) {
        if (LOGGED.compareAndSet(false, true)) {
            log.warn("memory tier: a memory file could not be made or closed ({}); such entries are held in malloc'd "
                    + "memory and sent by copying (logged once)", e.toString());
        }
    }
}
