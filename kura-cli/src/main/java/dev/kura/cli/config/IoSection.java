package dev.kura.cli.config;

import dev.kura.config.DataSize;
import dev.kura.io.Backend;
import dev.kura.io.IoConfig;
import org.jspecify.annotations.Nullable;

/**
 * The {@code io:} section of kura.yaml; every key is optional and defaults as {@link IoConfig#defaults()}.
 * See docs/CONFIG.md.
 */
public record IoSection(@Nullable Backend backend, @Nullable Integer rings, @Nullable Integer queueDepth,
                        @Nullable Boolean sqpoll, @Nullable Integer sqpollCpu, @Nullable Integer fixedBuffers,
                        @Nullable DataSize fixedBufferSize, @Nullable Integer registeredFiles,
                        @Nullable Integer nioThreads) {

    /** Validated by {@link IoConfig}'s constructor, whose messages name the {@code io.*} key. */
    public IoSection {
        build(backend, rings, queueDepth, sqpoll, sqpollCpu, fixedBuffers, fixedBufferSize, registeredFiles, nioThreads);
    }

    /** The settings as kura-io takes them, defaults filled in. */
    public IoConfig toIoConfig() {
        return build(backend, rings, queueDepth, sqpoll, sqpollCpu, fixedBuffers, fixedBufferSize, registeredFiles, nioThreads);
    }

    // Static so that the compact constructor can validate its parameters (fields are unset there).
    private static IoConfig build(@Nullable Backend backend, @Nullable Integer rings, @Nullable Integer queueDepth,
                                  @Nullable Boolean sqpoll, @Nullable Integer sqpollCpu, @Nullable Integer fixedBuffers,
                                  @Nullable DataSize fixedBufferSize, @Nullable Integer registeredFiles,
                                  @Nullable Integer nioThreads) {
        IoConfig d = IoConfig.defaults();
        return new IoConfig(
                backend != null ? backend : d.backend(),
                rings != null ? rings : d.rings(),
                queueDepth != null ? queueDepth : d.queueDepth(),
                sqpoll != null ? sqpoll : d.sqPoll(),
                sqpollCpu != null ? sqpollCpu : d.sqPollCpu(),
                fixedBuffers != null ? fixedBuffers : d.fixedBuffers(),
                fixedBufferSize != null ? Math.toIntExact(Math.min(fixedBufferSize.bytes(), Integer.MAX_VALUE)) : d.fixedBufferSize(),
                registeredFiles != null ? registeredFiles : d.registeredFiles(),
                nioThreads != null ? nioThreads : d.nioThreads());
    }

    /** All defaults. */
    public static IoSection defaults() {
        return new IoSection(null, null, null, null, null, null, null, null, null);
    }
}
