package dev.kura.bench.internal.io;

import java.util.Locale;

/**
 * The workloads of {@code kura bench io} (issue 2, section 7): 4 KiB random reads and 1 MiB
 * sequential reads of one file, cold (a disk file read with {@code O_DIRECT}, so every read reaches
 * the device) or warm (the file lives on tmpfs, so every read is a memory copy).
 *
 * <p>A buffered read of a disk file is neither cold nor warm (the page cache of these machines is
 * reclaimed within seconds), so it is not offered.
 */
public enum IoWorkload {
    COLD_RAND_4K(true, 4096, true),
    COLD_SEQ_1M(true, 1 << 20, false),
    WARM_RAND_4K(false, 4096, true),
    WARM_SEQ_1M(false, 1 << 20, false);

    private final boolean cold;
    private final int blockSize;
    private final boolean random;

    IoWorkload(boolean cold, int blockSize, boolean random) {
        this.cold = cold;
        this.blockSize = blockSize;
        this.random = random;
    }

    /** True for O_DIRECT reads of a disk file, false for buffered reads of a tmpfs file. */
    public boolean cold() {
        return cold;
    }

    /** Bytes per read. */
    public int blockSize() {
        return blockSize;
    }

    /** Uniformly random block-aligned offsets, or sequential ones wrapping at the end of the file. */
    public boolean random() {
        return random;
    }

    /** The name in reports and on the command line: {@code "cold rand 4k"}. */
    public String label() {
        return (cold ? "cold" : "warm") + (random ? " rand " : " seq ") + (blockSize == 4096 ? "4k" : "1m");
    }

    /** fio's {@code --rw}. */
    public String fioRw() {
        return random ? "randread" : "read";
    }

    /**
     * Parses {@code cold-rand-4k}, {@code "cold rand 4k"} or {@code COLD_RAND_4K}.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static IoWorkload parse(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT).replace('-', '_').replace(' ', '_');
        try {
            return valueOf(t);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown workload '" + text
                    + "': one of cold-rand-4k, cold-seq-1m, warm-rand-4k, warm-seq-1m");
        }
    }
}
