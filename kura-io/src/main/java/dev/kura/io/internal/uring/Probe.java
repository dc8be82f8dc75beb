package dev.kura.io.internal.uring;

import dev.kura.io.Errno;
import dev.kura.io.IoException;
import dev.kura.io.internal.Kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds out whether io_uring can run here: sets up a small ring ({@code io_uring_setup(2)}), asks
 * which opcodes the kernel supports ({@code IORING_REGISTER_PROBE}, {@code io_uring_register(2)})
 * and closes the ring again.
 *
 * @param errno 0 when io_uring can run, else why not: ENOSYS (no io_uring in the kernel), EPERM
 *     ({@code kernel.io_uring_disabled} or seccomp), ENOMEM (locked-memory limit), EOPNOTSUPP (an
 *     opcode kura needs is missing), or what else setup returned
 * @param reason one line saying what was found, for the log and {@code kura info}
 * @param features the {@code IORING_FEAT_*} bits the kernel reported
 * @param supported the opcodes kura uses that the kernel supports
 * @param missing the opcodes kura uses that the kernel lacks
 */
public record Probe(int errno, String reason, int features, List<String> supported, List<String> missing) {

    /** True when io_uring can run. */
    public boolean ok() {
        return errno == 0;
    }

    /** The error {@code io.backend: io_uring} fails with where it cannot run. */
    public IoException error() {
        return new IoException(errno, null, "io_uring_setup", reason, null);
    }

    /** Probes the running kernel. Any thread; takes about a millisecond. */
    public static Probe run() {
        String unavailable = Native.unavailable();
        if (unavailable != null) {
            return new Probe(Errno.ENOSYS.value(), "io_uring unavailable: " + unavailable, 0, List.of(), List.of());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cap = Native.newCapture(arena);
            MemorySegment params = arena.allocate(Uapi.PARAMS_SIZE, 8);
            long fd = Native.syscall(cap, Native.SYS_IO_URING_SETUP, 4, params.address(), 0, 0, 0, 0);
            if (fd < 0) {
                int e = Native.errno(cap);
                return new Probe(e, "io_uring unavailable: " + explain(e), 0, List.of(), List.of());
            }
            try {
                int features = params.get(ValueLayout.JAVA_INT, Uapi.P_FEATURES);
                MemorySegment probe = arena.allocate(Uapi.PROBE_SIZE, 8);
                long r = Native.syscall(cap, Native.SYS_IO_URING_REGISTER, fd, Uapi.IORING_REGISTER_PROBE,
                        probe.address(), Uapi.PROBE_OPS, 0, 0);
                if (r < 0) {
                    int e = Native.errno(cap);
                    return new Probe(e, "io_uring unavailable: " + Errno.of(e)
                            + " from IORING_REGISTER_PROBE (kernel older than 5.6?)", features, List.of(), List.of());
                }
                int lastOp = Byte.toUnsignedInt(probe.get(ValueLayout.JAVA_BYTE, 0));
                List<String> supported = new ArrayList<>();
                List<String> missing = new ArrayList<>();
                for (int op : Uapi.USED_OPCODES) {
                    boolean yes = op <= lastOp && op < Uapi.PROBE_OPS
                            && (probe.get(ValueLayout.JAVA_SHORT, 16 + 8L * op + 2) & Uapi.IO_URING_OP_SUPPORTED) != 0;
                    (yes ? supported : missing).add(Uapi.opcodeName(op));
                }
                if (!missing.isEmpty()) {
                    return new Probe(Errno.EOPNOTSUPP.value(), "io_uring unavailable: EOPNOTSUPP, kernel "
                            + Kernel.release() + " lacks " + String.join(", ", missing), features, supported, missing);
                }
                return new Probe(0, "io_uring probe passed (kernel " + Kernel.release() + ", "
                        + supported.size() + " opcodes)", features, supported, missing);
            } finally {
                Native.close(cap, (int) fd);
            }
        }
    }

    /** Says what an errno from {@code io_uring_setup} means and what to do about it. */
    static String explain(int e) {
        Errno errno = Errno.of(e);
        return switch (errno) {
            case ENOSYS -> "ENOSYS from io_uring_setup: kernel " + Kernel.release()
                    + " has no io_uring (CONFIG_IO_URING off, or older than 5.1)";
            case EPERM -> "EPERM from io_uring_setup: " + switch (Kernel.ioUringDisabled()) {
                case 2 -> "sysctl kernel.io_uring_disabled=2 disables io_uring";
                case 1 -> "sysctl kernel.io_uring_disabled=1 allows io_uring only for the group in kernel.io_uring_group";
                default -> "a seccomp filter (e.g. a container runtime's default profile) forbids it";
            };
            case ENOMEM -> "ENOMEM from io_uring_setup: locked-memory limit too low (ulimit -l, RLIMIT_MEMLOCK)";
            default -> errno + " (" + e + ") from io_uring_setup";
        };
    }
}
