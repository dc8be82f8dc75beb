package dev.kura.io.internal.uring;

import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Child-JVM main for {@link UringSafetyTest#nativeMemoryDoesNotGrowOverAMillionOperations}: drives
 * an io_uring backend through a warm-up and then the measured run, and prints the process RSS and
 * the bounce-buffer pool's counters after each. Run with a fixed, pre-touched heap
 * ({@code -Xms=-Xmx}, {@code -XX:+AlwaysPreTouch}) so that the Java heap is resident from the
 * start and RSS growth is native memory.
 *
 * <p>Arguments: a scratch directory, the number of measured operations.
 */
public final class NativeMemoryMain {
    private NativeMemoryMain() {
    }

    public static void main(String[] args) throws Exception {
        Path p = Path.of(args[0]).resolve("mem");
        int total = Integer.parseInt(args[1]);
        Files.write(p, new byte[1 << 20]);
        try (UringFileIo io = (UringFileIo) FileIo.create(IoConfig.defaults().withBackend(Backend.IO_URING)
                .withRings(2).withQueueDepth(128).withFixedBuffers(8, 4096));
             IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE);
             Arena arena = Arena.ofShared()) {
            MemorySegment nat = arena.allocate(8192, 4096);
            run(f, nat, 200_000);
            System.gc();
            System.out.println("warm rss=" + rssKiB() + " allocations=" + io.nativeAllocations() + " bytes=" + io.nativeBytes());
            run(f, nat, total);
            System.gc();
            System.out.println("done rss=" + rssKiB() + " allocations=" + io.nativeAllocations() + " bytes=" + io.nativeBytes()
                    + " lent=" + io.buffersLent());
        }
    }

    private static void run(IoFile f, MemorySegment nat, int ops) throws Exception {
        int threads = 64;
        try (ExecutorService vts = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> jobs = new ArrayList<>();
            int per = ops / threads;
            for (int t = 0; t < threads; t++) {
                int seed = t;
                jobs.add(vts.submit(() -> {
                    byte[] small = new byte[512];
                    byte[] large = new byte[6000];
                    for (int i = 0; i < per; i++) {
                        long at = ((seed * 7919L + i) % 200) * 4096;
                        switch (i % 8) {
                            case 0, 1, 2 -> f.read(MemorySegment.ofArray(small), at);
                            case 3 -> f.read(MemorySegment.ofArray(large), at);
                            case 4 -> f.write(MemorySegment.ofArray(small), at);
                            case 5 -> f.read(nat.asSlice((seed & 1) * 4096L, 4096), at);
                            case 6 -> f.readAsync(MemorySegment.ofArray(small), at).get();
                            default -> {
                                if (i % 1000 == 7) {
                                    f.fdatasync();
                                } else if (i % 1000 == 15) {
                                    if (f.size() != 1 << 20) {
                                        throw new AssertionError("size " + f.size());
                                    }
                                } else {
                                    f.read(MemorySegment.ofArray(small), at);
                                }
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> j : jobs) {
                j.get(120, TimeUnit.SECONDS);
            }
        }
    }

    private static long rssKiB() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no VmRSS in /proc/self/status");
    }
}
