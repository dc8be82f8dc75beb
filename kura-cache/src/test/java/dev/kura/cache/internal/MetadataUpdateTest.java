package dev.kura.cache.internal;

import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.Tier;
import dev.kura.cache.EntryMetadata;
import dev.kura.io.Backend;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Map;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Revalidation without rewriting (issue 8 §4): a 304's metadata goes into a small record beside
 * the entry, and every crash state leaves either the old or the new metadata.
 */
class MetadataUpdateTest {
    private static final String KEY = "bucket/large.bin";

    @TempDir
    Path dir;
    /** Outside the cache's directory, and this test's own (not a file shared in /tmp). */
    @TempDir
    Path scratch;

    private TieredCache open(FileIo io, FaultyFs fs, long memory) throws Exception {
        CacheConfig cfg = new CacheConfig(dir, 256L << 20, 0, 64L << 20, memory, memory > 0 ? 64 * 1024 : 0,
                CacheConfig.Durability.NONE);
        return TieredCache.open(cfg, io, fs, EvictionKind.SIEVE, EntryFormat.DEFAULT_BLOCK_SIZE);
    }

    private static EntryMetadata oldMd(long size) {
        return new EntryMetadata(size, "application/octet-stream", "\"v1\"", null,
                Instant.parse("2026-01-01T00:00:00Z"), Map.of("Cache-Control", "max-age=60"));
    }

    private static EntryMetadata newMd(long size) {
        return new EntryMetadata(size, "application/octet-stream", "\"v1\"", null,
                Instant.parse("2036-01-01T00:00:00Z"),
                Map.of("Cache-Control", "max-age=3600", "x-amz-meta-revalidated", "yes"));
    }

    private Path entryFile() {
        String name = EntryFormat.nameOf(KEY);
        return dir.resolve(name.substring(0, 2)).resolve(name);
    }

    private Path metaFile() {
        return entryFile().resolveSibling(entryFile().getFileName() + EntryFormat.META_SUFFIX);
    }

    private static EntryMetadata metadataOf(TieredCache c) {
        try (CacheEntry e = c.lookup(KEY).orElseThrow()) {
            return e.metadata();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void revalidatingALargeEntryWritesOnlyItsMetadata(Backend backend) throws Exception {
        byte[] data = bytes(21, 16 << 20);
        try (FileIo base = io(backend)) {
            FaultyFileIo io = new FaultyFileIo(base);
            try (TieredCache c = open(io, new FaultyFs(), 0)) {
                assertThat(put(c, KEY, data, oldMd(data.length), 1 << 20)).isTrue();
                Object inode = Files.getAttribute(entryFile(), "unix:ino");
                long size = Files.size(entryFile());
                long before = io.bytesWritten.get();

                assertThat(c.updateMetadata(KEY, "\"v1\"", newMd(data.length))).isTrue();

                long written = io.bytesWritten.get() - before;
                int record = EntryFormat.encodeMetaRecord(KEY, 0, newMd(data.length)).remaining();
                assertThat(written).as("bytes written by the revalidation").isEqualTo(record).isLessThan(1024);
                assertThat(Files.getAttribute(entryFile(), "unix:ino")).as("the entry file is not replaced").isEqualTo(inode);
                assertThat(Files.size(entryFile())).isEqualTo(size);
                assertThat(metadataOf(c)).isEqualTo(newMd(data.length));
                assertThat(getBytes(c, KEY)).hasValueSatisfying(b -> assertThat(b).isEqualTo(data));
                assertThat(c.updateMetadata(KEY, "\"other\"", newMd(data.length))).as("another ETag").isFalse();
            }
            // clean close: the snapshot says the record is there
            try (TieredCache c = open(io, new FaultyFs(), 0)) {
                assertThat(metadataOf(c)).isEqualTo(newMd(data.length));
                awaitRecovery(c);
            }
            // crash (no snapshot): the scan finds the record; and a lookup before the scan probes it
            Files.deleteIfExists(dir.resolve(DiskStore.SNAPSHOT));
            try (TieredCache c = open(io, new FaultyFs(), 0)) {
                assertThat(metadataOf(c)).isEqualTo(newMd(data.length));
                awaitRecovery(c);
                assertThat(metadataOf(c)).isEqualTo(newMd(data.length));
                assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
                // the record goes with its entry
                assertThat(c.delete(KEY)).isTrue();
                assertThat(metaRecordsOnDisk(dir)).isZero();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void everyCrashStateKeepsTheOldOrTheNewMetadata(Backend backend) throws Exception {
        byte[] data = bytes(22, 300_000);
        EntryMetadata oldMd = oldMd(data.length);
        EntryMetadata newMd = newMd(data.length);
        try (FileIo io = io(backend)) {
            try (TieredCache c = open(io, new FaultyFs(), 0)) {
                put(c, KEY, data, oldMd, 65_536);
                assertThat(c.updateMetadata(KEY, "\"v1\"", newMd)).isTrue();
            }
            Path saved = scratch.resolve("saved.meta");
            Files.copy(metaFile(), saved, StandardCopyOption.REPLACE_EXISTING);

            // 1. crash after the rename: the new metadata
            reopenWithoutSnapshot(io, newMd);

            // 2. crash before the rename: the record is still a temporary file -> the old metadata
            Files.move(metaFile(), dir.resolve("tmp").resolve(".tmp-meta-crashed"));
            reopenWithoutSnapshot(io, oldMd);
            assertThat(dir.resolve("tmp").resolve(".tmp-meta-crashed")).doesNotExist();

            // 3. power loss with durability none: the renamed record is torn or empty -> the old metadata
            byte[] rec = Files.readAllBytes(saved);
            Files.write(metaFile(), java.util.Arrays.copyOf(rec, rec.length / 2));
            reopenWithoutSnapshot(io, oldMd);
            assertThat(metaFile()).as("a torn record is removed").doesNotExist();
            Files.write(metaFile(), new byte[0]);
            reopenWithoutSnapshot(io, oldMd);
            byte[] flipped = rec.clone();
            flipped[rec.length - 10] ^= 1;
            Files.write(metaFile(), flipped);
            reopenWithoutSnapshot(io, oldMd);

            // 4. a record left behind by a replaced version never applies to the new one
            EntryMetadata v2 = new EntryMetadata(1000, null, "\"v2\"", null, null, Map.of());
            try (TieredCache c = open(io, new FaultyFs(), 0)) {
                put(c, KEY, bytes(23, 1000), v2, 1000);
            }
            Files.copy(saved, metaFile(), StandardCopyOption.REPLACE_EXISTING);
            reopenWithoutSnapshot(io, v2);
            assertThat(metaFile()).as("another version's record is removed").doesNotExist();
        }
    }

    private void reopenWithoutSnapshot(FileIo io, EntryMetadata expected) throws Exception {
        Files.deleteIfExists(dir.resolve(DiskStore.SNAPSHOT));
        try (TieredCache c = open(io, new FaultyFs(), 0)) {
            awaitRecovery(c);
            assertThat(metadataOf(c)).isEqualTo(expected);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void aFailedRenameKeepsTheOldMetadata(Backend backend) throws Exception {
        byte[] data = bytes(24, 200_000);
        try (FileIo io = io(backend)) {
            FaultyFs fs = new FaultyFs();
            try (TieredCache c = open(io, fs, 0)) {
                put(c, KEY, data, oldMd(data.length), 65_536);
                fs.rule = (op, p) -> op.equals("rename") && p.toString().endsWith(EntryFormat.META_SUFFIX) ? Errno.EIO : null;
                assertThat(c.updateMetadata(KEY, "\"v1\"", newMd(data.length))).isFalse();
                assertThat(metadataOf(c)).isEqualTo(oldMd(data.length));
                assertThat(c.stats().errors()).containsKey("EIO");
                fs.rule = (op, p) -> null;
                try (var s = Files.list(dir.resolve("tmp"))) {
                    assertThat(s.count()).as("the temporary record is removed").isZero();
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void theMemoryTierSeesTheNewMetadataToo(Backend backend) throws Exception {
        byte[] data = bytes(25, 10_000);
        try (FileIo io = io(backend); TieredCache c = open(io, new FaultyFs(), 1 << 20)) {
            put(c, KEY, data, oldMd(data.length), 4096);
            try (CacheEntry e = c.lookup(KEY).orElseThrow()) {
                assertThat(e.tier()).isEqualTo(Tier.MEMORY);
            }
            assertThat(c.updateMetadata(KEY, "\"v1\"", newMd(data.length))).isTrue();
            try (CacheEntry e = c.lookup(KEY).orElseThrow()) {
                assertThat(e.tier()).isEqualTo(Tier.MEMORY);
                assertThat(e.metadata()).isEqualTo(newMd(data.length));
                assertThat(readAll(e)).isEqualTo(data);
            }
            c.delete(KEY);
            assertThat(metaRecordsOnDisk(dir)).isZero();
        }
    }
}
