package dev.kura.cache.internal;

import dev.kura.cache.CacheEntry;
import dev.kura.cache.CorruptEntryException;
import dev.kura.cache.FileSpans;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link CacheEntry#fileSpans}: the checked spans of a disk-tier entry file that a zero-copy send
 * transfers. The spans must carry exactly the object's bytes (one span per block touched, skipping
 * the CRCs between blocks), a corrupt block must fail the call before anything could be sent, and
 * the spans must keep an evicted or replaced version's file readable until they are closed.
 *
 * <p>On the NIO backend the check cannot read from the page cache without waiting
 * ({@link CacheEntry#readIfCached} declines), so fileSpans declines too: asserted, not skipped.
 */
class FileSpansTest {
    @TempDir
    Path dir;

    /**
     * The spans of a version, once its send channel is open: the first calls start opening it (off
     * the calling thread) and return null, as does every call on NIO.
     */
    private static FileSpans spans(CacheEntry e, long position, int n) throws Exception {
        for (int i = 0; i < 500; i++) {
            FileSpans s = e.fileSpans(position, ByteBuffer.allocateDirect(n));
            if (s != null) {
                return s;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no file spans after 5 s");
    }

    /** The bytes the spans carry, read from their channel the way sendfile reads them. */
    private static byte[] bytesOf(FileSpans s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.count(); i++) {
            ByteBuffer b = ByteBuffer.allocate(s.length(i));
            while (b.hasRemaining() && s.channel().read(b, s.fileOffset(i) + b.position()) > 0) {
                // positional reads until the span is in
            }
            out.write(b.array(), 0, b.position());
        }
        return out.toByteArray();
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void spansCarryExactlyTheObjectBytes(Backend backend) throws Exception {
        int size = 100_000; // blocks of 4096 bytes: 24 full ones and one of 1696
        byte[] want = bytes(21, size);
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            assertThat(put(c, "k", want)).isTrue();
            try (CacheEntry e = c.lookupAsync("k").get().orElseThrow()) {
                if (backend == Backend.NIO) {
                    for (int i = 0; i < 20; i++) {
                        assertThat(e.fileSpans(0, ByteBuffer.allocateDirect(size))).as("NIO declines").isNull();
                        Thread.sleep(10);
                    }
                    return;
                }
                // 5000..20999: from byte 904 of block 1 to byte 519 of block 5, five spans
                try (FileSpans s = spans(e, 5000, 16_000)) {
                    assertThat(s.count()).isEqualTo(5);
                    assertThat(s.bytes()).isEqualTo(16_000);
                    assertThat(s.length(0)).isEqualTo(4096 - 904);
                    assertThat(s.length(4)).isEqualTo(520);
                    assertThat(s.fileOffset(1) - s.fileOffset(0)).as("block 1's rest and its CRC")
                            .isEqualTo(s.length(0) + EntryFormat.CRC_SIZE);
                    assertThat(bytesOf(s)).isEqualTo(Arrays.copyOfRange(want, 5000, 21_000));
                }
                // the first byte, the last byte, the whole object, and a request past the end
                try (FileSpans s = spans(e, 0, 1)) {
                    assertThat(bytesOf(s)).isEqualTo(new byte[] {want[0]});
                }
                try (FileSpans s = spans(e, size - 1, 1)) {
                    assertThat(bytesOf(s)).isEqualTo(new byte[] {want[size - 1]});
                }
                try (FileSpans s = spans(e, 0, 2 * size)) {
                    assertThat(s.count()).isEqualTo(25);
                    assertThat(s.bytes()).isEqualTo(size);
                    assertThat(bytesOf(s)).isEqualTo(want);
                }
                assertThat(e.fileSpans(size, ByteBuffer.allocateDirect(10))).as("at the end").isNull();
                assertThat(e.fileSpans(0, ByteBuffer.allocate(10))).as("a heap buffer").isNull();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void aCorruptBlockFailsBeforeAnythingIsGiven(Backend backend) throws Exception {
        int size = 100_000;
        byte[] want = bytes(22, size);
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            assertThat(put(c, "k", want)).isTrue();
            try (CacheEntry e = c.lookupAsync("k").get().orElseThrow()) {
                if (backend == Backend.NIO) {
                    assertThat(e.fileSpans(0, ByteBuffer.allocateDirect(size))).isNull();
                    return;
                }
                spans(e, 0, 10).close(); // the send channel is open
                String name = EntryFormat.nameOf("k");
                long header = java.nio.file.Files.size(dir.resolve(name.substring(0, 2)).resolve(name)) - size - 4L * 25 - 40;
                // a byte of block 3, inside the range asked for
                CacheFaultTest.flip(dir, "k", header + 3L * (4096 + EntryFormat.CRC_SIZE) + 77);
                assertThatThrownBy(() -> e.fileSpans(5000, ByteBuffer.allocateDirect(16_000)))
                        .isInstanceOf(CorruptEntryException.class);
            }
            assertThat(c.get("k")).as("the corrupt entry is removed").isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void spansKeepAReplacedVersionReadableUntilClosed(Backend backend) throws Exception {
        byte[] v1 = bytes(23, 50_000);
        byte[] v2 = bytes(24, 60_000);
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            assertThat(put(c, "k", v1)).isTrue();
            FileSpans held;
            try (CacheEntry e = c.lookupAsync("k").get().orElseThrow()) {
                if (backend == Backend.NIO) {
                    assertThat(e.fileSpans(0, ByteBuffer.allocateDirect(100))).isNull();
                    return;
                }
                held = spans(e, 0, v1.length);
            }
            assertThat(put(c, "k", v2)).isTrue(); // v1's file is unlinked, its name taken by v2
            try (CacheEntry e = c.lookupAsync("k").get().orElseThrow();
                 FileSpans now = spans(e, 0, v2.length)) {
                assertThat(bytesOf(now)).isEqualTo(v2);
            }
            assertThat(bytesOf(held)).as("the held spans still read v1").isEqualTo(v1);
            assertThat(deletedDescriptorsOf(dir)).isPositive();
            held.close();
            held.close(); // idempotent: one reference given back, not two
            assertThat(deletedDescriptorsOf(dir)).as("v1's descriptors are closed").isZero();
        }
        assertThat(openDescriptorsOf(dir)).isZero();
    }
}
