package dev.kura.io.internal.uring;

import dev.kura.io.conformance.IoUringHere;
import dev.kura.io.Backend;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoBatch;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import dev.kura.io.conformance.ChildJvm;
import dev.kura.io.internal.Futures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The memory-safety and resource promises of the io_uring backend: back-pressure instead of
 * failure on a full queue, cancellation on close that waits for the kernel, buffers released only
 * after their CQE, no CPU burnt by idle rings.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UringSafetyTest {
    @TempDir
    Path dir;

    @org.junit.jupiter.api.BeforeAll
    static void ioUringWorksHere() {
        IoUringHere.require();
    }

    static IoConfig uring() {
        return IoConfig.defaults().withBackend(Backend.IO_URING).withRings(2).withQueueDepth(64);
    }

    private Path fifo(String name) throws Exception {
        Path p = dir.resolve(name);
        Process mk = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assertThat(mk.waitFor()).isZero();
        return p;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void fullQueueMakesSubmittersWaitNotFail(int depth) throws Throwable {
        Path p = dir.resolve("bp");
        byte[] content = new byte[64 * 1024];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 31);
        }
        Files.write(p, content);
        try (UringFileIo io = (UringFileIo) FileIo.create(uring().withQueueDepth(depth));
             IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE);
             ExecutorService vts = Executors.newVirtualThreadPerTaskExecutor();
             ExecutorService pts = Executors.newFixedThreadPool(8)) {
            AtomicInteger ok = new AtomicInteger();
            List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < 48; t++) {
                ExecutorService ex = t % 2 == 0 ? vts : pts;
                int seed = t;
                jobs.add(ex.submit(() -> {
                    // Each thread keeps several async ops outstanding, far over the queue depth.
                    for (int round = 0; round < 20; round++) {
                        List<CompletableFuture<Integer>> fs = new ArrayList<>();
                        List<byte[]> bufs = new ArrayList<>();
                        for (int k = 0; k < 8; k++) {
                            byte[] b = new byte[512];
                            bufs.add(b);
                            fs.add(f.readAsync(MemorySegment.ofArray(b), ((seed + round + k) % 128) * 512L));
                        }
                        for (int k = 0; k < fs.size(); k++) {
                            assertThat(fs.get(k).get(60, TimeUnit.SECONDS)).isEqualTo(512);
                            int at = ((seed + round + k) % 128) * 512;
                            assertThat(bufs.get(k)[7]).isEqualTo(content[at + 7]);
                            ok.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            // A batch bigger than the queue goes in chunks and still completes.
            IoBatch b = io.batch();
            List<CompletableFuture<Integer>> bf = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                bf.add(b.read(f, MemorySegment.ofArray(new byte[100]), i * 100L));
            }
            b.submit();
            for (Future<?> j : jobs) {
                j.get(90, TimeUnit.SECONDS);
            }
            for (CompletableFuture<Integer> x : bf) {
                assertThat(x.get(60, TimeUnit.SECONDS)).isEqualTo(100);
            }
            assertThat(ok.get()).isEqualTo(48 * 20 * 8);
            for (Ring r : io.rings()) {
                Ring.Stats s = r.stats();
                assertThat(s.mostInFlight()).as("ring %s", s).isBetween(1, depth);
                assertThat(s.permitsFree()).as("every permit is back").isEqualTo(depth);
            }
            assertThat(io.buffersLent()).isZero();
        }
    }

    @Test
    void queueDepthIsValidated() throws Exception {
        assertThatThrownBy(() -> uring().withQueueDepth(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("io.queue-depth");
        assertThatThrownBy(() -> uring().withQueueDepth(4097)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("io.queue-depth");
        try (FileIo io = FileIo.create(uring().withRings(1).withQueueDepth(4096))) {
            assertThat(io.info().queueDepth()).isEqualTo(4096);
        }
    }

    /**
     * A read of an empty FIFO waits in the kernel forever. Closing the backend must, after its
     * grace period, cancel it and wait for the cancellation's CQE: the future fails with ECANCELED, the bounce buffer the
     * kernel could have written into comes back only then, and the kernel really did let go of it,
     * as the bytes written to the FIFO afterwards are still there for the next reader.
     */
    @Test
    void closingTheBackendCancelsAReadThatWouldWaitForeverAndWaitsForIt() throws Exception {
        Path p = fifo("fifo");
        UringFileIo io = (UringFileIo) FileIo.create(uring());
        IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE); // O_RDWR on a FIFO does not block
        List<CompletableFuture<Integer>> reads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            reads.add(f.readAsync(MemorySegment.ofArray(new byte[64]), 0));
        }
        Thread.sleep(100);
        assertThat(reads).allMatch(r -> !r.isDone());
        assertThat(io.buffersLent()).isEqualTo(8);
        io.close();
        for (CompletableFuture<Integer> r : reads) {
            assertThat(r).isDone();
            assertThatThrownBy(() -> Futures.await(r)).isInstanceOfSatisfying(IoException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.ECANCELED));
        }
        assertThat(io.buffersLent()).isZero();
        assertThat(io.nativeBytes()).isZero();
        assertThatThrownBy(() -> f.read(MemorySegment.ofArray(new byte[1]), 0))
                .isInstanceOfSatisfying(IoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        assertThatThrownBy(() -> io.open(p, OpenFlag.READ)).isInstanceOfSatisfying(IoException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        // Nothing the kernel still held could have eaten these bytes.
        // O_RDWR again, so that neither end's open waits for the other.
        try (RandomAccessFile rw = new RandomAccessFile(p.toFile(), "rw")) {
            rw.write("still here".getBytes());
            byte[] back = new byte[10];
            rw.readFully(back);
            assertThat(new String(back)).isEqualTo("still here");
        }
    }

    /**
     * Under load from many threads, with heap buffers (bounce buffers) and native ones, the backend
     * is closed: every future completes (a result, ECANCELED or EBADF, nothing left hanging), no
     * bounce buffer is lent out any more, and every native byte is freed.
     */
    @Test
    @SuppressWarnings("MustBeClosedChecker") // each arena must outlive the backend it feeds: closed by hand after io.close()
    void closingTheBackendUnderLoadCompletesEverythingAndFreesEveryBuffer() throws Exception {
        Path p = dir.resolve("load");
        Files.write(p, new byte[1 << 20]);
        for (int attempt = 0; attempt < 5; attempt++) {
            UringFileIo io = (UringFileIo) FileIo.create(uring().withQueueDepth(16).withFixedBuffers(4, 4096));
            IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE);
            Arena arena = Arena.ofShared();
            List<CompletableFuture<Integer>> all = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                Thread th = (t % 2 == 0 ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
                    for (int i = 0; i < 400; i++) {
                        MemorySegment buf = (i & 1) == 0 ? MemorySegment.ofArray(new byte[4096]) : arena.allocate(4096, 4096);
                        long at = ((seed * 400L + i) % 256) * 4096;
                        all.add((i % 3 == 0) ? f.writeAsync(buf, at) : f.readAsync(buf, at));
                    }
                });
                threads.add(th);
            }
            Thread.sleep(attempt * 3L);
            io.close();
            for (Thread th : threads) {
                th.join();
            }
            for (CompletableFuture<Integer> c : List.copyOf(all)) {
                assertThat(c).isDone();
                if (c.isCompletedExceptionally()) {
                    assertThatThrownBy(() -> Futures.await(c)).isInstanceOfSatisfying(IoException.class,
                            e -> assertThat(e.errno()).isIn(Errno.ECANCELED, Errno.EBADF));
                } else {
                    assertThat(c.join()).isEqualTo(4096);
                }
            }
            assertThat(io.buffersLent()).isZero();
            assertThat(io.nativeBytes()).isZero();
            arena.close();
        }
    }

    /** Idle rings sleep in io_uring_enter: their threads use (next to) no CPU over a second. */
    @Test
    void idleRingThreadsUseNoCpu() throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        assertThat(mx.isThreadCpuTimeSupported()).isTrue();
        mx.setThreadCpuTimeEnabled(true);
        try (UringFileIo io = (UringFileIo) FileIo.create(uring().withRings(4));
             IoFile f = io.open(dir.resolve("idle"), OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
            // some work first, so the threads have run and then gone idle
            for (int i = 0; i < 100; i++) {
                f.write(MemorySegment.ofArray(new byte[100]), i * 100L);
            }
            Thread.sleep(200);
            long[] ids = io.ringThreadIds();
            long before = 0;
            for (long id : ids) {
                before += mx.getThreadCpuTime(id);
            }
            long wakeupsBefore = 0;
            for (Ring r : io.rings()) {
                wakeupsBefore += r.stats().wakeups() + r.stats().enters();
            }
            Thread.sleep(1000);
            long after = 0;
            for (long id : ids) {
                after += mx.getThreadCpuTime(id);
            }
            long wakeupsAfter = 0;
            for (Ring r : io.rings()) {
                wakeupsAfter += r.stats().wakeups() + r.stats().enters();
            }
            assertThat(after - before).as("CPU ns of 4 idle ring threads over 1 s").isLessThan(5_000_000L);
            assertThat(wakeupsAfter).as("no io_uring_enter and no wake-up while idle").isEqualTo(wakeupsBefore);
        }
    }

    /**
     * A million and more operations (reads and writes through bounce buffers of two sizes, fixed
     * buffers, native segments, fdatasync and fstat), in a child JVM with a fixed pre-touched heap:
     * bounce-buffer allocations stay bounded by the concurrency, not the operation count, and the
     * RSS (the heap being resident from the start) does not grow after warm-up.
     */
    @Test
    void nativeMemoryDoesNotGrowOverAMillionOperations() throws Exception {
        int total = 1_200_000;
        ChildJvm.Result r = ChildJvm.run(dir, List.of(),
                List.of("-Xms128m", "-Xmx128m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC"),
                NativeMemoryMain.class, List.of(dir.toString(), String.valueOf(total)), 110);
        assertThat(r.exitCode()).as("child output:\n%s", r.output()).isZero();
        java.util.regex.Matcher warm = java.util.regex.Pattern
                .compile("warm rss=(\\d+) allocations=(\\d+) bytes=(\\d+)").matcher(r.output());
        java.util.regex.Matcher done = java.util.regex.Pattern
                .compile("done rss=(\\d+) allocations=(\\d+) bytes=(\\d+) lent=(\\d+)").matcher(r.output());
        assertThat(warm.find() && done.find()).as("child output:\n%s", r.output()).isTrue();
        long rssGrowth = Long.parseLong(done.group(1)) - Long.parseLong(warm.group(1));
        long allocations = Long.parseLong(done.group(2));
        // 64 threads with one op each in one of two size classes, plus fstat buffers: the pool
        // never needs more than that however many operations run.
        assertThat(allocations).as("native allocations over %d ops", total + 200_000).isLessThanOrEqualTo(64 * 3);
        assertThat(Long.parseLong(done.group(3))).as("native bytes held").isLessThanOrEqualTo(64L * (4096 + 8192 + 4096));
        assertThat(Long.parseLong(done.group(4))).as("buffers still lent").isZero();
        assertThat(rssGrowth).as("RSS growth in KiB over %d ops after warm-up; child output:%n%s", total, r.output())
                .isLessThan(24 * 1024);
    }

    /** The long version: ten million operations after warm-up, same limits. Run with -Pslow. */
    @Test
    @org.junit.jupiter.api.Tag("slow")
    @Timeout(value = 900, unit = TimeUnit.SECONDS)
    void nativeMemoryDoesNotGrowOverTenMillionOperations() throws Exception {
        int total = 10_000_000;
        ChildJvm.Result r = ChildJvm.run(dir, List.of(),
                List.of("-Xms128m", "-Xmx128m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC"),
                NativeMemoryMain.class, List.of(dir.toString(), String.valueOf(total)), 850);
        assertThat(r.exitCode()).as("child output:\n%s", r.output()).isZero();
        java.util.regex.Matcher warm = java.util.regex.Pattern.compile("warm rss=(\\d+)").matcher(r.output());
        java.util.regex.Matcher done = java.util.regex.Pattern
                .compile("done rss=(\\d+) allocations=(\\d+) bytes=(\\d+) lent=(\\d+)").matcher(r.output());
        assertThat(warm.find() && done.find()).as("child output:\n%s", r.output()).isTrue();
        assertThat(Long.parseLong(done.group(2))).isLessThanOrEqualTo(64 * 3);
        assertThat(Long.parseLong(done.group(4))).isZero();
        assertThat(Long.parseLong(done.group(1)) - Long.parseLong(warm.group(1)))
                .as("RSS growth in KiB; child output:%n%s", r.output()).isLessThan(24 * 1024);
    }

    /** A completion callback may submit more work to the ring it runs on without waiting for a permit. */
    @Test
    void callbacksOnTheRingThreadMaySubmitMore() throws Exception {
        Path p = dir.resolve("chain");
        Files.write(p, new byte[4096 * 64]);
        try (FileIo io = FileIo.create(uring().withQueueDepth(1));
             IoFile f = io.open(p, OpenFlag.READ)) {
            CompletableFuture<Integer> chain = CompletableFuture.completedFuture(0);
            for (int i = 0; i < 200; i++) {
                long at = (i % 64) * 4096L;
                chain = chain.thenCompose(n -> f.readAsync(MemorySegment.ofArray(new byte[4096]), at));
            }
            assertThat(chain.get(60, TimeUnit.SECONDS)).isEqualTo(4096);
            MemorySegment big = MemorySegment.ofArray(new byte[4096 * 64]);
            assertThat(f.readFullyAsync(big, 0).get(60, TimeUnit.SECONDS)).isEqualTo(4096L * 64);
            assertThat(big.get(ValueLayout.JAVA_BYTE, 5)).isZero();
        }
    }

    /**
     * A blocking call from a completion callback would wait for itself: it is refused, clearly,
     * and so are closing the file with an operation in flight and closing the backend there.
     */
    @Test
    void blockingCallsOnARingThreadAreRefusedNotDeadlocked() throws Exception {
        // A FIFO read completes only when we write, so the callback surely runs on the ring thread.
        Path p = fifo("refuse");
        try (FileIo io = FileIo.create(uring());
             IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE);
             RandomAccessFile writer = new RandomAccessFile(p.toFile(), "rw")) {
            List<Throwable> seen = java.util.Collections.synchronizedList(new ArrayList<>());
            List<String> threads = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.atomic.AtomicReference<CompletableFuture<Integer>> second =
                    new java.util.concurrent.atomic.AtomicReference<>();
            byte[] secondBuf = new byte[3];
            CompletableFuture<Void> done = f.readAsync(MemorySegment.ofArray(new byte[10]), 0).thenAccept(n -> {
                threads.add(Thread.currentThread().getName());
                for (org.junit.jupiter.api.function.Executable call : List.<org.junit.jupiter.api.function.Executable>of(
                        () -> f.read(MemorySegment.ofArray(new byte[1]), 0),
                        () -> f.write(MemorySegment.ofArray(new byte[1]), 0),
                        f::fsync, f::fdatasync, f::size, () -> io.open(p, OpenFlag.READ, OpenFlag.WRITE))) {
                    try {
                        call.execute();
                    } catch (Throwable t) {
                        seen.add(t);
                    }
                }
                second.set(f.readAsync(MemorySegment.ofArray(secondBuf), 0)); // stays in flight
                for (org.junit.jupiter.api.function.Executable call : List.<org.junit.jupiter.api.function.Executable>of(
                        f::close, io::close)) {
                    try {
                        call.execute();
                    } catch (Throwable t) {
                        seen.add(t);
                    }
                }
            });
            Thread.sleep(50);
            writer.write("0123456789".getBytes());
            done.get(30, TimeUnit.SECONDS);
            assertThat(threads).singleElement().asString().startsWith("kura-uring-");
            assertThat(seen).hasSize(8).allSatisfy(t -> assertThat(t).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("would deadlock"));
            // and the ring still works
            writer.write("abc".getBytes());
            assertThat(second.get().get(30, TimeUnit.SECONDS)).isEqualTo(3);
            assertThat(new String(secondBuf)).isEqualTo("abc");
            writer.write("xyz".getBytes());
            byte[] back = new byte[3];
            assertThat(f.read(MemorySegment.ofArray(back), 0)).isEqualTo(3);
            assertThat(new String(back)).isEqualTo("xyz");
        }
    }
}
