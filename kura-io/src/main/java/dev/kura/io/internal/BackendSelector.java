package dev.kura.io.internal;

import dev.kura.io.Backend;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;
import dev.kura.io.internal.nio.NioFileIo;

/**
 * Chooses the backend at run time ({@code io.backend}): see {@link Backend}. With AUTO it logs one
 * line naming the backend chosen and the reason.
 */
public final class BackendSelector {
    private static final System.Logger LOG = System.getLogger("kura.io");

    private BackendSelector() {
    }

    public static FileIo create(IoConfig config) throws IoException {
        return switch (config.backend()) {
            case NIO -> new NioFileIo(config, "nio asked for by io.backend");
            case IO_URING -> throw new IoException(Errno.EOPNOTSUPP.value(), null, "io_uring_setup",
                    "io_uring backend is not part of this build", null);
            case AUTO -> {
                String reason = "io_uring unavailable: backend not part of this build";
                LOG.log(System.Logger.Level.INFO, "file I/O backend: nio ({0})", reason);
                yield new NioFileIo(config, reason);
            }
        };
    }
}
