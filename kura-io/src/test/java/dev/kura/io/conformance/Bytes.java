package dev.kura.io.conformance;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Test data whose every byte depends on its file offset and a seed, so that a byte landing at the
 * wrong offset, a stale byte or a byte from another writer is caught by {@link #firstMismatch}.
 */
public final class Bytes {
    private Bytes() {
    }

    /** The byte expected at {@code offset} of a file written with {@code seed}; never constant across 256 offsets. */
    public static byte at(long seed, long offset) {
        long x = (offset + 1) * 0x9E3779B97F4A7C15L ^ seed * 0xBF58476D1CE4E5B9L;
        x ^= x >>> 31;
        return (byte) (x ^ (x >>> 17));
    }

    /** Fills {@code seg} with the bytes of file offsets {@code offset ..} for {@code seed}. */
    public static void fill(MemorySegment seg, long seed, long offset) {
        for (long i = 0; i < seg.byteSize(); i++) {
            seg.set(ValueLayout.JAVA_BYTE, i, at(seed, offset + i));
        }
    }

    /** A new array holding the bytes of file offsets {@code offset .. offset+len}. */
    public static byte[] array(long seed, long offset, int len) {
        byte[] a = new byte[len];
        fill(MemorySegment.ofArray(a), seed, offset);
        return a;
    }

    /**
     * Index of the first byte of {@code seg} that differs from what {@code seed} puts at
     * {@code offset + index}, or -1 when all match.
     */
    public static long firstMismatch(MemorySegment seg, long seed, long offset) {
        for (long i = 0; i < seg.byteSize(); i++) {
            if (seg.get(ValueLayout.JAVA_BYTE, i) != at(seed, offset + i)) {
                return i;
            }
        }
        return -1;
    }
}
