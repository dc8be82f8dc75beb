package dev.kura.cache.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.EntryMetadata;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The disk tier's open-file cache ({@link OpenFiles}): a repeated disk hit reuses the open
 * version, and no replaced, removed or evicted version is ever served from it or keeps its
 * unlinked file's blocks through a descriptor.
 */
class OpenFilesTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void repeatedHitsReuseTheOpenVersionAndReadTheSameBytes(Backend backend) throws Exception {
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 64 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            byte[] big = bytes(7, 300_000);
            assertThat(put(c, "b/k", big)).isTrue();
            OpenFiles open = c.diskStore().openFiles;
            for (int i = 0; i < 5; i++) {
                try (CacheEntry e = c.lookupAsync("b/k").get().orElseThrow()) {
                    assertThat(readAll(e)).isEqualTo(big);
                }
            }
            // The first lookup opened the file; the four after it found it open.
            assertThat(open.hits()).isEqualTo(4);
            // Two handles on one open version at once, each with its own reads.
            try (CacheEntry a = c.get("b/k").orElseThrow(); CacheEntry b = c.get("b/k").orElseThrow()) {
                assertThat(readAll(a)).isEqualTo(big);
                a.close();
                assertThat(readAll(b)).isEqualTo(big);
            }
            assertThat(openDescriptorsOf(dir)).isEqualTo(1); // the cache's one, nothing leaked
        }
        assertThat(openDescriptorsOf(dir)).isZero();
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void aReplacedVersionIsNeverServedNorKeptOpen(Backend backend) throws Exception {
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 64 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            byte[] v1 = bytes(1, 100_000);
            byte[] v2 = bytes(2, 120_000);
            assertThat(put(c, "b/k", v1)).isTrue();
            try (CacheEntry e = c.get("b/k").orElseThrow()) {
                assertThat(readAll(e)).isEqualTo(v1);
            }
            CacheEntry held = c.get("b/k").orElseThrow(); // a reader of v1 across the replacement
            assertThat(put(c, "b/k", v2)).isTrue();
            try (CacheEntry e = c.lookupAsync("b/k").get().orElseThrow()) {
                assertThat(readAll(e)).isEqualTo(v2);
            }
            assertThat(readAll(held)).isEqualTo(v1); // still readable: its descriptor is its own
            assertThat(deletedDescriptorsOf(dir)).isEqualTo(1);
            held.close();
            // v1's file is unlinked and nothing holds it any more.
            assertThat(deletedDescriptorsOf(dir)).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void removedAndEvictedVersionsReleaseTheirDescriptors(Backend backend) throws Exception {
        // 1 MiB disk tier: the fourth 300 KB object evicts the first.
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 1 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            for (int i = 0; i < 3; i++) {
                assertThat(put(c, "b/" + i, bytes(i, 300_000))).isTrue();
                try (CacheEntry e = c.get("b/" + i).orElseThrow()) {
                    assertThat(readAll(e)).isEqualTo(bytes(i, 300_000));
                }
            }
            assertThat(openDescriptorsOf(dir)).isEqualTo(3);
            assertThat(c.delete("b/1")).isTrue();
            assertThat(c.get("b/1")).isEmpty();
            assertThat(put(c, "b/3", bytes(3, 300_000))).isTrue();
            assertThat(put(c, "b/4", bytes(4, 300_000))).isTrue();
            assertThat(c.stats().evictions()).isPositive();
            assertThat(deletedDescriptorsOf(dir)).isZero();
            long cached = Stream.of("b/0", "b/2", "b/3", "b/4").filter(k -> c.get(k).map(e -> {
                e.close();
                return true;
            }).orElse(false)).count();
            assertThat(openDescriptorsOf(dir)).isEqualTo(cached);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void aMetadataUpdateIsSeenByTheNextLookup(Backend backend) throws Exception {
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 64 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            awaitRecovery(c);
            byte[] data = bytes(3, 50_000);
            EntryMetadata md = new EntryMetadata(data.length, "text/plain", "\"e1\"", Instant.ofEpochSecond(1_700_000_000),
                    Instant.now().plusSeconds(60), Map.of());
            assertThat(put(c, "b/k", data, md, 1000)).isTrue();
            try (CacheEntry e = c.lookupAsync("b/k").get().orElseThrow()) {
                assertThat(e.metadata()).isEqualTo(md);
            }
            EntryMetadata later = new EntryMetadata(data.length, "text/plain", "\"e1\"", Instant.ofEpochSecond(1_700_000_000),
                    Instant.now().plusSeconds(7200), Map.of("cache-control", "max-age=7200"));
            assertThat(c.updateMetadata("b/k", "\"e1\"", later)).isTrue();
            Optional<CacheEntry> again = c.lookupAsync("b/k").get();
            try (CacheEntry e = again.orElseThrow()) {
                assertThat(e.metadata()).isEqualTo(later);
                assertThat(readAll(e)).isEqualTo(data);
            }
        }
    }
}
