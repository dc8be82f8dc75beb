package dev.kura.io.conformance;

import dev.kura.io.Backend;
import dev.kura.io.IoConfig;

/**
 * The conformance suite over the NIO backend with a pool of one thread: every asynchronous
 * operation queues behind the others, which flushes out waits that need a second pool thread.
 * Every test and assertion is inherited unchanged from {@link FileIoConformanceTest}; this class only picks the backend.
 */
class NioOneThreadConformanceTest extends FileIoConformanceTest {
    @Override
    protected IoConfig config() {
        return IoConfig.defaults().withBackend(Backend.NIO).withNioThreads(1);
    }
}
