package dev.kura.cache.internal;

import dev.kura.testing.Requires;
import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.Tier;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.CorruptEntryException;
import dev.kura.cache.Fill;
import dev.kura.io.Backend;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CacheFaultTest {
    @TempDir
    Path dir;

    private static long tmpFiles(Path dir) throws IOException {
        try (var s = Files.list(dir.resolve("tmp"))) {
            return s.count();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void eioOnWriteFailsCleanlyIsCountedAndLoggedOncePerBurst(Backend backend) throws Exception {
        try (FaultyFileIo io = new FaultyFileIo(io(backend))) {
            FaultyFs fs = new FaultyFs();
            try (TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, fs, EvictionKind.SIEVE, 4096)) {
                awaitRecovery(c);
                put(c, "good", bytes(1, 10_000));
                io.rule = (op, p) -> op.equals("write") ? Errno.EIO : null;
                long linesBefore = c.faultLogLines();
                for (int i = 0; i < 200; i++) {
                    Fill.Leader l = (Fill.Leader) c.fill("bad" + i);
                    CacheWriter w = l.begin(md(10_000));
                    assertThat(w).isNotNull();
                    assertThatThrownBy(() -> {
                        w.write(ByteBuffer.wrap(bytes(2, 10_000)));
                        w.commit();
                    }).isInstanceOf(IOException.class);
                    assertThat(c.lookup("bad" + i)).isEmpty();
                }
                assertThat(c.stats().errors().get("EIO")).isEqualTo(200);
                assertThat(c.faultLogLines() - linesBefore).as("one log line per burst").isLessThanOrEqualTo(1);
                assertThat(tmpFiles(dir)).isZero();
                // reads still work during the write outage
                assertThat(getBytes(c, "good")).contains(bytes(1, 10_000));
                io.rule = (op, p) -> null;
                assertThat(put(c, "after", bytes(3, 5000))).isTrue();
                assertThat(getBytes(c, "after")).contains(bytes(3, 5000));
                assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void eioAndEaccesOnReadAreMissesNotErrors(Backend backend) throws Exception {
        try (FaultyFileIo io = new FaultyFileIo(io(backend))) {
            try (TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, new FaultyFs(), EvictionKind.SIEVE, 4096)) {
                awaitRecovery(c);
                put(c, "k", bytes(1, 20_000));
                io.rule = (op, p) -> op.equals("read") ? Errno.EIO : null;
                assertThat(c.get("k")).isEmpty();
                io.rule = (op, p) -> op.equals("open") ? Errno.EACCES : null;
                assertThat(c.get("k")).isEmpty();
                assertThat(c.stats().errors()).containsEntry("EIO", 1L).containsEntry("EACCES", 1L);
                io.rule = (op, p) -> null;
                // a transient fault does not destroy the entry
                assertThat(getBytes(c, "k")).contains(bytes(1, 20_000));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void eaccesOnCreateAndEioOnRenamePublishNothing(Backend backend) throws Exception {
        try (FaultyFileIo io = new FaultyFileIo(io(backend))) {
            FaultyFs fs = new FaultyFs();
            try (TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, fs, EvictionKind.SIEVE, 4096)) {
                awaitRecovery(c);
                io.rule = (op, p) -> op.equals("open") && p.toString().contains(".tmp-") ? Errno.EACCES : null;
                Fill.Leader l = (Fill.Leader) c.fill("k");
                assertThat(l.begin(md(100))).as("no tier takes it").isNull();
                io.rule = (op, p) -> null;
                fs.rule = (op, p) -> op.equals("rename") ? Errno.EIO : null;
                Fill.Leader l2 = (Fill.Leader) c.fill("k");
                CacheWriter w = l2.begin(md(100));
                w.write(ByteBuffer.wrap(bytes(1, 100)));
                assertThatThrownBy(w::commit).isInstanceOf(IOException.class);
                assertThat(c.lookup("k")).isEmpty();
                assertThat(tmpFiles(dir)).isZero();
                assertThat(c.stats().errors()).containsEntry("EACCES", 1L).containsEntry("EIO", 1L);
                fs.rule = (op, p) -> null;
                assertThat(put(c, "k", bytes(1, 100))).isTrue();
                assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void memoryTierTakesWhatTheFailingDiskRefuses(Backend backend) throws Exception {
        try (FaultyFileIo io = new FaultyFileIo(io(backend))) {
            try (TieredCache c = TieredCache.open(config(dir, 16 << 20, 4 << 20), io, new FaultyFs(), EvictionKind.SIEVE, 4096)) {
                awaitRecovery(c);
                io.rule = (op, p) -> op.equals("write") ? Errno.ENOSPC : null;
                assertThat(put(c, "small", bytes(1, 1000))).isTrue();
                try (CacheEntry e = c.get("small").orElseThrow()) {
                    assertThat(e.tier()).isEqualTo(Tier.MEMORY);
                    assertThat(readAll(e)).isEqualTo(bytes(1, 1000));
                }
                assertThat(c.stats().errors()).containsEntry("ENOSPC", 1L);
                assertThat(c.stats().diskEntries()).isZero();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void flippedBytesAreDetectedRemovedAndAMiss(Backend backend) throws Exception {
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
                awaitRecovery(c);
            put(c, "small", bytes(1, 3000));
            put(c, "large", bytes(2, 100_000));
            put(c, "hdr", bytes(3, 100_000));
            flip(dir, "small", 200 + 1500);
            flip(dir, "large", 60_000);
            flip(dir, "hdr", 20);
            assertThat(c.get("small")).isEmpty();
            assertThat(c.get("hdr")).isEmpty();
            try (CacheEntry e = c.get("large").orElseThrow()) {
                ByteBuffer first = ByteBuffer.allocate(4096);
                assertThat(e.read(0, first)).isEqualTo(4096); // untouched block reads fine
                assertThatThrownBy(() -> readAll(e)).isInstanceOf(CorruptEntryException.class);
            }
            assertThat(c.get("large")).isEmpty();
            assertThat(c.stats().errors()).containsEntry("corrupt", 3L);
            assertThat(c.stats().diskEntries()).isZero();
            assertThat(filesOnDisk(dir)).isZero();
        }
    }

    /**
     * Asynchronous reads fetch up to {@link DiskHandle#BLOCKS_PER_READ} blocks in one read: every
     * start and length (unaligned, across blocks, to the object's end) returns exact bytes, and a
     * flipped byte in the third block of such a read fails it and removes the entry.
     */
    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void multiBlockAsyncReadsAreExactAndCheckEveryBlock(Backend backend) throws Exception {
        int size = 5 * 65536 + 1234;
        byte[] want = bytes(9, size);
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            put(c, "multi", want);
            put(c, "bad", want);
            try (CacheEntry e = c.get("multi").orElseThrow()) {
                long[][] cases = {{0, 262144}, {100, 262144}, {65535, 3}, {65000, 200_000}, {size - 70_000, 70_000},
                        {size - 1, 1}, {1, size - 1}};
                for (long[] k : cases) {
                    ByteBuffer dst = ByteBuffer.allocateDirect((int) k[1]);
                    while (dst.hasRemaining()) {
                        int n = e.readAsync(k[0] + dst.position(), dst).get(30, java.util.concurrent.TimeUnit.SECONDS);
                        assertThat(n).isPositive();
                    }
                    byte[] got = new byte[(int) k[1]];
                    dst.flip().get(got);
                    assertThat(got).as("bytes %d+%d", k[0], k[1])
                            .isEqualTo(java.util.Arrays.copyOfRange(want, (int) k[0], (int) (k[0] + k[1])));
                }
            }
            // FORMAT.md: file_length = header_length + size + 4 x block_count + 40
            String name = EntryFormat.nameOf("bad");
            long header = java.nio.file.Files.size(dir.resolve(name.substring(0, 2)).resolve(name)) - size - 4L * 6 - 40;
            flip(dir, "bad", header + 2L * (65536 + EntryFormat.CRC_SIZE) + 777); // block 2
            try (CacheEntry e = c.get("bad").orElseThrow()) {
                ByteBuffer dst = ByteBuffer.allocateDirect(262144);
                assertThatThrownBy(() -> e.readAsync(0, dst).get(30, java.util.concurrent.TimeUnit.SECONDS))
                        .hasCauseInstanceOf(CorruptEntryException.class);
            }
            assertThat(c.get("bad")).isEmpty();
        }
    }

    /**
     * A direct read scatters each block into the caller's buffer and a scratch buffer (the head
     * of the first block, the tail of the last, the CRCs): a flipped byte in any of those pieces,
     * even outside the range asked for, fails the read and removes the entry. The same holds for
     * the event loop's read from the page cache ({@link CacheEntry#readIfCached}, io_uring backend;
     * the NIO backend declines it with -1).
     */
    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void scatteredReadsCheckTheBytesOutsideTheRangeToo(Backend backend) throws Exception {
        int size = 100_000; // blocks of 4096 bytes: 24 full ones and one of 1696
        byte[] want = bytes(10, size);
        boolean ifCached = backend == Backend.IO_URING;
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 16 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            String name = EntryFormat.nameOf("k");
            // the range 5000..20999 covers blocks 1..5: block 1 from its byte 904 on, block 5 up to its byte 519
            long[] flips = {4096 + 100, 5 * 4096 + 3000, 3 * 4096 + 10};
            String[] where = {"head of the first block", "tail of the last block", "a middle block"};
            for (boolean fromPageCache : new boolean[] {false, true}) {
                for (int i = 0; i <= flips.length; i++) {
                    put(c, "k", want);
                    long header = java.nio.file.Files.size(dir.resolve(name.substring(0, 2)).resolve(name)) - size - 4L * 25 - 40;
                    if (i == flips.length) {
                        // the CRC of block 2
                        flip(dir, "k", header + 2L * (4096 + EntryFormat.CRC_SIZE) + 4096 + 1);
                    } else {
                        long b = flips[i] / 4096;
                        flip(dir, "k", header + b * (4096 + EntryFormat.CRC_SIZE) + flips[i] % 4096);
                    }
                    String what = (i == flips.length ? "the CRC of block 2" : where[i])
                            + (fromPageCache ? ", read from the page cache" : "");
                    try (CacheEntry e = c.lookupAsync("k").get().orElseThrow()) {
                        ByteBuffer dst = ByteBuffer.allocateDirect(16_000);
                        if (!fromPageCache) {
                            assertThatThrownBy(() -> e.readAsync(5000, dst).get(30, java.util.concurrent.TimeUnit.SECONDS))
                                    .as(what).hasCauseInstanceOf(CorruptEntryException.class);
                        } else if (ifCached) {
                            // the file was just written: its pages are cached, so the read happens and fails
                            assertThatThrownBy(() -> e.readIfCached(5000, dst)).as(what).isInstanceOf(CorruptEntryException.class);
                        } else {
                            assertThat(e.readIfCached(5000, dst)).as(what).isEqualTo(-1);
                            continue;
                        }
                    }
                    assertThat(c.get("k")).as(what).isEmpty();
                }
            }
            // an intact entry: the same range, exact, both ways
            put(c, "k", want);
            try (CacheEntry e = c.lookupAsync("k").get().orElseThrow()) {
                ByteBuffer dst = ByteBuffer.allocateDirect(16_000);
                assertThat(e.readAsync(5000, dst).get(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(16_000);
                byte[] got = new byte[16_000];
                dst.flip().get(got);
                assertThat(got).isEqualTo(java.util.Arrays.copyOfRange(want, 5000, 21_000));
                ByteBuffer now = ByteBuffer.allocateDirect(size);
                assertThat(e.readIfCached(5000, now)).isEqualTo(ifCached ? size - 5000 : -1);
                if (ifCached) {
                    byte[] rest = new byte[size - 5000];
                    now.flip().get(rest);
                    assertThat(rest).isEqualTo(java.util.Arrays.copyOfRange(want, 5000, size));
                }
                assertThat(e.readIfCached(size, ByteBuffer.allocateDirect(10))).as("at the end").isEqualTo(-1);
                assertThat(e.readIfCached(0, ByteBuffer.allocate(10))).as("a heap buffer").isEqualTo(-1);
            }
        }
    }

    static void flip(Path dir, String key, long offset) throws IOException {
        String name = EntryFormat.nameOf(key);
        Path p = dir.resolve(name.substring(0, 2)).resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x5A);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void enospcOnARealSizeCappedTmpfs(Backend backend) throws Exception {
        Requires.root("mount a 1 MiB tmpfs");
        Requires.tool("mount", "util-linux");
        Path mnt = Files.createTempDirectory("kura-enospc");
        Process m = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt.toString())
                .redirectErrorStream(true).start();
        String out = new String(m.getInputStream().readAllBytes());
        assertThat(m.waitFor(30, TimeUnit.SECONDS) && m.exitValue() == 0)
                .as("mounting a 1 MiB tmpfs needs root: " + out).isTrue();
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(new CacheConfig(mnt.resolve("c"), 64 << 20, 0, 1 << 20, 0, 0, null),
                     io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
                awaitRecovery(c);
            int ok = 0;
            int failed = 0;
            for (int i = 0; i < 40; i++) {
                try {
                    if (put(c, "k" + i, bytes(i, 100_000))) {
                        ok++;
                    } else {
                        failed++;
                    }
                } catch (IOException e) {
                    failed++;
                }
            }
            assertThat(ok).isGreaterThan(0);
            assertThat(failed).isGreaterThan(0);
            assertThat(c.stats().errors().get("ENOSPC")).isPositive();
            assertThat(tmpFiles(mnt.resolve("c"))).isZero();
            assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(mnt.resolve("c")));
            assertThat(getBytes(c, "k0")).contains(bytes(0, 100_000));
            // room again: the cache is still usable
            c.clear();
            assertThat(put(c, "again", bytes(99, 100_000))).isTrue();
            assertThat(getBytes(c, "again")).contains(bytes(99, 100_000));
        } finally {
            new ProcessBuilder("umount", mnt.toString()).inheritIO().start().waitFor();
            Files.deleteIfExists(mnt);
        }
    }
}
