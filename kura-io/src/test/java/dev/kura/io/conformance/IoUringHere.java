package dev.kura.io.conformance;

import dev.kura.io.Backend;
import dev.kura.io.BackendInfo;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.testing.Requires;

/**
 * Whether io_uring works on this machine, as {@code io.backend: auto} decides it (kernel 5.6+,
 * {@code kernel.io_uring_disabled}, seccomp, RLIMIT_MEMLOCK, every opcode kura uses): tests of
 * the io_uring backend call {@link #require()} and skip on a laptop without it, saying why.
 *
 * <p>Published in kura-io's test-jar so that kura-cache's io_uring runs skip the same way.
 * Thread-safe: the probe runs once.
 */
public final class IoUringHere {
    private static final BackendInfo INFO = probe();

    private IoUringHere() {
    }

    /**
     * Skips the calling test (fails it on CI, see {@link Requires}) unless io_uring works here.
     */
    public static void require() {
        Requires.kernel(INFO.backend() == Backend.IO_URING, "io_uring", INFO.reason());
    }

    private static BackendInfo probe() {
        try (FileIo io = FileIo.create(IoConfig.defaults())) {
            return io.info();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("even the NIO backend failed to start", e);
        }
    }
}
