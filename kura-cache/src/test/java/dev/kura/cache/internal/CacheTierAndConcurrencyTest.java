package dev.kura.cache.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.Tier;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

class CacheTierAndConcurrencyTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void memoryTierServesSmallEntriesAndDiskHitsPromote(Backend backend) throws Exception {
        try (FileIo io = io(backend)) {
            CacheConfig cfg = config(dir, 16 << 20, 1 << 20); // memory items up to 64 KiB
            try (Cache c = Cache.open(cfg, io)) {
                put(c, "small", bytes(1, 10_000));
                put(c, "big", bytes(2, 200_000));
                try (CacheEntry e = c.get("small").orElseThrow()) {
                    assertThat(e.tier()).isEqualTo(Tier.MEMORY);
                }
                try (CacheEntry e = c.get("big").orElseThrow()) {
                    assertThat(e.tier()).isEqualTo(Tier.DISK);
                    assertThat(readAll(e)).isEqualTo(bytes(2, 200_000));
                }
                assertThat(c.stats().memoryHits()).isEqualTo(1);
                assertThat(c.stats().diskHits()).isEqualTo(1);
                assertThat(c.stats().memoryEntries()).isEqualTo(1);
                assertThat(c.stats().memoryBytes()).isGreaterThanOrEqualTo(10_000);
            }
            try (Cache c = Cache.open(cfg, io)) {
                awaitRecovery(c);
                try (CacheEntry e = c.get("small").orElseThrow()) {
                    assertThat(e.tier()).as("first hit after restart comes from disk").isEqualTo(Tier.DISK);
                    assertThat(readAll(e)).isEqualTo(bytes(1, 10_000));
                }
                try (CacheEntry e = c.get("small").orElseThrow()) {
                    assertThat(e.tier()).as("promoted").isEqualTo(Tier.MEMORY);
                    assertThat(readAll(e)).isEqualTo(bytes(1, 10_000));
                }
                // overwrite and delete reach both tiers
                put(c, "small", bytes(3, 5000));
                assertThat(getBytes(c, "small")).contains(bytes(3, 5000));
                c.delete("small");
                assertThat(c.get("small")).isEmpty();
                assertThat(c.purgePrefix("b")).isEqualTo(1);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void diskRefusingTooBigStillLetsMemoryTakeIt(Backend backend) throws Exception {
        try (FileIo io = io(backend);
             Cache c = Cache.open(new CacheConfig(dir, 1 << 20, 0, 1000, 1 << 20, 64 * 1024, null), io)) {
            assertThat(put(c, "k", bytes(1, 5000))).isTrue();
            try (CacheEntry e = c.get("k").orElseThrow()) {
                assertThat(e.tier()).isEqualTo(Tier.MEMORY);
                assertThat(readAll(e)).isEqualTo(bytes(1, 5000));
            }
            assertThat(c.stats().diskEntries()).isZero();
            Fill.Leader l = (Fill.Leader) c.fill("huge");
            assertThat(l.begin(md(100_000))).as("neither tier takes it").isNull();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void concurrentMissesMakeOneFill(Backend backend) throws Exception {
        try (FileIo io = io(backend); Cache c = Cache.open(config(dir, 16 << 20, 0), io)) {
            int n = 200;
            CountDownLatch all = new CountDownLatch(n);
            AtomicInteger leaders = new AtomicInteger();
            byte[] data = bytes(7, 150_000);
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<byte[]> seen = new ConcurrentLinkedQueue<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < n; i++) {
                    ex.submit(() -> {
                        try {
                            Fill f = c.fill("obj");
                            all.countDown();
                            if (f instanceof Fill.Leader l) {
                                leaders.incrementAndGet();
                                all.await(10, TimeUnit.SECONDS); // everyone else has asked meanwhile
                                try (CacheWriter w = l.begin(md(data.length))) {
                                    w.write(ByteBuffer.wrap(data));
                                    try (CacheEntry e = w.commit()) {
                                        seen.add(readAll(e));
                                    }
                                }
                            } else {
                                Optional<CacheEntry> r = ((Fill.Follower) f).result().get(10, TimeUnit.SECONDS);
                                try (CacheEntry e = r.orElseThrow()) {
                                    seen.add(readAll(e));
                                }
                            }
                        } catch (Throwable t) {
                            errors.add(t);
                        }
                        return null;
                    });
                }
            }
            assertThat(errors).isEmpty();
            assertThat(leaders.get()).isEqualTo(1);
            assertThat(seen).hasSize(n).allSatisfy(b -> assertThat(b).isEqualTo(data));
            assertThat(c.stats().fillsInFlight()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void followersGetEmptyWhenTheLeaderCancels(Backend backend) throws Exception {
        try (FileIo io = io(backend); Cache c = Cache.open(config(dir, 1 << 20, 0), io)) {
            Fill.Leader l = (Fill.Leader) c.fill("k");
            Fill.Follower f = (Fill.Follower) c.fill("k");
            l.cancel();
            assertThat(f.result().get(5, TimeUnit.SECONDS)).isEmpty();
            assertThat(c.fill("k")).isInstanceOf(Fill.Leader.class);
        }
    }

    /** Every version of key k, seed s, is bytes(s, 1000 + s % 50_000); readers must see one whole version. */
    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void readersOfAReplacedEntrySeeOldOrNewNeverAMix(Backend backend) throws Exception {
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(config(dir, 64 << 20, 0), io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> bad = new ConcurrentLinkedQueue<>();
            AtomicInteger reads = new AtomicInteger();
            // The writer is a platform thread: eight virtual readers whose hits need no open(2)
            // (OpenFiles) rarely park, and would keep a virtual writer off the two carriers for minutes.
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
                 ExecutorService writer = Executors.newSingleThreadExecutor()) {
                writer.submit(() -> {
                    try {
                        for (int s = 1; s < 300; s++) {
                            int size = 1000 + (s * 7919) % 50_000;
                            EntryMetadata md = new EntryMetadata(size, null, "\"" + s + "\"", null, null, Map.of());
                            put(c, "k", bytes(s, size), md, 3000);
                        }
                    } finally {
                        stop.set(true);
                    }
                    return null;
                });
                for (int r = 0; r < 8; r++) {
                    ex.submit(() -> {
                        while (!stop.get()) {
                            Optional<CacheEntry> o = c.get("k");
                            if (o.isEmpty()) {
                                Thread.sleep(1); // a spinning reader would starve the writer of a carrier
                                continue;
                            }
                            try (CacheEntry e = o.get()) {
                                int s = Integer.parseInt(e.metadata().etag().replace("\"", ""));
                                byte[] got = readAll(e);
                                if (!java.util.Arrays.equals(got, bytes(s, 1000 + (s * 7919) % 50_000))) {
                                    bad.add("version " + s);
                                }
                                reads.incrementAndGet();
                            }
                        }
                        return null;
                    });
                }
            }
            assertThat(bad).isEmpty();
            assertThat(reads.get()).isPositive();
            assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void thousandsOfConcurrentOperationsFromPlatformAndVirtualThreads(Backend backend) throws Exception {
        try (FileIo io = io(backend);
             TieredCache c = TieredCache.open(new CacheConfig(dir, 2 << 20, 0, 256 << 10, 256 << 10, 8 << 10, null),
                     io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
            int keys = 300;
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 1200; t++) {
                int id = t;
                Runnable task = () -> {
                    Random rnd = new Random(id);
                    try {
                        start.await();
                        for (int i = 0; i < 10; i++) {
                            String k = "b/" + rnd.nextInt(keys);
                            int op = rnd.nextInt(100);
                            if (op < 60) {
                                Optional<CacheEntry> e = c.get(k);
                                if (e.isPresent()) {
                                    try (CacheEntry h = e.get()) {
                                        byte[] b = readAll(h);
                                        int s = Integer.parseInt(h.metadata().etag().replace("\"", ""));
                                        if (!java.util.Arrays.equals(b, bytes(s, b.length))) {
                                            throw new AssertionError("mixed or wrong bytes for " + k);
                                        }
                                    }
                                }
                            } else if (op < 95) {
                                int s = rnd.nextInt(1_000_000);
                                int size = rnd.nextInt(40_000);
                                Fill f = c.fill(k);
                                if (f instanceof Fill.Leader l) {
                                    CacheWriter w = l.begin(new EntryMetadata(size, null, "\"" + s + "\"", null, null, null));
                                    if (w != null) {
                                        try (w) {
                                            w.write(ByteBuffer.wrap(bytes(s, size)));
                                            w.commit().close();
                                        }
                                    }
                                } else {
                                    ((Fill.Follower) f).result().get(30, TimeUnit.SECONDS).ifPresent(CacheEntry::close);
                                }
                            } else {
                                c.delete(k);
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                };
                threads.add(id % 50 == 0 ? Thread.ofPlatform().start(task) : Thread.ofVirtual().start(task));
            }
            start.countDown();
            for (Thread t : threads) {
                t.join(120_000);
            }
            assertThat(errors).isEmpty();
            awaitRecovery(c);
            assertThat(c.stats().diskBytes()).isLessThanOrEqualTo(2 << 20).isEqualTo(bytesOnDisk(dir));
            assertThat(c.stats().diskEntries()).isEqualTo(filesOnDisk(dir));
            assertThat(c.stats().errors()).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void accountingMatchesTheDiskAfterThousandsOfRandomOperations(Backend backend) throws Exception {
        CacheConfig cfg = new CacheConfig(dir, 1 << 20, 150, 200 << 10, 0, 0, null);
        Random rnd = new Random(42);
        try (FileIo io = io(backend)) {
            for (int round = 0; round < 2; round++) {
                try (TieredCache c = TieredCache.open(cfg, io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096)) {
                    awaitRecovery(c);
                    assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
                    for (int i = 0; i < 3000; i++) {
                        String k = (rnd.nextBoolean() ? "a/" : "b/") + rnd.nextInt(400);
                        int op = rnd.nextInt(100);
                        if (op < 55) {
                            put(c, k, bytes(i, rnd.nextInt(rnd.nextInt(10) == 0 ? 150_000 : 8000)));
                        } else if (op < 85) {
                            getBytes(c, k);
                        } else if (op < 98) {
                            c.delete(k);
                        } else {
                            c.purgePrefix(rnd.nextBoolean() ? "a/1" : "b/2");
                        }
                    }
                    assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir)).isLessThanOrEqualTo(1 << 20);
                    assertThat(c.stats().diskEntries()).isEqualTo(filesOnDisk(dir)).isLessThanOrEqualTo(150);
                    assertThat(c.stats().evictions()).isPositive();
                }
            }
        }
    }
}
