package dev.kura.io.conformance;

import dev.kura.io.Backend;
import dev.kura.io.IoConfig;

/** The conformance suite over the NIO backend.
 * Every test and assertion is inherited unchanged from {@link FileIoConformanceTest}; this class only picks the backend.
 */
class NioConformanceTest extends FileIoConformanceTest {
    @Override
    protected IoConfig config() {
        return IoConfig.defaults().withBackend(Backend.NIO);
    }
}
