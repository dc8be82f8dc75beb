package dev.kura.io.internal;

import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;
import dev.kura.io.internal.nio.NioFileIo;
import dev.kura.io.internal.uring.Probe;
import dev.kura.io.internal.uring.UringFileIo;

/**
 * Chooses the backend at run time ({@code io.backend}, see {@link Backend}).
 *
 * <p>{@link Backend#AUTO} probes io_uring (ring set-up, then {@code IORING_REGISTER_PROBE} for
 * every opcode kura uses), then starts the configured rings; if either step fails it falls back to
 * NIO. Either way it logs exactly one line naming the backend chosen and the reason, e.g.
 * {@code file I/O backend: nio (io_uring unavailable: EPERM from io_uring_setup: sysctl
 * kernel.io_uring_disabled=2 disables io_uring)}. {@link Backend#IO_URING} where io_uring cannot
 * run is an {@link IoException} whose errno and message say why.
 *
 * <p>Thread-safety: stateless.
 */
public final class BackendSelector {
    private static final System.Logger LOG = System.getLogger("kura.io");

    private BackendSelector() {
    }

    /**
     * Starts the backend {@code config} asks for.
     *
     * @throws IoException when io_uring is asked for explicitly and cannot run here
     */
    public static FileIo create(IoConfig config) throws IoException {
        return switch (config.backend()) {
            case NIO -> new NioFileIo(config, "nio asked for by io.backend");
            case IO_URING -> {
                Probe probe = Probe.run();
                if (!probe.ok()) {
                    throw probe.error();
                }
                yield new UringFileIo(config, probe, "io_uring asked for by io.backend; " + probe.reason());
            }
            case AUTO -> {
                Probe probe = Probe.run();
                String reason = probe.reason();
                if (probe.ok()) {
                    try {
                        FileIo io = new UringFileIo(config, probe, probe.reason());
                        LOG.log(System.Logger.Level.INFO, "file I/O backend: io_uring ({0}; {1} rings x {2} entries)",
                                reason, config.rings(), config.queueDepth());
                        yield io;
                    } catch (IoException e) {
                        reason = "io_uring unavailable: ring set-up failed: " + e.getMessage();
                    }
                }
                LOG.log(System.Logger.Level.INFO, "file I/O backend: nio ({0})", reason);
                yield new NioFileIo(config, reason);
            }
        };
    }
}
