package dev.kura.io.internal.nio;

import dev.kura.io.Errno;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The NIO backend learns a failure's errno only from the JDK's exception, whose message is
 * {@code strerror(errno)}: each message kura relies on maps to its errno, and an unknown one to
 * {@link Errno#UNKNOWN}.
 */
class NioErrorsTest {
    private static Errno of(String message) {
        return NioErrors.translate(new IOException(message), Path.of("/x"), "read").errno();
    }

    @Test
    void strerrorMessagesMapToTheirErrno() {
        assertThat(of("No space left on device")).isEqualTo(Errno.ENOSPC);
        assertThat(of("Input/output error")).isEqualTo(Errno.EIO);
        // what a read of /dev/kmsg says when the records under the reader were overwritten
        assertThat(of("Broken pipe")).isEqualTo(Errno.EPIPE);
        assertThat(of("something else entirely")).isEqualTo(Errno.UNKNOWN);
    }
}
