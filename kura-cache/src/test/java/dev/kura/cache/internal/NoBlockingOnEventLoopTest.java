package dev.kura.cache.internal;

import dev.kura.cache.BlockingCheck;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.Tier;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.Fill;
import dev.kura.cache.PendingEntry;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 8 §3: the asynchronous API never runs a blocking file operation on the caller's thread.
 * A single thread stands in for a Netty event loop; {@link BlockingCheck} fails any blocking file
 * operation on it. The sync {@code lookup} on that thread is the control: it must be caught.
 */
class NoBlockingOnEventLoopTest {
    private static final String LOOP = "test-event-loop";

    @TempDir
    Path dir;

    @AfterEach
    void allow() {
        BlockingCheck.allowAll();
    }

    private TieredCache open(FileIo io) throws Exception {
        CacheConfig cfg = new CacheConfig(dir, 64L << 20, 0, 16L << 20, 1 << 20, 64 * 1024, CacheConfig.Durability.NONE);
        return TieredCache.open(cfg, io, NioFs.INSTANCE, EvictionKind.SIEVE, 4096);
    }

    /** Reads a whole entry with readAsync, every continuation hopping back onto the loop. */
    private static CompletableFuture<byte[]> readAllOnLoop(CacheEntry e, ExecutorService loop) {
        byte[] out = new byte[(int) e.metadata().size()];
        ByteBuffer b = ByteBuffer.wrap(out);
        CompletableFuture<byte[]> done = new CompletableFuture<>();
        step(e, b, loop, done, out);
        return done;
    }

    private static void step(CacheEntry e, ByteBuffer b, ExecutorService loop, CompletableFuture<byte[]> done, byte[] out) {
        if (!b.hasRemaining()) {
            done.complete(out);
            return;
        }
        e.readAsync(b.position(), b).whenCompleteAsync((n, ex) -> {
            if (ex != null || n <= 0) {
                done.completeExceptionally(ex != null ? ex : new AssertionError("short entry"));
            } else {
                step(e, b, loop, done, out);
            }
        }, loop);
    }

    private static CompletableFuture<byte[]> followOnLoop(PendingEntry r, ExecutorService loop) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<byte[]> done = new CompletableFuture<>();
        follow(r, 0, out, loop, done);
        return done;
    }

    private static void follow(PendingEntry r, long pos, ByteArrayOutputStream out, ExecutorService loop,
                               CompletableFuture<byte[]> done) {
        ByteBuffer b = ByteBuffer.allocate(20_000);
        r.readAsync(pos, b).whenCompleteAsync((n, ex) -> {
            if (ex != null) {
                done.completeExceptionally(ex);
            } else if (n < 0) {
                done.complete(out.toByteArray());
            } else {
                out.write(b.array(), 0, n);
                follow(r, pos + n, out, loop, done);
            }
        }, loop);
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void hitsAndFollowersNeverBlockTheLoop(Backend backend) throws Exception {
        byte[] small = bytes(31, 10_000);
        byte[] large = bytes(32, 300_000);
        byte[] filled = bytes(33, 200_000);
        ExecutorService loop = Executors.newSingleThreadExecutor(r -> new Thread(r, LOOP));
        try (FileIo io = io(backend)) {
            try (TieredCache c = open(io)) {
                put(c, "small", small);
                put(c, "large", large);
                put(c, "unopened", large); // for the control below: not in the open-file cache
            }
            try (TieredCache c = open(io)) {
                awaitRecovery(c);
                BlockingCheck.forbidOn(t -> t.getName().equals(LOOP));

                // disk hits, looked up, read and closed on the loop
                for (String k : new String[] {"small", "large"}) {
                    byte[] want = k.equals("small") ? small : large;
                    CompletableFuture<byte[]> got = CompletableFuture.supplyAsync(() -> c.lookupAsync(k), loop)
                            .thenCompose(f -> f)
                            .thenComposeAsync(o -> {
                                CacheEntry e = o.orElseThrow();
                                assertThat(e.tier()).isEqualTo(Tier.DISK);
                                return readAllOnLoop(e, loop).whenCompleteAsync((b, ex) -> e.close(), loop);
                            }, loop);
                    assertThat(got.get(30, TimeUnit.SECONDS)).isEqualTo(want);
                }
                assertThat(CompletableFuture.supplyAsync(() -> c.lookupAsync("absent"), loop).thenCompose(f -> f)
                        .get(30, TimeUnit.SECONDS)).isEmpty();

                // the small one is promoted after it was served, off the loop
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (c.stats().memoryEntries() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                Optional<CacheEntry> promoted = CompletableFuture.supplyAsync(() -> c.lookupAsync("small"), loop)
                        .thenCompose(f -> f).get(30, TimeUnit.SECONDS);
                try (CacheEntry e = promoted.orElseThrow()) {
                    assertThat(e.tier()).isEqualTo(Tier.MEMORY);
                    assertThat(readAll(e)).isEqualTo(small);
                }

                // a follower streams a fill from the loop; the leader writes on its own thread
                Fill.Leader l = (Fill.Leader) c.fill("filled");
                Fill.Follower f = (Fill.Follower) c.fill("filled");
                CompletableFuture<byte[]> followed = CompletableFuture.supplyAsync(f::pending, loop)
                        .thenCompose(p -> p)
                        .thenComposeAsync(r -> followOnLoop(r, loop).whenCompleteAsync((b, ex) -> r.close(), loop), loop);
                CompletableFuture<Optional<CacheEntry>> result = CompletableFuture.supplyAsync(f::result, loop).thenCompose(x -> x);
                CacheWriter w = l.begin(md(filled.length));
                for (int i = 0; i < filled.length; i += 10_000) {
                    w.write(ByteBuffer.wrap(filled, i, 10_000));
                }
                w.commit().close();
                assertThat(followed.get(30, TimeUnit.SECONDS)).isEqualTo(filled);
                try (CacheEntry e = result.get(30, TimeUnit.SECONDS).orElseThrow()) {
                    assertThat(readAll(e)).isEqualTo(filled);
                }
                assertThat(BlockingCheck.violations()).isEmpty();

                // the control: the blocking lookup is caught on the loop (of an entry never opened:
                // one opened above stays open in OpenFiles and is found without an open(2))
                assertThatThrownBy(() -> CompletableFuture.supplyAsync(() -> c.lookup("unopened"), loop).get(30, TimeUnit.SECONDS))
                        .isInstanceOf(ExecutionException.class)
                        .hasCauseInstanceOf(BlockingCheck.BlockingOperationError.class);
                assertThat(BlockingCheck.violations()).hasSize(1).first().asString().contains("open").contains(LOOP);
            }
        } finally {
            BlockingCheck.allowAll();
            loop.shutdownNow();
        }
    }
}
