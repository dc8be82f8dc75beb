package dev.kura.cache.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

class RecoveryTest {
    @TempDir
    Path dir;

    private static final int N = 600;

    private void populate(FileIo io, CacheConfig cfg) throws Exception {
        try (Cache c = Cache.open(cfg, io)) {
            for (int i = 0; i < N; i++) {
                put(c, (i % 2 == 0 ? "a/" : "b/") + i, bytes(i, 50 + i));
            }
        }
        Files.deleteIfExists(dir.resolve(DiskStore.SNAPSHOT)); // force a scan (none when closed mid-recovery)
    }

    /** A directory listing that takes 10 ms keeps the scan running for ~2.5 s. */
    private static FaultyFs slowListing() {
        FaultyFs fs = new FaultyFs();
        fs.rule = (op, p) -> {
            if (op.equals("list") && !p.endsWith("tmp")) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return null;
        };
        return fs;
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void servesEveryCommittedEntryWhileRecoveryRuns(Backend backend) throws Exception {
        CacheConfig cfg = config(dir, 64 << 20, 0);
        try (FileIo io = io(backend)) {
            populate(io, cfg);
            try (TieredCache c = TieredCache.open(cfg, io, slowListing(), EvictionKind.SIEVE, EntryFormat.DEFAULT_BLOCK_SIZE)) {
                assertThat(c.recovered()).as("recovery still running").isFalse();
                for (int i = 0; i < N; i += 7) {
                    assertThat(getBytes(c, (i % 2 == 0 ? "a/" : "b/") + i)).as("key " + i).contains(bytes(i, 50 + i));
                }
                // changes made during recovery win over what the scan finds later
                assertThat(c.delete("a/0")).isTrue();
                assertThat(c.delete("a/2")).isTrue();
                put(c, "a/4", bytes(999, 10));
                assertThat(c.purgePrefix("b/")).isGreaterThan(0);
                assertThat(c.recovered()).as("recovery still running").isFalse();
                awaitRecovery(c);
                assertThat(c.lookup("a/0")).isEmpty();
                assertThat(c.lookup("a/2")).isEmpty();
                assertThat(getBytes(c, "a/4")).contains(bytes(999, 10));
                assertThat(c.lookup("b/1")).isEmpty();
                assertThat(c.lookup("b/599")).isEmpty();
                assertThat(getBytes(c, "a/598")).contains(bytes(598, 50 + 598));
                assertThat(c.stats().diskEntries()).isEqualTo(N / 2 - 2).isEqualTo(filesOnDisk(dir));
                assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
                assertThat(c.stats().recoveryNanos()).isPositive();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void tornShortZeroLengthOrphanAndTemporaryFilesAreRemovedAtOpen(Backend backend) throws Exception {
        CacheConfig cfg = config(dir, 64 << 20, 0);
        try (FileIo io = io(backend)) {
            populate(io, cfg);
            String n1 = EntryFormat.nameOf("a/10");
            String n2 = EntryFormat.nameOf("a/12");
            String n3 = EntryFormat.nameOf("a/14");
            String n4 = EntryFormat.nameOf("a/16");
            Path p1 = dir.resolve(n1.substring(0, 2)).resolve(n1);
            Path p2 = dir.resolve(n2.substring(0, 2)).resolve(n2);
            Path p3 = dir.resolve(n3.substring(0, 2)).resolve(n3);
            Path p4 = dir.resolve(n4.substring(0, 2)).resolve(n4);
            try (RandomAccessFile f = new RandomAccessFile(p1.toFile(), "rw")) {
                f.setLength(f.length() - 1); // short: trailer torn
            }
            Files.write(p2, new byte[0]); // zero-length, as after a power loss without fsync
            try (RandomAccessFile f = new RandomAccessFile(p3.toFile(), "rw")) {
                f.seek(f.length() - 40);
                f.write(new byte[40]); // zeroed trailer: never committed
            }
            Files.move(p4, dir.resolve("00").resolve("0".repeat(32))); // right format, wrong name
            Files.write(dir.resolve("tmp").resolve(".tmp-leftover"), new byte[100]);
            Files.write(dir.resolve("ab").resolve("junk"), new byte[7]);
            try (Cache c = Cache.open(cfg, io)) {
                awaitRecovery(c);
                assertThat(c.lookup("a/10")).isEmpty();
                assertThat(c.lookup("a/12")).isEmpty();
                assertThat(c.lookup("a/14")).isEmpty();
                assertThat(c.lookup("a/16")).isEmpty();
                assertThat(getBytes(c, "a/18")).contains(bytes(18, 68));
                assertThat(c.stats().recoveredEntries()).isEqualTo(N - 4);
                assertThat(c.stats().diskEntries()).isEqualTo(N - 4).isEqualTo(filesOnDisk(dir));
                assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
                assertThat(Files.list(dir.resolve("tmp")).count()).isZero();
                assertThat(c.stats().errors().get("corrupt")).isEqualTo(4);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void aCorruptSnapshotIsIgnoredAndTheDirectoryScanned(Backend backend) throws Exception {
        CacheConfig cfg = config(dir, 64 << 20, 0);
        try (FileIo io = io(backend)) {
            try (Cache c = Cache.open(cfg, io)) {
                awaitRecovery(c); // a close during recovery writes no snapshot, and this test needs one
                for (int i = 0; i < 50; i++) {
                    put(c, "k" + i, bytes(i, 100));
                }
            }
            Path snap = dir.resolve(DiskStore.SNAPSHOT);
            byte[] b = Files.readAllBytes(snap);
            b[b.length / 2] ^= 1;
            Files.write(snap, b);
            try (Cache c = Cache.open(cfg, io)) {
                awaitRecovery(c);
                assertThat(Files.exists(snap)).as("snapshot deleted at open").isFalse();
                assertThat(c.stats().recoveredEntries()).isEqualTo(50);
                assertThat(getBytes(c, "k49")).contains(bytes(49, 100));
                assertThat(c.stats().errors()).containsKey("snapshot");
            }
        }
    }

    /** File lengths around the 4 KiB first read of the scan: every one must be recovered. */
    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void entriesAroundThePageSizeAreRecoveredByTheScan(Backend backend) throws Exception {
        CacheConfig cfg = config(dir, 64 << 20, 0);
        try (FileIo io = io(backend)) {
            try (Cache c = Cache.open(cfg, io)) {
                for (int size = 3800; size <= 4200; size++) {
                    put(c, "k" + size, bytes(size, size));
                }
            }
            Files.deleteIfExists(dir.resolve(DiskStore.SNAPSHOT)); // force a scan
            try (Cache c = Cache.open(cfg, io)) {
                awaitRecovery(c);
                assertThat(c.stats().recoveredEntries()).isEqualTo(401);
                assertThat(c.stats().errors()).isEmpty();
                assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
                assertThat(getBytes(c, "k4000")).contains(bytes(4000, 4000));
            }
        }
    }
}
