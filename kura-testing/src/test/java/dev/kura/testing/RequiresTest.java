package dev.kura.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

class RequiresTest {
    @Test
    void aToolOnThePathIsFoundWithItsAbsolutePath() {
        assertThat(Requires.tool("sh", "dash")).isAbsolute().satisfies(p -> assertThat(Files.isExecutable(p)).isTrue());
    }

    /** A missing need skips on a laptop and fails on CI, with the same reason either way. */
    @Test
    void aMissingToolSkipsOrOnCiFailsNamingThePackage() {
        Class<? extends Throwable> expected = Requires.onCi() ? AssertionError.class : TestAbortedException.class;
        assertThatThrownBy(() -> Requires.tool("kura-no-such-tool", "kura-no-such-package"))
                .isInstanceOf(expected)
                .hasMessageStartingWith(Requires.PREFIX + "the tool kura-no-such-tool (apt-get install kura-no-such-package)");
        assertThatThrownBy(() -> Requires.kernel(false, "io_uring", "EPERM: kernel.io_uring_disabled=2"))
                .isInstanceOf(expected)
                .hasMessageStartingWith("requires the kernel feature io_uring: EPERM");
    }

    @Test
    void rootIsWhatProcSaysAndOnlyAMissingRootStopsTheTest() throws Exception {
        String status = Files.readString(java.nio.file.Path.of("/proc/self/status"));
        boolean root = status.lines().anyMatch(l -> l.matches("Uid:\\s+\\d+\\s+0\\s.*"));
        assertThat(Requires.isRoot()).isEqualTo(root);
        if (root) {
            Requires.root("do nothing"); // returns
        } else {
            assertThatThrownBy(() -> Requires.root("mount a tmpfs")).hasMessageContaining("root (uid 0) to mount a tmpfs");
        }
        Requires.kernel(true, "anything", "present"); // a met need returns
    }
}
