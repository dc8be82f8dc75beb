package dev.kura.io.internal.uring;

import dev.kura.io.conformance.IoUringHere;
import dev.kura.testing.Requires;
import dev.kura.io.Backend;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import dev.kura.io.conformance.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code io.backend} selection against the real kernel: AUTO takes io_uring where it runs, and with
 * io_uring really disabled ({@code sysctl kernel.io_uring_disabled=2}, which needs root) AUTO falls
 * back to NIO with one log line naming EPERM, while an explicit IO_URING is an error saying why.
 */
@org.junit.jupiter.api.Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
class BackendSelectionTest {
    private static final Path SYSCTL = Path.of("/proc/sys/kernel/io_uring_disabled");

    @TempDir
    Path dir;

    /** Collects what kura-io logs through System.Logger (the JUL backend in tests). */
    static final class Captured extends Handler implements AutoCloseable {
        final List<String> lines = new ArrayList<>();
        private final Logger logger = Logger.getLogger("kura.io");

        Captured() {
            logger.addHandler(this);
        }

        @Override
        public synchronized void publish(LogRecord r) {
            lines.add(new java.util.logging.SimpleFormatter().formatMessage(r));
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            logger.removeHandler(this);
        }
    }

    @Test
    void autoChoosesIoUringHereAndSaysSoOnce() throws Exception {
        IoUringHere.require();
        try (Captured log = new Captured(); FileIo io = FileIo.create(IoConfig.defaults())) {
            assertThat(io.backend()).isEqualTo(Backend.IO_URING);
            assertThat(io.info().requested()).isEqualTo(Backend.AUTO);
            assertThat(io.info().reason()).contains("probe passed");
            assertThat(log.lines).hasSize(1);
            assertThat(log.lines.getFirst()).startsWith("file I/O backend: io_uring");
        }
    }

    @Test
    @ResourceLock("kernel.io_uring_disabled")
    void withIoUringDisabledAutoFallsBackToNioAndExplicitIoUringFails() throws Exception {
        IoUringHere.require();
        Requires.root("write the sysctl " + SYSCTL);
        Requires.kernel(Files.exists(SYSCTL), "kernel.io_uring_disabled (Linux >= 6.6)", SYSCTL + " is absent");
        assertThat(Files.isWritable(SYSCTL)).as("%s must be writable by root", SYSCTL).isTrue();
        String saved = Files.readString(SYSCTL).trim();
        FileIo auto;
        IoException explicit = null;
        List<String> lines;
        try (Captured log = new Captured()) {
            // Keep the window short: other processes on this machine may be setting up rings.
            Files.writeString(SYSCTL, "2");
            try {
                auto = FileIo.create(IoConfig.defaults());
                try {
                    FileIo.create(IoConfig.defaults().withBackend(Backend.IO_URING)).close();
                } catch (IoException e) {
                    explicit = e;
                }
            } finally {
                Files.writeString(SYSCTL, saved);
            }
            lines = List.copyOf(log.lines);
        }
        assertThat(Files.readString(SYSCTL).trim()).isEqualTo(saved);
        try (FileIo io = auto) {
            assertThat(io.backend()).isEqualTo(Backend.NIO);
            assertThat(io.info().requested()).isEqualTo(Backend.AUTO);
            assertThat(io.info().reason()).contains("EPERM").contains("kernel.io_uring_disabled=2");
            assertThat(lines).hasSize(1);
            assertThat(lines.getFirst()).startsWith("file I/O backend: nio").contains("EPERM");
            // and the fallback really works
            Path p = dir.resolve("fallback");
            try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
                assertThat(f.write(MemorySegment.ofArray(new byte[] {1, 2, 3}), 0)).isEqualTo(3);
            }
        }
        assertThat(explicit).as("io.backend=io_uring must fail when io_uring is disabled").isNotNull();
        assertThat(explicit.errno()).isEqualTo(Errno.EPERM);
        assertThat(explicit.getMessage()).contains("io_uring_disabled");
        // with the sysctl restored, io_uring runs again
        try (FileIo io = FileIo.create(IoConfig.defaults().withBackend(Backend.IO_URING))) {
            assertThat(io.backend()).isEqualTo(Backend.IO_URING);
        }
    }

    @Test
    void ringSetUpFailureIsAnErrorForIoUringAndAFallbackForAuto() throws Exception {
        // An SQPOLL thread pinned to a CPU that does not exist: io_uring_setup fails with EINVAL.
        IoUringHere.require();
        IoConfig bad = IoConfig.defaults().withSqPoll(true, 4095).withRings(1);
        assertThatThrownBy(() -> FileIo.create(bad.withBackend(Backend.IO_URING)))
                .isInstanceOfSatisfying(IoException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.EINVAL);
                    assertThat(e.getMessage()).contains("io_uring_setup");
                });
        try (Captured log = new Captured(); FileIo io = FileIo.create(bad)) {
            assertThat(io.backend()).isEqualTo(Backend.NIO);
            assertThat(io.info().reason()).contains("ring set-up failed").contains("EINVAL");
            assertThat(log.lines).hasSize(1);
        }
    }

    /**
     * ENOMEM for real: a child JVM without CAP_IPC_LOCK ({@code setpriv}) under a 1 MiB
     * RLIMIT_MEMLOCK ({@code prlimit}, both util-linux) asks for 64 MiB of fixed buffers. AUTO falls
     * back to NIO naming ENOMEM and the limit; IO_URING fails with ENOMEM. The same child without
     * the limit runs io_uring, so the limit is what made the difference.
     */
    @Test
    void lockedMemoryLimitTooLowIsEnomemWithAHint() throws Exception {
        IoUringHere.require();
        Requires.root("drop CAP_IPC_LOCK from a child's bounding set (setpriv)");
        Requires.tool("setpriv", "util-linux");
        Requires.tool("prlimit", "util-linux");
        List<String> limited = List.of("prlimit", "--memlock=1048576:1048576",
                "setpriv", "--bounding-set=-ipc_lock", "--inh-caps=-ipc_lock");
        ChildJvm.Result r = ChildJvm.run(dir, limited, List.of(), MemlockFallbackMain.class, List.of(), 60);
        assertThat(r.exitCode()).as("child output:%n%s", r.output()).isZero();
        assertThat(r.output()).as("child output").contains("auto backend=nio reason=io_uring unavailable")
                .contains("io_uring errno=ENOMEM").contains("RLIMIT_MEMLOCK");
        ChildJvm.Result free = ChildJvm.run(dir, List.of(), List.of(), MemlockFallbackMain.class, List.of(), 60);
        assertThat(free.exitCode()).as("child output:%n%s", free.output()).isZero();
        assertThat(free.output()).as("child output").contains("auto backend=io_uring").contains("io_uring backend=io_uring");
    }

    @Test
    void nioStaysNio() throws Exception {
        try (FileIo io = FileIo.create(IoConfig.defaults().withBackend(Backend.NIO))) {
            assertThat(io.backend()).isEqualTo(Backend.NIO);
        }
    }
}
