package dev.kura.cli;

import dev.kura.cli.config.KuraConfig;
import dev.kura.tftp.TftpConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code kura jvm-options serve|tftp [--config FILE]}: the JVM flags that size the heap, direct
 * memory and collector for that command's job, as one line on stdout for the {@code kura}
 * launcher, and the reasoning as one line on stderr.
 *
 * <h2>Why a step of its own</h2>
 * A JVM's heap is fixed when it starts, but what it needs depends on {@code kura.yaml} (the memory
 * tier's size for serve, the transfer limits for tftp), and the launcher, a shell script, cannot
 * parse YAML reliably (flow style, {@code ${ENV}} values). So the launcher asks the JVM: this
 * command loads the config through the same strict binder the server will use and prints flags.
 * It runs from the same class path and class-data archive as the server, so it costs one short
 * JVM start (~0.3 s); {@code KURA_JVM_SIZING=off} skips it and {@code KURA_JAVA_OPTS} (given
 * after these flags) overrides any of them.
 *
 * <h2>The sizing</h2>
 * <ul>
 *   <li><b>tftp</b>: the Serial collector (no concurrent GC threads, no remembered sets; the live
 *       set is a few KiB per transfer, so pauses stay short) that gives memory back when the heap
 *       shrinks; heap {@code 32 MiB + 16 KiB x tftp.max-transfers} (measured: ~47 MiB old generation at 1,000
 *       concurrent transfers with a 5,000 limit, 83 MiB heap), plus
 *       64 MiB when {@code tftp.source} serves a bucket through the cache (the fills of memory-tier
 *       objects collect their bytes in heap arrays; the memory tier itself is native memory, outside
 *       the heap and the direct-memory limit); direct memory, where Netty's
 *       pooled packet buffers live, {@code 64 MiB + max-transfers x (windowsize-max x (blksize-max + 4)
 *       + 2 x read-chunk)}, the bound the server itself keeps per transfer. Beside these flags the
 *       launcher exports {@code MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=262144} for tftp (an
 *       environment, not a flag): Netty {@code malloc}s its pool chunks, and a fixed mmap
 *       threshold keeps each its own mapping, given back when freed.</li>
 *   <li><b>serve</b>: G1 with a periodic collection every 30 s when idle so committed heap is
 *       returned; heap 1 GiB. The memory tier is not in it: its entries are native memory
 *       ({@code malloc}, lent to the socket without a copy), bounded by {@code cache.memory.max-size}
 *       and outside both the heap and the direct-memory limit. The 1 GiB is what the request path
 *       needed when the tier still lived on the heap: with only 256 MiB of room above it, G1
 *       collected so often under load that 1 MiB hits at 256 connections fell to 0.57x nginx with
 *       wrk timeouts (bench/serve.sh, 2026-11-30: heap max 512 MiB 0.57x, 1 GiB 1.14x, 2 GiB 1.27x
 *       above a 256 MiB tier); the max is a cap, not what is used. Direct memory bounded at 512 MiB
 *       (block reads and socket buffers).</li>
 * </ul>
 */
@Command(name = "jvm-options", hidden = true,
        description = "Print the JVM flags that size kura for a command (used by the kura launcher).")
public final class JvmOptionsCommand implements Callable<Integer> {

    static final long MIB = 1L << 20;

    @Parameters(paramLabel = "COMMAND", description = "serve or tftp")
    String command;

    @Option(names = "--config", description = "the kura.yaml the command will run with")
    Path config;

    /** The flags and why, for one command. */
    record Sizing(String flags, String why) {
    }

    @Override
    public Integer call() {
        KuraConfig kc;
        try {
            kc = config != null ? KuraConfig.load(config) : KuraConfig.defaults();
        } catch (RuntimeException e) {
            // The command itself reports a bad config with its line; size for the defaults meanwhile.
            kc = KuraConfig.defaults();
        }
        Sizing s = switch (command) {
            case "tftp" -> tftp(kc.tftp());
            case "serve" -> serve(kc.cache().toCacheConfig().memoryMaxSize());
            default -> throw new IllegalArgumentException("jvm-options: serve or tftp, was " + command);
        };
        System.out.println(s.flags());
        System.err.println("kura: JVM for " + command + ": " + s.why());
        return 0;
    }

    /** Heap for fills into the memory tier when {@code tftp.source} reads through the cache. */
    static final long TFTP_SOURCE_FILL_HEAP = 64 * MIB;

    static Sizing tftp(TftpConfig t) {
        long transfers = t.maxTransfers();
        long tier = t.source() != null ? TFTP_SOURCE_FILL_HEAP : 0;
        long heap = 32 * MIB + transfers * 16 * 1024 + tier;
        long perTransfer = (long) t.windowsizeMax() * (t.blksizeMax() + 4) + 2 * t.readChunk().bytes();
        long direct = 64 * MIB + transfers * perTransfer;
        String flags = String.format(Locale.ROOT,
                "-XX:+UseSerialGC -Xms16m -Xmx%dm -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"
                        + " -XX:MaxDirectMemorySize=%dm -XX:ReservedCodeCacheSize=64m -Xss512k",
                mib(heap), mib(direct));
        String why = String.format(Locale.ROOT,
                "Serial GC, heap max %d MiB (32 MiB + 16 KiB x %d max-transfers + %d MiB for cache fills), direct max %d MiB"
                        + " (64 MiB + %d x %d B per transfer)", mib(heap), transfers, mib(tier), mib(direct), transfers, perTransfer);
        return new Sizing(flags, why);
    }

    /** @param memoryTier {@code cache.memory.max-size}, native memory outside the heap (reported only) */
    static Sizing serve(long memoryTier) {
        long heap = 1024 * MIB;
        long direct = 512 * MIB;
        String flags = String.format(Locale.ROOT,
                "-XX:+UseG1GC -Xms64m -Xmx%dm -XX:G1PeriodicGCInterval=30000 -XX:MaxDirectMemorySize=%dm",
                mib(heap), mib(direct));
        String why = String.format(Locale.ROOT,
                "G1 (idle heap returned every 30 s), heap max %d MiB, memory tier %d MiB native (outside heap and direct),"
                        + " direct max %d MiB",
                mib(heap), mib(memoryTier), mib(direct));
        return new Sizing(flags, why);
    }

    private static long mib(long bytes) {
        return (bytes + MIB - 1) / MIB;
    }
}
