package dev.kura.io.internal.uring;

import dev.kura.testing.Requires;
import dev.kura.io.Errno;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reading {@code struct io_uring_probe}: the real kernel's answer, and fabricated answers of older
 * kernels (no kernel here lacks an opcode kura uses, so a missing one can only be simulated).
 */
class ProbeTest {

    @Test
    void thisKernelPassesWithEveryOpcode() {
        Probe p = Probe.run();
        Requires.kernel(p.ok(), "io_uring with every opcode kura uses", p.reason());
        assertThat(p.ok()).as(p.reason()).isTrue();
        assertThat(p.missing()).isEmpty();
        assertThat(p.supported()).hasSize(Uapi.USED_OPCODES.length);
        assertThat(Uapi.featureNames(p.features())).contains("IORING_FEAT_SINGLE_MMAP");
    }

    private static MemorySegment probe(Arena a, int lastOp, int... unsupported) {
        MemorySegment s = a.allocate(Uapi.PROBE_SIZE, 8);
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) lastOp);
        s.set(ValueLayout.JAVA_BYTE, 1, (byte) (lastOp + 1));
        for (int op = 0; op <= lastOp; op++) {
            s.set(ValueLayout.JAVA_BYTE, 16 + 8L * op, (byte) op);
            s.set(ValueLayout.JAVA_SHORT, 16 + 8L * op + 2, (short) Uapi.IO_URING_OP_SUPPORTED);
        }
        for (int op : unsupported) {
            s.set(ValueLayout.JAVA_SHORT, 16 + 8L * op + 2, (short) 0);
        }
        return s;
    }

    @Test
    void anOpcodeWithoutTheSupportedFlagIsMissing() {
        try (Arena a = Arena.ofConfined()) {
            Probe p = Probe.fromProbe(probe(a, 40, Uapi.IORING_OP_STATX), 1);
            assertThat(p.ok()).isFalse();
            assertThat(p.errno()).isEqualTo(Errno.EOPNOTSUPP.value());
            assertThat(p.missing()).containsExactly("IORING_OP_STATX");
            assertThat(p.reason()).contains("EOPNOTSUPP").contains("lacks IORING_OP_STATX");
            assertThat(p.error().errno()).isEqualTo(Errno.EOPNOTSUPP);
        }
    }

    @Test
    void opcodesPastLastOpAreMissing() {
        try (Arena a = Arena.ofConfined()) {
            // A probe whose last opcode is IORING_OP_STATX (21) lacks READ (22) and WRITE (23).
            Probe p = Probe.fromProbe(probe(a, Uapi.IORING_OP_STATX), 1);
            assertThat(p.ok()).isFalse();
            assertThat(p.missing()).containsExactly("IORING_OP_READ", "IORING_OP_WRITE");
            Probe all = Probe.fromProbe(probe(a, 60), 1);
            assertThat(all.ok()).isTrue();
            assertThat(all.reason()).contains("probe passed");
        }
    }

    @Test
    void setupErrnosAreExplained() {
        assertThat(Probe.explain(Errno.ENOSYS.value())).contains("ENOSYS").contains("CONFIG_IO_URING");
        assertThat(Probe.explain(Errno.ENOMEM.value())).contains("RLIMIT_MEMLOCK");
        assertThat(Probe.explain(Errno.EPERM.value())).contains("EPERM").containsAnyOf("seccomp", "io_uring_disabled");
        assertThat(Uapi.featureNames(1 << 30)).containsExactly("IORING_FEAT_BIT30");
    }
}
