package dev.kura.bench.internal.cache;

import org.jspecify.annotations.Nullable;
import dev.kura.bench.BenchReport;
import dev.kura.bench.BenchRow;
import dev.kura.bench.ClosedLoop;
import dev.kura.bench.Machine;
import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.CacheWriter;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.EvictionComparison;
import dev.kura.cache.Fill;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * {@code kura bench cache}: the tiered cache's disk tier over each kura-io backend, side by side.
 *
 * <p>Workloads: get and put of 4 KiB values, a 70% get / 30% put mix of 4 KiB values, get and put
 * of 10 MiB values; each at the given numbers of operations in flight (4 KiB rows: 1 and 1000;
 * 10 MiB rows: 1 and 16, because 1000 concurrent 10 MiB puts are 10 GB in flight). The memory
 * tier is off, so every get reads the disk tier. Each operation is a blocking cache call on a
 * virtual thread (how a server calls it), measured by {@link ClosedLoop}. Gets of 4 KiB run after
 * dropping the page cache when running as root ({@code /proc/sys/vm/drop_caches}); the row says
 * whether it did.
 *
 * <p>Also: the recovery rate (entries/s brought back at open, from the index snapshot and by
 * scanning the files), and the eviction policies' hit ratios on a Zipf trace.
 */
public final class CacheBench {

    /** What to run. */
    public record Plan(Path dir, List<Backend> backends, List<Integer> smallInflight, List<Integer> largeInflight,
                       int smallKeys, int largeKeys, long maxSize, Duration warmup, Duration measure,
                       int recoveryEntries, boolean policies) {
    }

    private static final int SMALL = 4096;
    private static final int LARGE = 10 << 20;
    private static final int CHUNK = 1 << 20;

    private final Plan plan;
    private final PrintStream log;
    private final byte[] payload;

    public CacheBench(Plan plan, PrintStream log) {
        this.plan = plan;
        this.log = log;
        this.payload = new byte[LARGE];
        new SplittableRandom(1).nextBytes(payload);
    }

    public BenchReport run() throws IOException, InterruptedException {
        BenchReport report = new BenchReport("kura bench cache", Machine.current());
        Map<String, BenchRow> nio = new java.util.HashMap<>();
        for (Backend b : plan.backends()) {
            runBackend(b, report, nio);
        }
        if (plan.recoveryEntries() > 0) {
            recovery(report);
        }
        if (plan.policies()) {
            int[] trace = EvictionComparison.zipfTrace(100_000, 0.8, 1_000_000, 42);
            for (int cap : new int[] {1_000, 10_000}) {
                Map<String, Double> r = EvictionComparison.hitRatios(trace, cap);
                StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                        "eviction, Zipf s=0.8, 100k objects, 1M requests, capacity %d: hit ratio", cap));
                r.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.3f", k, v)));
                report.addNote(sb.toString());
            }
        }
        BenchRow mix = report.find(r -> r.workload().equals("mix 70/30 4k") && r.inflight() == 1000 && r.ran());
        Double p95 = mix == null ? null : mix.p95Us();
        if (mix != null && p95 != null) {
            report.addNote(String.format(Locale.ROOT, "target p95 < 10 ms at 1000 in flight (mix 4k, %s): %.2f ms, %s",
                    mix.backend(), p95 / 1000, p95 < 10_000 ? "met" : "missed"));
        }
        return report;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    private static EntryMetadata md(long size) {
        return new EntryMetadata(size, "application/octet-stream", "\"bench\"", null, null, Map.of());
    }

    /** Inserts {@code key} with the first {@code size} bytes of the payload; blocking. */
    private void put(Cache c, String key, int size) throws IOException {
        Fill f = c.fill(key);
        if (f instanceof Fill.Follower fo) {
            fo.result().join().ifPresent(CacheEntry::close);
            return;
        }
        CacheWriter w = ((Fill.Leader) f).begin(md(size));
        if (w == null) {
            throw new IOException("cache refused " + key);
        }
        try (w) {
            for (int i = 0; i < size; i += CHUNK) {
                w.write(ByteBuffer.wrap(payload, i, Math.min(CHUNK, size - i)));
            }
            w.commit().close();
        }
    }

    /** Reads the whole entry into {@code buf} (reused, chunk by chunk); returns bytes read, 0 on a miss. */
    private static long get(Cache c, String key, ByteBuffer buf, LongAdder misses) throws IOException {
        Optional<CacheEntry> o = c.get(key);
        if (o.isEmpty()) {
            misses.increment();
            return 0;
        }
        try (CacheEntry e = o.get()) {
            long size = e.metadata().size();
            long pos = 0;
            while (pos < size) {
                buf.clear();
                int n = e.read(pos, buf);
                if (n <= 0) {
                    throw new IOException("short entry " + key);
                }
                pos += n;
            }
            return pos;
        }
    }

    private static boolean dropCaches() {
        try {
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "1");
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    private interface Op {
        long run(int slot, long seq) throws Exception;
    }

    private ClosedLoop.Result loop(int inflight, ExecutorService vt, Op op) throws InterruptedException {
        return ClosedLoop.run(inflight, plan.warmup(), plan.measure(), (slot, seq) ->
                CompletableFuture.supplyAsync(() -> {
                    try {
                        return op.run(slot, seq);
                    } catch (Exception e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                }, vt));
    }

    private void runBackend(Backend b, BenchReport report, Map<String, BenchRow> ref) throws IOException, InterruptedException {
        String name = b.configName();
        List<String> workloads = new ArrayList<>();
        for (int n : plan.smallInflight()) {
            workloads.add("get 4k@" + n);
            workloads.add("put 4k@" + n);
            workloads.add("mix 70/30 4k@" + n);
        }
        for (int n : plan.largeInflight()) {
            workloads.add("get 10m@" + n);
            workloads.add("put 10m@" + n);
        }
        FileIo io;
        try {
            io = FileIo.create(IoConfig.defaults().withBackend(b));
        } catch (IOException e) {
            for (String w : workloads) {
                String[] p = w.split("@");
                report.add(BenchRow.failed(p[0], name, Integer.parseInt(p[1]), e.getMessage()));
            }
            return;
        }
        Path cdir = plan.dir().resolve("cache-" + name);
        deleteTree(cdir);
        CacheConfig cfg = new CacheConfig(cdir, plan.maxSize(), 0, 64L << 20, 0, 0, CacheConfig.Durability.NONE);
        try (io; Cache c = Cache.open(cfg, io); ExecutorService vt = Executors.newVirtualThreadPerTaskExecutor()) {
            log.printf("[%s] populating %d x 4 KiB and %d x 10 MiB entries%n", name, plan.smallKeys(), plan.largeKeys());
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (int i = 0; i < plan.smallKeys(); i++) {
                String k = "s/" + i;
                fs.add(CompletableFuture.runAsync(() -> {
                    try {
                        put(c, k, SMALL);
                    } catch (IOException e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                }, vt));
                if (fs.size() >= 256) {
                    CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
                    fs.clear();
                }
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
            for (int i = 0; i < plan.largeKeys(); i++) {
                put(c, "l/" + i, LARGE);
            }
            for (int n : plan.smallInflight()) {
                ByteBuffer[] bufs = buffers(n, SMALL);
                LongAdder misses = new LongAdder();
                boolean dropped = dropCaches();
                log.printf("[%s] get 4k, %d in flight%n", name, n);
                ClosedLoop.Result r = loop(n, vt, (slot, seq) ->
                        get(c, "s/" + ThreadLocalRandom.current().nextInt(plan.smallKeys()), bufs[slot], misses));
                add(report, ref, "get 4k", name, n, r, (dropped ? "page cache dropped before the row" : "page cache NOT dropped (not root)")
                        + (misses.sum() > 0 ? "; " + misses.sum() + " misses" : ""));
                log.printf("[%s] put 4k, %d in flight%n", name, n);
                r = loop(n, vt, (slot, seq) -> {
                    put(c, "s/" + ThreadLocalRandom.current().nextInt(plan.smallKeys()), SMALL);
                    return SMALL;
                });
                add(report, ref, "put 4k", name, n, r, "overwrites");
                log.printf("[%s] mix 70/30 4k, %d in flight%n", name, n);
                LongAdder mm = new LongAdder();
                r = loop(n, vt, (slot, seq) -> {
                    String k = "s/" + ThreadLocalRandom.current().nextInt(plan.smallKeys());
                    if (ThreadLocalRandom.current().nextInt(10) < 7) {
                        return get(c, k, bufs[slot], mm);
                    }
                    put(c, k, SMALL);
                    return SMALL;
                });
                add(report, ref, "mix 70/30 4k", name, n, r, mm.sum() > 0 ? mm.sum() + " misses" : "");
            }
            for (int n : plan.largeInflight()) {
                ByteBuffer[] bufs = buffers(n, CHUNK);
                LongAdder misses = new LongAdder();
                log.printf("[%s] get 10m, %d in flight%n", name, n);
                ClosedLoop.Result r = loop(n, vt, (slot, seq) ->
                        get(c, "l/" + ThreadLocalRandom.current().nextInt(plan.largeKeys()), bufs[slot], misses));
                add(report, ref, "get 10m", name, n, r, misses.sum() > 0 ? misses.sum() + " misses (evicted)" : "");
                log.printf("[%s] put 10m, %d in flight%n", name, n);
                r = loop(n, vt, (slot, seq) -> {
                    put(c, "l/" + ThreadLocalRandom.current().nextInt(plan.largeKeys()), LARGE);
                    return LARGE;
                });
                add(report, ref, "put 10m", name, n, r, "overwrites");
            }
            log.printf("[%s] cache stats: %s%n", name, c.stats());
        }
        deleteTree(cdir);
    }

    private static ByteBuffer[] buffers(int n, int size) {
        ByteBuffer[] b = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            b[i] = ByteBuffer.allocate(size);
        }
        return b;
    }

    private static void add(BenchReport report, Map<String, BenchRow> ref, String workload, String backend, int n,
                            ClosedLoop.Result r, String note) {
        BenchRow row = r.error() != null
                ? BenchRow.failed(workload, backend, n, String.valueOf(r.error()))
                : report.add(BenchRow.of(workload, backend, n, r, note));
        if (r.error() != null) {
            report.add(row);
            return;
        }
        String key = workload + "@" + n;
        if (backend.equals("nio")) {
            ref.put(key, row);
        } else if (ref.containsKey(key)) {
            report.addRatio(row, ref.get(key));
        }
    }

    /** Recovery rate: populate, close cleanly, reopen from the snapshot; then reopen by scanning. */
    private void recovery(BenchReport report) throws IOException, InterruptedException {
        int n = plan.recoveryEntries();
        Path cdir = plan.dir().resolve("cache-recovery");
        deleteTree(cdir);
        CacheConfig cfg = new CacheConfig(cdir, Long.MAX_VALUE / 4, 0, 1 << 20, 0, 0, CacheConfig.Durability.NONE);
        try (FileIo io = FileIo.create(IoConfig.defaults().withBackend(Backend.NIO))) {
            log.printf("recovery: inserting %d entries of 100 bytes%n", n);
            try (Cache c = Cache.open(cfg, io); ExecutorService vt = Executors.newFixedThreadPool(8)) {
                List<CompletableFuture<Void>> fs = new ArrayList<>();
                int per = (n + 7) / 8;
                for (int t = 0; t < 8; t++) {
                    int from = t * per;
                    fs.add(CompletableFuture.runAsync(() -> {
                        try {
                            for (int i = from; i < Math.min(n, from + per); i++) {
                                put(c, "r/" + i, 100);
                            }
                        } catch (IOException e) {
                            throw new java.util.concurrent.CompletionException(e);
                        }
                    }, vt));
                }
                CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
            }
            report.add(recoveryRow("recovery (snapshot)", cfg, io, n, "index snapshot written at clean close"));
            // the clean close above wrote a new snapshot: remove it to measure the scan
            Files.deleteIfExists(cdir.resolve("index.snap"));
            report.add(recoveryRow("recovery (scan)", cfg, io, n, "header+trailer of every file, page cache warm"));
            Files.deleteIfExists(cdir.resolve("index.snap"));
            if (dropCaches()) {
                report.add(recoveryRow("recovery (scan, cold)", cfg, io, n, "page cache dropped first"));
            }
        }
        deleteTree(cdir);
    }

    private BenchRow recoveryRow(String workload, CacheConfig cfg, FileIo io, int n, String note) throws InterruptedException {
        dev.kura.bench.ProcessUsage u0 = dev.kura.bench.ProcessUsage.now();
        long t0 = System.nanoTime();
        try (Cache c = Cache.open(cfg, io)) {
            while (!c.recovered()) {
                Thread.sleep(1);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            dev.kura.bench.ProcessUsage used = dev.kura.bench.ProcessUsage.now().minus(u0);
            long got = c.stats().recoveredEntries();
            double rs = c.stats().recoveryNanos() / 1e9;
            log.printf("%s: %d entries in %.3f s (%.0f entries/s)%n", workload, got, rs, got / rs);
            return new BenchRow(workload, "nio", 0, got, rs, got / rs, null, null, null, null,
                    used.cpuMicrosPer(got), used.ctxSwitchesPer(got), List.of(),
                    note + (got != n ? "; expected " + n : "") + String.format(Locale.ROOT, "; open to recovered %.3f s", s),
                    null);
        } catch (IOException e) {
            return BenchRow.failed(workload, "nio", 0, e.getMessage());
        }
    }
}
