package dev.kura.cache.internal;

import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.Tier;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Promotion of disk hits after serving is bounded: at most {@link TieredCache#PROMOTIONS_IN_FLIGHT}
 * read at once, the hits closed past that are not promoted and are counted in
 * {@code promotionsSkipped}. The promotions' reads are held at a gate in the fault seam (the
 * blocking {@code read} on a virtual thread), so the count is exact, not a race.
 */
class PromotionBoundTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void atMostFourPromotionsReadAtOnceAndTheRestAreCounted(Backend backend) throws Exception {
        int hits = TieredCache.PROMOTIONS_IN_FLIGHT + 3;
        // 4 KiB blocks, entries of 20,000 bytes (5 blocks), memory tier 1 MiB taking items up to 64 KiB
        CacheConfig cfg = new CacheConfig(dir, 64L << 20, 0, 16L << 20, 1 << 20, 64 * 1024, CacheConfig.Durability.NONE);
        List<byte[]> data = new ArrayList<>();
        for (int i = 0; i < hits; i++) {
            data.add(bytes(100 + i, 20_000));
        }
        try (FileIo base = io(backend)) {
            FaultyFileIo io = new FaultyFileIo(base);
            try (TieredCache c = TieredCache.open(cfg, io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
                for (int i = 0; i < hits; i++) {
                    put(c, "k" + i, data.get(i));
                }
            }
            try (TieredCache c = TieredCache.open(cfg, io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
                awaitRecovery(c); // reopened: every entry is on disk only
                List<CacheEntry> open = new ArrayList<>();
                for (int i = 0; i < hits; i++) {
                    CacheEntry e = c.lookupAsync("k" + i).get(30, TimeUnit.SECONDS).orElseThrow();
                    assertThat(e.tier()).isEqualTo(Tier.DISK);
                    open.add(e);
                }

                CountDownLatch gate = new CountDownLatch(1);
                CountDownLatch reading = new CountDownLatch(TieredCache.PROMOTIONS_IN_FLIGHT);
                io.rule = (op, p) -> {
                    if (op.equals("read") && Thread.currentThread().isVirtual() && gate.getCount() > 0) {
                        reading.countDown();
                        try {
                            gate.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException ex) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    return null;
                };
                for (CacheEntry e : open) {
                    e.close(); // served: each close asks for a promotion
                }
                assertThat(reading.await(30, TimeUnit.SECONDS)).as("four promotions reading").isTrue();
                // the four hold their permits at the gate, so every later close was skipped
                assertThat(c.stats().promotionsSkipped()).isEqualTo(hits - TieredCache.PROMOTIONS_IN_FLIGHT);
                assertThat(c.stats().memoryEntries()).isZero();

                gate.countDown();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (c.stats().memoryEntries() < TieredCache.PROMOTIONS_IN_FLIGHT && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertThat(c.stats().memoryEntries()).isEqualTo(TieredCache.PROMOTIONS_IN_FLIGHT);
                int inMemory = 0;
                for (int i = 0; i < hits; i++) {
                    try (CacheEntry e = c.lookupAsync("k" + i).get(30, TimeUnit.SECONDS).orElseThrow()) {
                        assertThat(readAll(e)).isEqualTo(data.get(i));
                        if (e.tier() == Tier.MEMORY) {
                            inMemory++;
                        }
                    }
                }
                assertThat(inMemory).as("the promoted ones, with their own bytes").isEqualTo(TieredCache.PROMOTIONS_IN_FLIGHT);
            }
        }
    }
}
