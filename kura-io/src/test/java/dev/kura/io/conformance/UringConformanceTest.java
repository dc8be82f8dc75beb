package dev.kura.io.conformance;

import dev.kura.io.Backend;
import dev.kura.io.IoConfig;

/**
 * The conformance suite over the io_uring backend, unchanged. Two rings and the default queue
 * depth; the io_uring-only paths (fixed buffers, registered files, SQPOLL, small queues) have
 * their own tests in {@code dev.kura.io.internal.uring}.
 * Every test and assertion is inherited unchanged from {@link FileIoConformanceTest}; this class only picks the backend.
 */
class UringConformanceTest extends FileIoConformanceTest {
    @org.junit.jupiter.api.BeforeAll
    static void ioUringWorksHere() {
        IoUringHere.require();
    }

    @Override
    protected IoConfig config() {
        return IoConfig.defaults().withBackend(Backend.IO_URING);
    }
}
