package dev.kura.io;

import java.util.List;

/**
 * What {@link FileIo#info()} and {@code kura info} report about the backend in use.
 *
 * @param backend the backend running: {@link Backend#IO_URING} or {@link Backend#NIO}, never AUTO
 * @param requested the backend the config asked for
 * @param reason one line saying why this backend runs, e.g. {@code "io_uring probe passed"} or
 *     {@code "io_uring unavailable: EPERM from io_uring_setup (kernel.io_uring_disabled=2?)"}
 * @param kernelRelease {@code uname -r}, e.g. {@code 6.8.0-45-generic}
 * @param features the io_uring feature flags the kernel reported ({@code IORING_FEAT_*} names),
 *     empty for NIO or when the probe failed
 * @param opcodes the io_uring opcodes kura uses that the kernel supports ({@code IORING_OP_*}),
 *     empty for NIO or when the probe failed
 * @param missingOpcodes the opcodes kura uses that the kernel lacks
 * @param rings number of rings (io_uring) or pool threads (NIO)
 * @param queueDepth entries per submission queue (io_uring), 0 for NIO
 *
 * <p>Thread-safety: immutable.
 */
public record BackendInfo(Backend backend, Backend requested, String reason, String kernelRelease,
                          List<String> features, List<String> opcodes, List<String> missingOpcodes,
                          int rings, int queueDepth) {
    public BackendInfo {
        features = List.copyOf(features);
        opcodes = List.copyOf(opcodes);
        missingOpcodes = List.copyOf(missingOpcodes);
    }
}
