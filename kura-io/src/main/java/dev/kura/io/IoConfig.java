package dev.kura.io;

/**
 * Settings of a {@link FileIo}: the {@code io.*} config keys (see {@code docs/CONFIG.md}).
 *
 * @param backend which backend to use ({@code io.backend}); default {@link Backend#AUTO}
 * @param rings number of io_uring rings, each owned by one platform thread ({@code io.rings});
 *     default: the number of available processors, at least 2, because one ring does the copies
 *     of page-cache hits serially
 * @param queueDepth submission queue entries per ring, 1..4096 ({@code io.queue-depth}); default 256.
 *     The kernel rounds it up to a power of two. A full queue applies back-pressure: the submitter
 *     waits for a slot, it never fails
 * @param sqPoll use a kernel submission-queue polling thread ({@code IORING_SETUP_SQPOLL},
 *     {@code io.sqpoll}); default false
 * @param sqPollCpu the CPU to pin the SQPOLL thread to, or -1 for none ({@code io.sqpoll-cpu})
 * @param fixedBuffers number of registered (fixed) buffers per ring, 0 for none
 *     ({@code io.fixed-buffers}); default 0
 * @param fixedBufferSize size in bytes of each fixed buffer, a multiple of 4096
 *     ({@code io.fixed-buffer-size}); default 65536
 * @param registeredFiles slots in each ring's registered file table, 0 for none
 *     ({@code io.registered-files}); default 0
 * @param nioThreads platform threads of the NIO backend's pool ({@code io.nio-threads}); default
 *     64, in the range of the thread pools of tokio and AsynchronousFileChannel
 *
 * <p>Thread-safety: immutable.
 */
public record IoConfig(Backend backend, int rings, int queueDepth, boolean sqPoll, int sqPollCpu,
                       int fixedBuffers, int fixedBufferSize, int registeredFiles, int nioThreads) {

    /** Largest queue depth accepted; the kernel's own limit is 32768 ({@code IORING_MAX_ENTRIES}). */
    public static final int MAX_QUEUE_DEPTH = 4096;

    /** @throws IllegalArgumentException naming the config key of a value out of range */
    public IoConfig {
        if (backend == null) {
            throw new IllegalArgumentException("io.backend must be set");
        }
        if (rings < 1 || rings > 64) {
            throw new IllegalArgumentException("io.rings must be 1..64, was " + rings);
        }
        if (queueDepth < 1 || queueDepth > MAX_QUEUE_DEPTH) {
            throw new IllegalArgumentException(
                    "io.queue-depth must be 1.." + MAX_QUEUE_DEPTH + ", was " + queueDepth);
        }
        if (sqPollCpu < -1) {
            throw new IllegalArgumentException("io.sqpoll-cpu must be -1 (none) or a CPU number, was " + sqPollCpu);
        }
        if (fixedBuffers < 0 || fixedBuffers > 1024) {
            throw new IllegalArgumentException("io.fixed-buffers must be 0..1024, was " + fixedBuffers);
        }
        if (fixedBufferSize < 4096 || fixedBufferSize % 4096 != 0 || fixedBufferSize > (1 << 24)) {
            throw new IllegalArgumentException(
                    "io.fixed-buffer-size must be a multiple of 4096 up to 16 MiB, was " + fixedBufferSize);
        }
        if (registeredFiles < 0 || registeredFiles > 65536) {
            throw new IllegalArgumentException("io.registered-files must be 0..65536, was " + registeredFiles);
        }
        if (nioThreads < 1 || nioThreads > 4096) {
            throw new IllegalArgumentException("io.nio-threads must be 1..4096, was " + nioThreads);
        }
    }

    /** The defaults described above. */
    public static IoConfig defaults() {
        return new IoConfig(Backend.AUTO, Math.max(2, Runtime.getRuntime().availableProcessors()), 256,
                false, -1, 0, 65536, 0, 64);
    }

    public IoConfig withBackend(Backend b) {
        return new IoConfig(b, rings, queueDepth, sqPoll, sqPollCpu, fixedBuffers, fixedBufferSize, registeredFiles, nioThreads);
    }

    public IoConfig withRings(int n) {
        return new IoConfig(backend, n, queueDepth, sqPoll, sqPollCpu, fixedBuffers, fixedBufferSize, registeredFiles, nioThreads);
    }

    public IoConfig withQueueDepth(int n) {
        return new IoConfig(backend, rings, n, sqPoll, sqPollCpu, fixedBuffers, fixedBufferSize, registeredFiles, nioThreads);
    }

    public IoConfig withSqPoll(boolean on, int cpu) {
        return new IoConfig(backend, rings, queueDepth, on, cpu, fixedBuffers, fixedBufferSize, registeredFiles, nioThreads);
    }

    public IoConfig withFixedBuffers(int count, int size) {
        return new IoConfig(backend, rings, queueDepth, sqPoll, sqPollCpu, count, size, registeredFiles, nioThreads);
    }

    public IoConfig withRegisteredFiles(int n) {
        return new IoConfig(backend, rings, queueDepth, sqPoll, sqPollCpu, fixedBuffers, fixedBufferSize, n, nioThreads);
    }

    public IoConfig withNioThreads(int n) {
        return new IoConfig(backend, rings, queueDepth, sqPoll, sqPollCpu, fixedBuffers, fixedBufferSize, registeredFiles, n);
    }
}
