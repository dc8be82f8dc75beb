package dev.kura.bench.tftp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jspecify.annotations.Nullable;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * {@code kura bench tftp}: N concurrent downloads against kura's TFTP server and against tftpd-hpa
 * (Debian's {@code in.tftpd}) serving the same directory on the same machine in the same run.
 *
 * <p>Both servers run as their own processes on 127.0.0.1 (kura from this JVM's class path,
 * {@code kura tftp}; tftpd-hpa in foreground listen mode, forking a child per transfer as it does
 * in production), so the memory column is each server's own: the peak, over the cell, of the
 * summed VmRSS of the server process and its children, sampled every 200 ms from {@code /proc}.
 * The files live on tmpfs ({@code /dev/shm}): this measures the protocol path, not the disk.
 *
 * <p>Each cell runs {@code --seconds} of closed-loop load: every client downloads the file again
 * and again until the time is up (a transfer under way is finished). Columns: aggregate MB/s
 * (10^6 bytes of file delivered per second), transfers/s, failures (ERROR, timeout after 5
 * retries, or a wrong size), p99 transfer time, the server's CPU per MiB and the load client's
 * (this JVM's process CPU over the cell, per MiB delivered: if it is near the server's, the client
 * is part of the bottleneck), server memory. tftpd-hpa 5.2 does not implement
 * RFC 7440: asked for windowsize 16 it answers without it, so its transfers run lock-step; the
 * "w granted" column shows what each server granted.
 */
@Command(name = "tftp", mixinStandardHelpOptions = true,
        description = "TFTP load: concurrent downloads against kura tftp and tftpd-hpa (same files, same run).")
public final class TftpBench implements Callable<Integer> {

    @Option(names = "--quick", description = "small matrix, short cells (a smoke run)")
    boolean quick;

    @Option(names = "--all", description = "also run 64 MiB x 1000 concurrent (64 GB per pass; long)")
    boolean all;

    @Option(names = "--transport", defaultValue = "auto", description = "kura's tftp.transport (default ${DEFAULT-VALUE})")
    String transport;

    @Option(names = "--concurrency", description = "only the 1 MiB cells at this many concurrent transfers (windowsize 1 and 16)")
    Integer only;

    @Option(names = "--seconds", description = "seconds per cell (default 10, 3 with --quick)")
    Integer seconds;

    @Option(names = "--blksize", defaultValue = "1468", description = "blksize asked for (default ${DEFAULT-VALUE})")
    int blksize;

    @Option(names = "--dir", description = "directory for the served files (default: a new one under /dev/shm)")
    Path dir;

    @Option(names = "--tftpd", defaultValue = "/usr/sbin/in.tftpd", description = "tftpd-hpa binary (default ${DEFAULT-VALUE})")
    Path tftpd;

    @Option(names = "--kura-java-opts", description = "extra JVM flags for the kura tftp under test, after the"
            + " launcher's sizing (space-separated, e.g. -XX:NativeMemoryTracking=summary)")
    @Nullable String kuraJavaOpts;

    @Option(names = "--json", description = "print JSON instead of the table")
    boolean json;

    @Option(names = "--client-retry", defaultValue = "BACKOFF", description = "the load client's retransmission"
            + " policy, the same for both servers: BACKOFF (1 s doubling to 8 s, 5 retransmissions, as PXE clients"
            + " back off) or FIXED (every 1 s, gives up after 6 s: the first client's); default ${DEFAULT-VALUE}")
    RetryPolicy.Mode clientRetry = RetryPolicy.Mode.BACKOFF;

    /** Each server's CPU accounting group, by pid (absent where cgroups cannot be used). */
    private final java.util.Map<Long, ProcessTree.CpuGroup> cpuGroups = new java.util.HashMap<>();

    /** The JVM flags kura ran with (from {@code kura jvm-options}). */
    private String kuraFlags = "";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    record Row(String server, String file, int concurrency, int windowsize, int granted, double mbps, double tps,
               long transfers, long failures, double p50ms, double p99ms, double cpuMsPerMiB,
               double clientCpuMsPerMiB, double rssMiB, double pssMiB, @Nullable String error, Losses losses) {
    }

    /**
     * Where a cell's time and transfers went besides the headline figures (issue 14): the client's
     * retransmissions and the DATA it got out of order (the server's retransmissions), the time from an RRQ to the server's first answer (p50 / p99, milliseconds),
     * failures by kind, the kernel's drop counters over the cell, the most processes the server ran
     * at once, the CPU the memory sampler cost the client's JVM (milliseconds), and the load
     * client's own lag (how late its loops' 20 ms scans ran, p99 and max, milliseconds).
     */
    record Losses(long retransmits, long outOfOrder, double firstAnswerP50Ms, double firstAnswerP99Ms,
                  Map<Download.Failure, Long> failuresByKind, NetCounters net, long peakProcesses,
                  double samplerCpuMs, double clientLagP99Ms, double clientLagMaxMs) {
        static final Losses NONE = new Losses(0, 0, 0, 0, Map.of(), new NetCounters(0, 0, 0, 0), 0, 0, 0, 0);
    }

    /** A server's state right after start: memory before any load, and how long its first RRQ took. */
    record Start(String server, double rssMiB, double pssMiB, double firstRrqMs) {
    }

    @Override
    public Integer call() throws Exception {
        int secs = seconds != null ? seconds : quick ? 3 : 10;
        Path root = dir != null ? dir : Files.createTempDirectory(Path.of("/dev/shm"), "kura-bench-tftp-");
        boolean ownRoot = dir == null;
        List<Row> rows = new ArrayList<>();
        List<Start> starts = new ArrayList<>();
        Process kura = null;
        Process hpa = null;
        try {
            long small = 1L << 20;
            long big = 64L << 20;
            writeRandom(root.resolve("1MiB.bin"), small);
            if (!quick) {
                writeRandom(root.resolve("64MiB.bin"), big);
            }
            int kuraPort = freePort();
            int hpaPort = freePort();
            kura = startKura(root, kuraPort);
            if (!Files.isExecutable(tftpd)) {
                System.err.println("tftpd-hpa not found at " + tftpd + " (apt-get install tftpd-hpa): running kura alone");
            } else {
                hpa = new ProcessBuilder(tftpd.toString(), "-L", "-a", "127.0.0.1:" + hpaPort, "-s", "-u", "root",
                        "-B", Integer.toString(blksize), root.toString())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            }
            awaitReady(kuraPort, kura);
            if (hpa != null) {
                awaitReady(hpaPort, hpa);
            }
            for (Process p : hpa != null ? List.of(kura, hpa) : List.of(kura)) {
                ProcessTree.CpuGroup g = ProcessTree.CpuGroup.create(p.pid(), p == kura ? "kura" : "tftpd-hpa");
                if (g != null) {
                    cpuGroups.put(p.pid(), g);
                }
            }
            if (cpuGroups.isEmpty()) {
                System.err.println("no cgroup for CPU accounting (needs root): CPU per MiB from /proc misses"
                        + " tftpd-hpa's unreaped children");
            }
            Thread.sleep(1000);
            starts.add(startState("kura", kura, kuraPort));
            if (hpa != null) {
                starts.add(startState("tftpd-hpa", hpa, hpaPort));
            }
            // Warm-up, not reported: JIT-compiles kura's paths (and fills both servers' caches)
            // so the first cell does not measure a cold JVM.
            for (int w : new int[]{1, 16}) {
                new TftpLoad(new InetSocketAddress(InetAddress.getLoopbackAddress(), kuraPort), "1MiB.bin", small, blksize, w,
                        TftpLoad.defaultLoops(), clientRetry.policy()).run(10, TimeUnit.SECONDS.toNanos(quick ? 2 : 5));
                if (hpa != null) {
                    new TftpLoad(new InetSocketAddress(InetAddress.getLoopbackAddress(), hpaPort), "1MiB.bin", small, blksize, w,
                            TftpLoad.defaultLoops(), clientRetry.policy()).run(10, TimeUnit.SECONDS.toNanos(1));
                }
            }
            List<Object[]> cells = new ArrayList<>();
            if (only != null) {
                for (int w : new int[]{1, 16}) {
                    cells.add(new Object[]{"1MiB.bin", small, only, w});
                }
            } else {
                // Per-transfer latency: one client, one 1 MiB file after another, lock-step.
                cells.add(new Object[]{"1MiB.bin", small, 1, 1});
            }
            for (int w : only != null ? new int[0] : new int[]{1, 16}) {
                for (int c : quick ? new int[]{10, 100} : new int[]{10, 100, 1000}) {
                    cells.add(new Object[]{"1MiB.bin", small, c, w});
                }
                if (!quick) {
                    for (int c : all ? new int[]{10, 100, 1000} : new int[]{10, 100}) {
                        cells.add(new Object[]{"64MiB.bin", big, c, w});
                    }
                }
            }
            for (Object[] cell : cells) {
                String file = (String) cell[0];
                long size = (Long) cell[1];
                int c = (Integer) cell[2];
                int w = (Integer) cell[3];
                // 1,000 x 64 MiB is 64 GB a pass: measured over a window in its steady state (LoadLoop)
                boolean windowed = size == big && c >= 1000;
                rows.add(measure("kura", kura, kuraPort, file, size, c, w, secs, windowed));
                if (hpa != null) {
                    rows.add(measure("tftpd-hpa", hpa, hpaPort, file, size, c, w, secs, windowed));
                }
                if (!json) {
                    System.err.printf("  done: %s x %d, windowsize %d%n", file, c, w);
                }
            }
        } finally {
            if (kura != null) {
                kura.destroy();
                kura.waitFor(10, TimeUnit.SECONDS);
            }
            if (hpa != null) {
                hpa.destroy();
                hpa.waitFor(10, TimeUnit.SECONDS);
            }
            cpuGroups.values().forEach(ProcessTree.CpuGroup::close);
            if (ownRoot) {
                try (Stream<Path> s = Files.list(root)) {
                    for (Path p : s.toList()) {
                        Files.deleteIfExists(p);
                    }
                }
                Files.deleteIfExists(root);
            }
        }
        if (json) {
            printJson(rows);
        } else {
            printTable(rows, starts, secs);
        }
        return rows.stream().anyMatch(r -> r.server().equals("kura") && r.failures() > 0) ? 1 : 0;
    }

    private Row measure(String name, Process server, int port, String file, long size, int concurrency, int w, int secs,
                        boolean windowed) throws InterruptedException {
        if (!json) {
            // Marks the cell's start (bench/profile-tftp.sh attaches its profiler on this line).
            System.err.printf("  %s: %s x %d, windowsize %d (pid %d)%n", name, file, concurrency, w, server.pid());
        }
        ProcessTree.Sampler sampler = new ProcessTree.Sampler(server.pid());
        Thread t = Thread.ofPlatform().daemon().start(sampler);
        ProcessTree.CpuGroup group = cpuGroups.get(server.pid());
        long cpu0 = group != null ? group.nanos() : ProcessTree.cpuNanos(server.pid());
        long client0 = clientCpuNanos();
        NetCounters net0 = NetCounters.read();
        TftpLoad.Result r;
        try {
            r = new TftpLoad(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), file, size, blksize, w,
                    TftpLoad.defaultLoops(), clientRetry.policy()).run(concurrency, TimeUnit.SECONDS.toNanos(secs),
                    windowed ? TimeUnit.SECONDS.toNanos(secs) : 0);
            // tftpd-hpa's children are reaped (and their CPU added to the listener's) just after the last ACK.
            Thread.sleep(300);
        } finally {
            sampler.stop = true;
            t.join();
        }
        long cpu = (group != null ? group.nanos() : ProcessTree.cpuNanos(server.pid())) - cpu0;
        // The load client's own CPU: the sampler's is not part of driving the transfers.
        long client = clientCpuNanos() - client0 - sampler.cpuNanos;
        NetCounters net = NetCounters.read().minus(net0);
        Histogram fa = r.firstAnswerNanos();
        Losses losses = new Losses(r.retransmits(), r.outOfOrder(), fa.getValueAtPercentile(50) / 1e6, fa.getValueAtPercentile(99) / 1e6,
                r.failuresByKind(), net, sampler.peakProcesses.get(), sampler.cpuNanos / 1e6,
                r.scanLateNanos().getValueAtPercentile(99) / 1e6, r.scanLateNanos().getMaxValue() / 1e6);
        double mib = r.allBytes() / 1048576.0; // CPU per MiB over the whole cell, ramp included
        Histogram h = r.transferNanos();
        return new Row(name, file, concurrency, w, r.grantedWindowsize(), r.mbPerSecond(), r.transfersPerSecond(),
                r.transfers(), r.failures(), h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6,
                mib > 0 ? cpu / 1e6 / mib : 0, mib > 0 ? client / 1e6 / mib : 0, sampler.peakRss.get() / 1048576.0, sampler.peakPss.get() / 1048576.0,
                r.firstError(), losses);
    }

    /**
     * CPU nanoseconds this JVM (the load client; the memory sampler's, which {@link #measure} takes
     * out, too) has used so far, all threads, user and system: beside the server's CPU per MiB it shows which side of the round
     * trip is the bottleneck. A lock-step transfer waits for both, so a client costing as much as
     * the server compresses every server-to-server ratio toward 1.
     */
    private static long clientCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Memory at rest, then the time from an RRQ for the 1 MiB file to the server's first answer. */
    private Start startState(String name, Process server, int port) throws IOException {
        double rss = ProcessTree.rss(server.pid()) / 1048576.0;
        double pss = ProcessTree.pss(server.pid()) / 1048576.0;
        byte[] rrq = ("\0\1" + "1MiB.bin\0octet\0blksize\0" + blksize + "\0")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        double ms = -1;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            s.setSoTimeout(5000);
            long t0 = System.nanoTime();
            s.send(new DatagramPacket(rrq, rrq.length, InetAddress.getLoopbackAddress(), port));
            DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
            try {
                s.receive(p);
                ms = (System.nanoTime() - t0) / 1e6;
                byte[] err = "\0\5\0\0bench: first-RRQ probe done\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
                s.send(new DatagramPacket(err, err.length, p.getSocketAddress()));
            } catch (SocketTimeoutException e) {
                // no answer within 5 s: reported as -1
            }
        }
        return new Start(name, rss, pss, ms);
    }

    private Process startKura(Path root, int port) throws IOException {
        Path cfg = root.resolveSibling(root.getFileName() + ".yaml");
        Files.writeString(cfg, """
                tftp:
                  listen: ["127.0.0.1:%d"]
                  blksize-max: %d
                  windowsize-max: 16
                  max-transfers: 5000
                  max-transfers-per-client: 5000
                  transport: %s
                """.formatted(port, Math.max(blksize, 8), transport));
        cfg.toFile().deleteOnExit();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("java.class.path");
        // The JVM sized as the kura launcher sizes it (kura jvm-options tftp --config ...).
        Process sizing = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", cp,
                "dev.kura.cli.Kura", "jvm-options", "tftp", "--config", cfg.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String flags = new String(sizing.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        try {
            sizing.waitFor(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (kuraJavaOpts != null && !kuraJavaOpts.isBlank()) {
            flags = (flags + " " + kuraJavaOpts.trim()).trim();
        }
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        if (!flags.isEmpty()) {
            cmd.addAll(List.of(flags.split("\\s+")));
        }
        kuraFlags = flags;
        cmd.addAll(List.of("-cp", cp, "-Dlogback.configurationFile=none", "dev.kura.cli.Kura", "tftp",
                "--root", root.toString(), "--config", cfg.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        // As the kura launcher exports for tftp (see ./kura): Netty's pool chunks as their own mappings.
        pb.environment().putIfAbsent("MALLOC_ARENA_MAX", "2");
        pb.environment().putIfAbsent("MALLOC_MMAP_THRESHOLD_", "262144");
        kuraFlags = flags + "; env MALLOC_ARENA_MAX=" + pb.environment().get("MALLOC_ARENA_MAX")
                + " MALLOC_MMAP_THRESHOLD_=" + pb.environment().get("MALLOC_MMAP_THRESHOLD_");
        return pb.start();
    }

    /** Waits until the server answers an RRQ for a missing file with an ERROR. */
    private static void awaitReady(int port, Process p) throws IOException, InterruptedException {
        byte[] rrq = "\0\1kura-bench-probe-missing\0octet\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(200);
            while (System.nanoTime() < deadline) {
                if (!p.isAlive()) {
                    throw new IOException("server exited with " + p.exitValue() + " before answering on port " + port);
                }
                s.send(new DatagramPacket(rrq, rrq.length, InetAddress.getLoopbackAddress(), port));
                try {
                    DatagramPacket r = new DatagramPacket(new byte[600], 600);
                    s.receive(r);
                    return;
                } catch (SocketTimeoutException e) {
                    Thread.sleep(100);
                }
            }
        }
        throw new IOException("server on port " + port + " did not answer within 60 s");
    }

    private static int freePort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void writeRandom(Path p, long size) throws IOException {
        Random r = new Random(size);
        byte[] buf = new byte[1 << 20];
        try (OutputStream o = Files.newOutputStream(p)) {
            for (long done = 0; done < size; done += buf.length) {
                r.nextBytes(buf);
                o.write(buf, 0, (int) Math.min(buf.length, size - done));
            }
        }
    }

    private void printTable(List<Row> rows, List<Start> starts, int secs) {
        System.out.printf(Locale.ROOT, "kura bench tftp: %d s per cell, blksize %d, 127.0.0.1, files on tmpfs, %d CPUs, kernel %s, JDK %s%n",
                secs, blksize, Runtime.getRuntime().availableProcessors(), kernel(), Runtime.version());
        System.out.println("kura JVM flags: " + kuraFlags);
        for (Start st : starts) {
            System.out.printf(Locale.ROOT, "%-10s at rest: RSS %.1f MiB, PSS %.1f MiB; first RRQ answered in %.1f ms%n",
                    st.server(), st.rssMiB(), st.pssMiB(), st.firstRrqMs());
        }
        System.out.printf(Locale.ROOT, "%-10s %-6s %5s %3s %5s %8s %11s %9s %8s %9s %9s %10s %10s %8s %8s%n",
                "server", "file", "conc", "w", "w-got", "MB/s", "transfers/s", "transfers", "failures", "p50 ms",
                "p99 ms", "cpu ms/MiB", "client cpu", "RSS MiB", "PSS MiB");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-10s %-6s %5d %3d %5d %8.1f %11.1f %9d %8d %9.1f %9.1f %10.1f %10.1f %8.1f %8.1f%n",
                    r.server(), r.file().replace(".bin", ""), r.concurrency(), r.windowsize(), r.granted(), r.mbps(),
                    r.tps(), r.transfers(), r.failures(), r.p50ms(), r.p99ms(), r.cpuMsPerMiB(), r.clientCpuMsPerMiB(),
                    r.rssMiB(), r.pssMiB());
        }
        for (Row k : rows) {
            if (!k.server().equals("kura")) {
                continue;
            }
            rows.stream().filter(h -> h.server().equals("tftpd-hpa") && h.file().equals(k.file())
                            && h.concurrency() == k.concurrency() && h.windowsize() == k.windowsize() && h.mbps() > 0)
                    .findFirst().ifPresent(h -> System.out.printf(Locale.ROOT,
                            "ratio kura/tftpd-hpa %-9s x%-5d w%-2d: %.2fx MB/s, %.2fx CPU per MiB, %.2fx memory (kura RSS / tftpd-hpa PSS)%n",
                            k.file().replace(".bin", ""), k.concurrency(), k.windowsize(), k.mbps() / h.mbps(),
                            h.cpuMsPerMiB() > 0 ? k.cpuMsPerMiB() / h.cpuMsPerMiB() : 0,
                            h.pssMiB() > 0 ? k.rssMiB() / h.pssMiB() : 0));
        }
        rows.stream().filter(r -> r.error() != null).forEach(r -> System.out.printf("first failure, %s %s x%d w%d: %s%n",
                r.server(), r.file(), r.concurrency(), r.windowsize(), r.error()));
        if (rows.stream().anyMatch(r -> r.file().equals("64MiB.bin") && r.concurrency() >= 1000)) {
            System.out.printf(Locale.ROOT, "64MiB x1000 (a pass would be 64 GB): MB/s over a %d s window that opens once every"
                    + " transfer has had its first answer; transfers running at its end are aborted (an ERROR packet to the"
                    + " server) and count by the bytes they received in it; cpu ms/MiB is over the whole cell, ramp included%n", secs);
        }
        printLosses(rows);
    }

    /**
     * The second table: where transfers and time were lost (see {@link Losses}). {@code 1st ans}:
     * RRQ to first answer, p50 / p99 ms; {@code retx}: the client's retransmissions; {@code dup}:
     * DATA not in order (the server's retransmissions); {@code rcvbuf},
     * {@code noport}, {@code backlog}: the kernel's drop counters over the cell ({@link NetCounters});
     * {@code procs}: the most server processes at once; {@code sampler}: CPU ms of the memory sampler;
     * {@code lag}: how late the client's scans ran, p99 / max ms.
     */
    private void printLosses(List<Row> rows) {
        System.out.printf(Locale.ROOT, "losses (client retry %s: waits %s, gives up after %.0f s of silence):%n",
                clientRetry, waits(clientRetry.policy()), clientRetry.policy().giveUpNanos() / 1e9);
        System.out.printf(Locale.ROOT, "%-10s %-6s %5s %3s %17s %7s %7s %8s %7s %8s %6s %7s %7s %13s  %s%n", "server",
                "file", "conc", "w", "1st ans p50/p99", "retx", "dup", "rcvbuf", "sndbuf", "noport", "backlog", "procs",
                "sampler", "lag p99/max", "failures by kind");
        for (Row r : rows) {
            Losses l = r.losses();
            System.out.printf(Locale.ROOT, "%-10s %-6s %5d %3d %8.1f/%8.1f %7d %7d %8d %7d %8d %6d %7d %7.0f %6.1f/%6.1f  %s%n",
                    r.server(), r.file().replace(".bin", ""), r.concurrency(), r.windowsize(), l.firstAnswerP50Ms(),
                    l.firstAnswerP99Ms(), l.retransmits(), l.outOfOrder(), l.net().rcvbufErrors(), l.net().sndbufErrors(),
                    l.net().noPorts(), l.net().backlogDrops(), l.peakProcesses(), l.samplerCpuMs(),
                    l.clientLagP99Ms(), l.clientLagMaxMs(),
                    l.failuresByKind().isEmpty() ? "-" : l.failuresByKind().toString());
        }
        // What the losses table has shown so far (issue 14, docs/TFTP.md), so that a reader of the
        // x1000 rows knows which side lost what.
        System.out.println("""
                note: tftpd-hpa starts every transfer in one listener process that forks a child for each RRQ
                it reads (a client's retransmitted RRQ too) from a socket queue of net.core.rmem_default bytes;
                RRQs that come faster than it forks overflow that queue (rcvbuf: the machine's UDP receive-buffer
                drops over the cell; kura's listener queue is 4 MiB) and its 1st-answer times grow to tens of
                seconds at 1,000 concurrent transfers on 2 CPUs. A client that gives up sooner (--client-retry
                FIXED: after 6 s) counts those transfers as NO_ANSWER failures. See docs/TFTP.md.""");
    }

    private static String waits(RetryPolicy p) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i <= p.retries(); i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2g", p.wait(i) / 1e9));
        }
        return sb.append(" s").toString();
    }

    private static String kernel() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return System.getProperty("os.version");
        }
    }

    private static void printJson(List<Row> rows) {
        System.out.println(toJson(rows));
    }

    /** The rows as a JSON array, one object per row (written by Jackson). */
    static String toJson(List<Row> rows) {
        ArrayNode out = JSON.createArrayNode();
        for (Row r : rows) {
            ObjectNode o = out.addObject();
            o.put("server", r.server()).put("file", r.file()).put("concurrency", r.concurrency())
                    .put("windowsize", r.windowsize()).put("windowsizeGranted", r.granted())
                    .put("mbPerSecond", round(r.mbps())).put("transfersPerSecond", round(r.tps()))
                    .put("transfers", r.transfers()).put("failures", r.failures()).put("p50Ms", round(r.p50ms()))
                    .put("p99Ms", round(r.p99ms())).put("cpuMsPerMiB", round(r.cpuMsPerMiB()))
                    .put("clientCpuMsPerMiB", round(r.clientCpuMsPerMiB()))
                    .put("serverRssMiB", round(r.rssMiB())).put("serverPssMiB", round(r.pssMiB()));
            Losses l = r.losses();
            o.put("clientRetransmits", l.retransmits()).put("outOfOrderData", l.outOfOrder()).put("firstAnswerP50Ms", round(l.firstAnswerP50Ms()))
                    .put("firstAnswerP99Ms", round(l.firstAnswerP99Ms())).put("udpRcvbufErrors", l.net().rcvbufErrors())
                    .put("udpSndbufErrors", l.net().sndbufErrors()).put("udpNoPorts", l.net().noPorts())
                    .put("backlogDrops", l.net().backlogDrops()).put("serverPeakProcesses", l.peakProcesses())
                    .put("samplerCpuMs", round(l.samplerCpuMs())).put("clientLagP99Ms", round(l.clientLagP99Ms()))
                    .put("clientLagMaxMs", round(l.clientLagMaxMs()));
            ObjectNode kinds = o.putObject("failuresByKind");
            l.failuresByKind().forEach((k, v) -> kinds.put(k.name(), v));
            if (r.error() != null) {
                o.put("error", r.error());
            }
        }
        try {
            return JSON.writeValueAsString(out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("rows that Jackson cannot write: " + e.getMessage(), e);
        }
    }

    /** Two decimals: the figures are measurements, more digits would be noise. */
    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
