package dev.kura.io.internal.uring;

import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;

/**
 * Child-JVM main for {@link BackendSelectionTest}: run under a small RLIMIT_MEMLOCK and without
 * CAP_IPC_LOCK, it asks for 64 MiB of fixed buffers, which the kernel must refuse with ENOMEM.
 * Prints what AUTO chose and what IO_URING threw.
 */
public final class MemlockFallbackMain {
    private MemlockFallbackMain() {
    }

    public static void main(String[] args) throws Exception {
        IoConfig c = IoConfig.defaults().withRings(1).withFixedBuffers(64, 1 << 20);
        try (FileIo io = FileIo.create(c)) {
            System.out.println("auto backend=" + io.backend().configName() + " reason=" + io.info().reason());
        }
        try (FileIo io = FileIo.create(c.withBackend(Backend.IO_URING))) {
            System.out.println("io_uring backend=" + io.backend().configName());
        } catch (IoException e) {
            System.out.println("io_uring errno=" + e.errno() + " message=" + e.getMessage());
        }
    }
}
