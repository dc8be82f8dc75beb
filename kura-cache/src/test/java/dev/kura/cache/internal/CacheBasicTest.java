package dev.kura.cache.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.Tier;
import dev.kura.cache.CacheStats;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CacheBasicTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void putGetRangeAndMetadata(Backend backend) throws Exception {
        try (FileIo io = io(backend);
             Cache c = TieredCache.open(config(dir, 64 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            byte[] big = bytes(1, 100_000);
            EntryMetadata md = new EntryMetadata(big.length, "text/plain", "\"abc\"", Instant.ofEpochSecond(1_700_000_000),
                    Instant.now().plusSeconds(3600), Map.of("cache-control", "max-age=60"));
            assertThat(put(c, "b/k1", big, md, 1000)).isTrue();
            try (CacheEntry e = c.get("b/k1").orElseThrow()) {
                assertThat(e.key()).isEqualTo("b/k1");
                assertThat(e.tier()).isEqualTo(Tier.DISK);
                assertThat(e.metadata()).isEqualTo(md);
                assertThat(readAll(e)).isEqualTo(big);
                // a range spanning blocks
                ByteBuffer r = ByteBuffer.allocate(5000);
                assertThat(e.read(4000, r)).isEqualTo(5000);
                assertThat(r.array()).isEqualTo(java.util.Arrays.copyOfRange(big, 4000, 9000));
                ByteBuffer tail = ByteBuffer.allocate(100);
                assertThat(e.readAsync(big.length - 10, tail).get()).isEqualTo(10);
                assertThat(e.read(big.length, ByteBuffer.allocate(10))).isZero();
                ByteBuffer ar = ByteBuffer.allocate(9000);
                assertThat(e.readAsync(3, ar).get()).isEqualTo(9000);
                assertThat(ar.array()).isEqualTo(java.util.Arrays.copyOfRange(big, 3, 9003));
            }
            assertThat(c.get("b/nope")).isEmpty();
            CacheStats s = c.stats();
            assertThat(s.hits()).isEqualTo(1);
            assertThat(s.misses()).isEqualTo(1);
            assertThat(s.diskEntries()).isEqualTo(1);
            assertThat(s.diskBytes()).isEqualTo(bytesOnDisk(dir));
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void emptyObjectAndWrongLength(Backend backend) throws Exception {
        try (FileIo io = io(backend); Cache c = Cache.open(config(dir, 1 << 20, 0), io)) {
            assertThat(put(c, "empty", new byte[0])).isTrue();
            try (CacheEntry e = c.get("empty").orElseThrow()) {
                assertThat(e.metadata().size()).isZero();
                assertThat(e.read(0, ByteBuffer.allocate(4))).isZero();
            }
            Fill.Leader l = (Fill.Leader) c.fill("short");
            CacheWriter w = l.begin(md(10));
            w.write(ByteBuffer.allocate(5));
            assertThatThrownBy(w::commit).hasMessageContaining("5 bytes written, 10 declared");
            assertThat(c.get("short")).isEmpty();
            assertThat(c.stats().diskEntries()).isEqualTo(1);
            assertThat(java.nio.file.Files.list(dir.resolve("tmp")).count()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void abortPublishesNothingAndReaderSeesOnlyCommitted(Backend backend) throws Exception {
        try (FileIo io = io(backend); Cache c = Cache.open(config(dir, 1 << 20, 0), io)) {
            Fill.Leader l = (Fill.Leader) c.fill("k");
            CacheWriter w = l.begin(md(100));
            w.write(ByteBuffer.wrap(bytes(2, 100)));
            assertThat(c.lookup("k")).isEmpty();
            w.abort();
            assertThat(c.lookup("k")).isEmpty();
            assertThat(java.nio.file.Files.list(dir.resolve("tmp")).count()).isZero();
            assertThat(c.stats().diskBytes()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void overwriteDeletePurgeClear(Backend backend) throws Exception {
        try (FileIo io = io(backend); Cache c = Cache.open(config(dir, 16 << 20, 0), io)) {
            put(c, "a/1", bytes(1, 1000));
            put(c, "a/2", bytes(2, 2000));
            put(c, "b/1", bytes(3, 3000));
            put(c, "a/1", bytes(4, 500));
            assertThat(getBytes(c, "a/1")).contains(bytes(4, 500));
            assertThat(c.stats().diskEntries()).isEqualTo(3);
            assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
            assertThat(c.delete("a/2")).isTrue();
            assertThat(c.delete("a/2")).isFalse();
            assertThat(c.purgePrefix("a/")).isEqualTo(1);
            assertThat(getBytes(c, "b/1")).contains(bytes(3, 3000));
            c.clear();
            assertThat(c.stats().diskEntries()).isZero();
            assertThat(c.stats().diskBytes()).isZero();
            assertThat(filesOnDisk(dir)).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void openHandleKeepsItsVersionAcrossOverwriteAndDelete(Backend backend) throws Exception {
        try (FileIo io = io(backend); Cache c = Cache.open(config(dir, 16 << 20, 0), io)) {
            byte[] v1 = bytes(1, 300_000);
            byte[] v2 = bytes(2, 200_000);
            put(c, "k", v1);
            try (CacheEntry old = c.get("k").orElseThrow()) {
                put(c, "k", v2);
                assertThat(readAll(old)).isEqualTo(v1);
                c.delete("k");
                assertThat(readAll(old)).isEqualTo(v1);
            }
            assertThat(c.get("k")).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void restartBringsBackEveryEntryWithExactAccounting(Backend backend) throws Exception {
        long bytesBefore;
        try (FileIo io = io(backend)) {
            try (Cache c = Cache.open(config(dir, 64 << 20, 0), io)) {
                for (int i = 0; i < 200; i++) {
                    put(c, "k" + i, bytes(i, 100 + i * 37));
                }
                c.delete("k7");
                bytesBefore = c.stats().diskBytes();
            }
            // clean close: snapshot
            try (Cache c = Cache.open(config(dir, 64 << 20, 0), io)) {
                awaitRecovery(c);
                assertThat(c.stats().recoveredEntries()).isEqualTo(199);
                assertThat(c.stats().diskBytes()).isEqualTo(bytesBefore).isEqualTo(bytesOnDisk(dir));
                for (int i = 0; i < 200; i++) {
                    Optional<byte[]> b = getBytes(c, "k" + i);
                    if (i == 7) {
                        assertThat(b).isEmpty();
                    } else {
                        assertThat(b).contains(bytes(i, 100 + i * 37));
                    }
                }
            }
            // no snapshot: scan
            java.nio.file.Files.deleteIfExists(dir.resolve(DiskStore.SNAPSHOT));
            try (Cache c = Cache.open(config(dir, 64 << 20, 0), io)) {
                awaitRecovery(c);
                assertThat(c.stats().recoveredEntries()).isEqualTo(199);
                assertThat(c.stats().diskBytes()).isEqualTo(bytesBefore);
                assertThat(getBytes(c, "k150")).contains(bytes(150, 100 + 150 * 37));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void secondOpenOfTheSameDirectoryIsRefused(Backend backend) throws Exception {
        try (FileIo io = io(backend); Cache c = Cache.open(config(dir, 1 << 20, 0), io)) {
            assertThatThrownBy(() -> Cache.open(config(dir, 1 << 20, 0), io)).hasMessageContaining("in use");
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void recentlyReadEntrySurvivesWhereOlderUnreadIsEvicted(Backend backend) throws Exception {
        for (EvictionKind policy : EvictionKind.values()) {
            Path d = dir.resolve(policy.name());
            try (FileIo io = io(backend);
                 TieredCache c = TieredCache.open(new CacheConfig(d, 10 * 1200, 0, 1200, 0, 0, null), io,
                         NioFs.INSTANCE, policy, 4096)) {
                for (int i = 0; i < 8; i++) {
                    put(c, "k" + i, bytes(i, 1000));
                }
                awaitRecovery(c);
                assertThat(getBytes(c, "k0")).isPresent(); // k0 is the oldest, but read
                for (int i = 8; i < 12; i++) {
                    put(c, "k" + i, bytes(i, 1000));
                }
                assertThat(c.stats().evictions()).as(policy.name()).isGreaterThan(0);
                assertThat(c.lookup("k0")).as(policy + ": read entry kept").isPresent();
                assertThat(c.lookup("k1")).as(policy + ": older unread entry evicted").isEmpty();
                assertThat(c.stats().diskBytes()).isLessThanOrEqualTo(10 * 1200).isEqualTo(bytesOnDisk(d));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void expiredEntryIsAMissForGetButVisibleToLookup(Backend backend) throws Exception {
        try (FileIo io = io(backend); Cache c = Cache.open(config(dir, 1 << 20, 1 << 20), io)) {
            EntryMetadata md = new EntryMetadata(10, null, "\"v1\"", null, Instant.now().minusSeconds(1), null);
            put(c, "k", bytes(1, 10), md, 10);
            try (CacheEntry e = c.lookup("k").orElseThrow()) {
                assertThat(e.metadata().isExpired(Instant.now())).isTrue();
            }
            // revalidated: new expiry
            assertThat(c.updateMetadata("k", "\"v1\"", md.withExpiresAt(Instant.now().plusSeconds(60)))).isTrue();
            assertThat(getBytes(c, "k")).contains(bytes(1, 10));
            assertThat(c.updateMetadata("k", "\"other\"", md)).isFalse();
            assertThat(c.updateMetadata("k", "\"v1\"", md)).isTrue();
            assertThat(c.get("k")).isEmpty();
            assertThat(c.stats().expirations()).isEqualTo(1);
            assertThat(c.lookup("k")).isEmpty();
            assertThat(c.stats().diskBytes()).isZero();
        }
    }
}
