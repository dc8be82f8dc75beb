package dev.kura.cache.internal;

import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Fill;
import dev.kura.cache.FillFailedException;
import dev.kura.cache.PendingEntry;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Readers of a fill while it grows ({@link PendingEntry}), on both io backends. */
class PendingEntryTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private TieredCache open(FileIo io, long memory) throws Exception {
        CacheConfig cfg = new CacheConfig(dir, 256L << 20, 0, 64L << 20, memory, memory > 0 ? 64 * 1024 : 0,
                CacheConfig.Durability.NONE);
        return TieredCache.open(cfg, io, NioFs.INSTANCE, EvictionKind.SIEVE, BLOCK);
    }

    private static Fill.Follower follower(TieredCache c, String key) {
        Fill f = c.fill(key);
        assertThat(f).isInstanceOf(Fill.Follower.class);
        return (Fill.Follower) f;
    }

    private static Fill.Leader leader(TieredCache c, String key) {
        Fill f = c.fill(key);
        assertThat(f).isInstanceOf(Fill.Leader.class);
        return (Fill.Leader) f;
    }

    private static void write(CacheWriter w, byte[] data, int from, int to) throws Exception {
        w.write(ByteBuffer.wrap(data, from, to - from));
    }

    /** Reads from {@code pos} to the end (until -1), {@code chunk} bytes at a time, blocking the test thread. */
    private static byte[] readToEnd(PendingEntry r, long pos, int chunk) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long p = pos;
        while (true) {
            ByteBuffer b = ByteBuffer.allocate(chunk);
            int n = r.readAsync(p, b).get(30, TimeUnit.SECONDS);
            if (n < 0) {
                return out.toByteArray();
            }
            assertThat(n).isPositive().isEqualTo(b.position());
            out.write(b.array(), 0, n);
            p += n;
        }
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void followersJoinAtEveryStageAndReadEveryByte(Backend backend) throws Exception {
        byte[] data = bytes(11, (1 << 20) + 777); // 256 blocks and a short one, more than the writer's stage
        EntryMetadata md = md(data.length);
        try (FileIo io = io(backend); TieredCache c = open(io, 0)) {
            Fill.Leader l = leader(c, "k");
            // stage 1: before begin
            CompletableFuture<PendingEntry> beforeBegin = follower(c, "k").pending();
            assertThat(beforeBegin).isNotDone();
            CacheWriter w = l.begin(md);
            PendingEntry r1 = beforeBegin.get(5, TimeUnit.SECONDS);
            assertThat(r1.metadata()).isEqualTo(md);

            // a read of a byte not yet written waits, without blocking the caller
            ByteBuffer first = ByteBuffer.allocate(64 * 1024);
            CompletableFuture<Integer> early = r1.readAsync(0, first);
            assertThat(early).isNotDone();

            // stage 2: mid-block (block 0 whole, block 1 partly written)
            write(w, data, 0, BLOCK + 1000);
            int n = early.get(5, TimeUnit.SECONDS);
            assertThat(n).isBetween(1, BLOCK + 1000);
            assertThat(Arrays.copyOf(first.array(), n)).isEqualTo(Arrays.copyOf(data, n));
            PendingEntry midBlock = follower(c, "k").pending().get(5, TimeUnit.SECONDS);
            ByteBuffer mb = ByteBuffer.allocate(500);
            assertThat(midBlock.readAsync(BLOCK + 100, mb).get(5, TimeUnit.SECONDS)).isEqualTo(500);
            assertThat(mb.array()).isEqualTo(Arrays.copyOfRange(data, BLOCK + 100, BLOCK + 600));
            PendingEntry own = w.reader();

            // the partial block's bytes beyond the mark are waited for
            ByteBuffer beyond = ByteBuffer.allocate(10);
            CompletableFuture<Integer> wait = midBlock.readAsync(BLOCK + 1000, beyond);
            assertThat(wait).isNotDone();
            for (int off = BLOCK + 1000; off < data.length - 5000; off += 7919) {
                write(w, data, off, Math.min(off + 7919, data.length - 5000));
            }
            assertThat(wait.get(5, TimeUnit.SECONDS)).isEqualTo(10);
            assertThat(beyond.array()).isEqualTo(Arrays.copyOfRange(data, BLOCK + 1000, BLOCK + 1010));
            write(w, data, data.length - 5000, data.length);

            // stage 3: after the last write, before commit
            PendingEntry afterLastWrite = follower(c, "k").pending().get(5, TimeUnit.SECONDS);
            Fill.Follower late = follower(c, "k");
            ByteBuffer end = ByteBuffer.allocate(1);
            CompletableFuture<Integer> atEnd = afterLastWrite.readAsync(data.length, end);
            assertThat(atEnd).as("-1 only once committed").isNotDone();
            CompletableFuture<Void> committed = afterLastWrite.committed();
            assertThat(committed).isNotDone();

            w.commit().close();
            assertThat(atEnd.get(5, TimeUnit.SECONDS)).isEqualTo(-1);
            committed.get(5, TimeUnit.SECONDS);

            // stage 4: after commit (a follower of this fill that asks only now)
            PendingEntry afterCommit = late.pending().get(5, TimeUnit.SECONDS);
            assertThat(afterCommit.committed()).isDone();

            String want = sha256(data);
            for (PendingEntry r : List.of(r1, midBlock, own, afterLastWrite, afterCommit)) {
                try (r) {
                    assertThat(sha256(readToEnd(r, 0, 65_536 + 3))).isEqualTo(want);
                }
            }
            try (CacheEntry e = c.get("k").orElseThrow()) {
                assertThat(sha256(readAll(e))).isEqualTo(want);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void abortMidFillFailsReadersAndNeverGivesWrongBytes(Backend backend) throws Exception {
        byte[] data = bytes(12, 200_000);
        try (FileIo io = io(backend); TieredCache c = open(io, 0)) {
            Fill.Leader l = leader(c, "k");
            Fill.Follower f = follower(c, "k");
            Fill.Follower lateFollower = follower(c, "k");
            CacheWriter w = l.begin(md(data.length));
            PendingEntry r = f.pending().get(5, TimeUnit.SECONDS);
            write(w, data, 0, 50_000);
            byte[] got = new byte[50_000];
            ByteBuffer b = ByteBuffer.wrap(got);
            while (b.hasRemaining()) {
                r.readAsync(b.position(), b).get(5, TimeUnit.SECONDS);
            }
            assertThat(got).isEqualTo(Arrays.copyOf(data, 50_000));
            CompletableFuture<Integer> waiting = r.readAsync(60_000, ByteBuffer.allocate(100));
            assertThat(waiting).isNotDone();

            w.abort();

            assertThatThrownBy(() -> waiting.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(FillFailedException.class);
            assertThatThrownBy(() -> r.readAsync(50_000, ByteBuffer.allocate(10)).get(5, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(FillFailedException.class);
            assertThatThrownBy(() -> r.committed().get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(FillFailedException.class);
            // bytes written before the abort are still the right ones
            ByteBuffer again = ByteBuffer.allocate(1000);
            int n = r.readAsync(1000, again).get(5, TimeUnit.SECONDS);
            assertThat(Arrays.copyOf(again.array(), n)).isEqualTo(Arrays.copyOfRange(data, 1000, 1000 + n));
            r.close();
            assertThatThrownBy(() -> lateFollower.pending().get(5, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(FillFailedException.class);
            assertThat(lateFollower.result().get(5, TimeUnit.SECONDS)).isEmpty();
            assertThat(c.get("k")).isEmpty();
            assertThat(filesOnDisk(dir)).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void fillThatNeverBeginsFailsPendingFollowers(Backend backend) throws Exception {
        try (FileIo io = io(backend); TieredCache c = open(io, 0)) {
            Fill.Leader l = leader(c, "cancelled");
            CompletableFuture<PendingEntry> p = follower(c, "cancelled").pending();
            l.cancel();
            assertThatThrownBy(() -> p.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(FillFailedException.class);

            Fill.Leader big = leader(c, "refused");
            CompletableFuture<PendingEntry> q = follower(c, "refused").pending();
            assertThat(big.begin(md(65L << 20))).as("larger than max-item-size").isNull();
            assertThatThrownBy(() -> q.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(FillFailedException.class);
        }
    }

    /**
     * A proxy ends a response when its reader sees the commit; a client that asks again at that
     * moment must find the committed version, not the fill still registered (it would follow the
     * ended fill and be answered as a miss). The check runs inside the commit's own completion.
     */
    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void whenReadersSeeTheCommitTheKeyIsNoLongerFilling(Backend backend) throws Exception {
        for (long memory : new long[] {0, 16L << 20}) {
            String key = "k" + memory;
            byte[] data = bytes(14, 100_000);
            try (FileIo io = io(backend); TieredCache c = open(io, memory)) {
                CacheWriter w = leader(c, key).begin(md(data.length));
                PendingEntry r = w.reader();
                CompletableFuture<Fill> nextFill = r.committed().thenApply(x -> c.fill(key));
                write(w, data, 0, data.length);
                assertThat(nextFill).isNotDone();
                w.commit().close();
                Fill next = nextFill.get(5, TimeUnit.SECONDS);
                assertThat(next).as("memory tier %d: a new request at the commit leads", memory)
                        .isInstanceOf(Fill.Leader.class);
                ((Fill.Leader) next).cancel();
                r.close();
                try (CacheEntry e = c.get(key).orElseThrow()) {
                    assertThat(readAll(e)).isEqualTo(data);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void readerFarBehindTheWriterReadsFromTheFile(Backend backend) throws Exception {
        byte[] data = bytes(13, 4 << 20);
        try (FileIo io = io(backend); TieredCache c = open(io, 0)) {
            Fill.Leader l = leader(c, "far");
            CompletableFuture<PendingEntry> p = follower(c, "far").pending();
            CacheWriter w = l.begin(md(data.length));
            PendingEntry slow = p.get(5, TimeUnit.SECONDS);
            // the reader reads a little, then the writer runs to the end without waiting for it
            ByteBuffer b = ByteBuffer.allocate(100);
            CompletableFuture<Integer> firstRead = slow.readAsync(0, b);
            for (int off = 0; off < data.length; off += 100_000) {
                write(w, data, off, Math.min(off + 100_000, data.length));
            }
            assertThat(firstRead.get(5, TimeUnit.SECONDS)).isEqualTo(100);
            w.commit().close();
            try (slow) {
                byte[] rest = readToEnd(slow, 100, 3000);
                assertThat(sha256(concat(b.array(), rest))).isEqualTo(sha256(data));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void oneWriterAndFiftyReadersReadTheSameBytes(Backend backend) throws Exception {
        byte[] data = bytes(14, (2 << 20) + 12_345);
        String want = sha256(data);
        try (FileIo io = io(backend); TieredCache c = open(io, 0);
             ExecutorService vt = Executors.newVirtualThreadPerTaskExecutor()) {
            Fill.Leader l = leader(c, "many");
            List<Future<String>> readers = new ArrayList<>();
            Random rnd = new Random(5);
            // half join before begin, half while the writer runs
            for (int i = 0; i < 25; i++) {
                readers.add(startReader(vt, follower(c, "many").pending(), 1 + rnd.nextInt(200_000)));
            }
            CacheWriter w = l.begin(md(data.length));
            int off = 0;
            int joined = 25;
            while (off < data.length) {
                int n = Math.min(data.length - off, 1 + rnd.nextInt(40_000));
                write(w, data, off, off + n);
                off += n;
                if (joined < 50 && rnd.nextInt(4) == 0) {
                    readers.add(startReader(vt, follower(c, "many").pending(), 1 + rnd.nextInt(200_000)));
                    joined++;
                }
                if (rnd.nextInt(10) == 0) {
                    Thread.sleep(1);
                }
            }
            while (joined < 50) {
                readers.add(startReader(vt, follower(c, "many").pending(), 1 + rnd.nextInt(200_000)));
                joined++;
            }
            w.commit().close();
            assertThat(readers).hasSize(50);
            for (Future<String> r : readers) {
                assertThat(r.get(60, TimeUnit.SECONDS)).isEqualTo(want);
            }
        }
    }

    private static Future<String> startReader(ExecutorService vt, CompletableFuture<PendingEntry> p, int chunk) {
        return vt.submit(() -> {
            try (PendingEntry r = p.get(30, TimeUnit.SECONDS)) {
                return sha256(readToEnd(r, 0, chunk));
            }
        });
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void smallObjectsAreFollowedFromTheMemoryBuffer(Backend backend) throws Exception {
        byte[] data = bytes(15, 50_000); // fits the memory tier (items up to 64 KiB)
        try (FileIo io = io(backend); TieredCache c = open(io, 1 << 20)) {
            Fill.Leader l = leader(c, "small");
            CompletableFuture<PendingEntry> p = follower(c, "small").pending();
            CacheWriter w = l.begin(md(data.length));
            PendingEntry r = p.get(5, TimeUnit.SECONDS);
            CompletableFuture<Integer> waiting = r.readAsync(0, ByteBuffer.allocate(100_000));
            assertThat(waiting).isNotDone();
            write(w, data, 0, 30_000);
            assertThat(waiting.get(5, TimeUnit.SECONDS)).isEqualTo(30_000);
            write(w, data, 30_000, data.length);
            w.commit().close();
            try (r) {
                assertThat(readToEnd(r, 0, 4096)).isEqualTo(data);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void aReaderThatLeavesWhileWaitingDoesNotDisturbTheFill(Backend backend) throws Exception {
        byte[] data = bytes(16, 300_000);
        try (FileIo io = io(backend); TieredCache c = open(io, 0)) {
            Fill.Leader l = leader(c, "leave");
            Fill.Follower f = follower(c, "leave");
            CacheWriter w = l.begin(md(data.length));
            PendingEntry leaving = f.pending().get(5, TimeUnit.SECONDS);
            CompletableFuture<Integer> waiting = leaving.readAsync(0, ByteBuffer.allocate(10));
            leaving.close();
            assertThatThrownBy(() -> waiting.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
            write(w, data, 0, data.length);
            w.commit().close();
            Optional<CacheEntry> committed = f.result().get(5, TimeUnit.SECONDS);
            assertThat(committed).isPresent();
            try (CacheEntry e = committed.get()) {
                assertThat(readAll(e)).isEqualTo(data);
            }
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @SuppressWarnings("unused")
    private static Throwable cause(ExecutionException e) {
        return e.getCause();
    }
}
