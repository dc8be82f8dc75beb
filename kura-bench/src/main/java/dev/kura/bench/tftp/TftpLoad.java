package dev.kura.bench.tftp;

import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The TFTP load client of {@code kura bench tftp}: {@code concurrency} clients, each downloading
 * one file again and again until the deadline (a transfer under way is finished), with the given
 * blksize and windowsize (RFC 2348, RFC 7440). Each client follows RFC 1350 / 7440 as {@link
 * Download} describes: ACK every window, ACK the last block in order on a gap, resend on a timeout
 * that backs off as {@link RetryPolicy} says and give up after 5 retransmissions in a row. Every transfer's bytes are counted and its length
 * compared with the expected size: a short file is a failure too.
 *
 * <p>The clients are spread over a few platform threads, each a {@link LoadLoop} (a selector over
 * non-blocking datagram channels), so the client costs little beside the servers it measures and
 * drives both of them the same way in the same run.
 *
 * <p>Thread-safety: one instance per run; {@link #run} is called once.
 */
final class TftpLoad {

    /**
     * What one run measured. Times in nanoseconds, bytes in bytes. With a window ({@code
     * windowNanos > 0}), {@code bytes} are those received inside it (MB/s is over the window) and
     * {@code allBytes} those of the whole run (for CPU per MiB); without, both are the bytes of
     * the finished transfers.
     */
    record Result(long transfers, long failures, long bytes, long wallNanos, Histogram transferNanos,
                  int grantedWindowsize, @Nullable String firstError, long retransmits, long outOfOrder,
                  Histogram firstAnswerNanos, Map<Download.Failure, Long> failuresByKind, Histogram scanLateNanos,
                  long windowNanos, long allBytes) {
        double mbPerSecond() {
            return bytes / 1e6 / ((windowNanos > 0 ? windowNanos : wallNanos) / 1e9);
        }

        double transfersPerSecond() {
            return transfers / (wallNanos / 1e9);
        }
    }

    /**
     * Event-loop threads by default: half the CPUs, at least one. The servers under test share the
     * machine; one loop drives 1,000 transfers at hundreds of MB/s.
     */
    static int defaultLoops() {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    private final Download.Spec spec;
    private final int loops;

    TftpLoad(InetSocketAddress server, String file, long expectedSize, int blksize, int windowsize) {
        this(server, file, expectedSize, blksize, windowsize, defaultLoops(), RetryPolicy.BACKOFF);
    }

    /**
     * @param loops event-loop threads (at least 1; never more than the transfers)
     * @param retry when a client resends and gives up (the same for every server of a run)
     */
    TftpLoad(InetSocketAddress server, String file, long expectedSize, int blksize, int windowsize, int loops,
             RetryPolicy retry) {
        if (loops < 1) {
            throw new IllegalArgumentException("loops must be >= 1, was " + loops);
        }
        this.spec = Download.Spec.of(server, file, expectedSize, blksize, windowsize, retry);
        this.loops = loops;
    }

    /**
     * Runs {@code concurrency} clients for {@code durationNanos}, each at least one transfer.
     *
     * @throws InterruptedException when interrupted while waiting for the loops
     */
    Result run(int concurrency, long durationNanos) throws InterruptedException {
        return run(concurrency, durationNanos, 0);
    }

    /**
     * Runs {@code concurrency} clients and measures the bytes received in a window of
     * {@code windowNanos} that opens once every client has had a first answer (see {@link LoadLoop});
     * the downloads still running when it closes are aborted. 0 for no window: {@link #run(int, long)}.
     *
     * @throws InterruptedException when interrupted while waiting for the loops
     */
    Result run(int concurrency, long durationNanos, long windowNanos) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + durationNanos;
        int n = Math.min(loops, Math.max(1, concurrency));
        List<LoadLoop> all = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            LoadLoop loop = new LoadLoop(spec, concurrency / n + (i < concurrency % n ? 1 : 0), deadline, windowNanos);
            all.add(loop);
            threads.add(Thread.ofPlatform().daemon().name("tftp-load-" + i).start(loop));
        }
        for (Thread t : threads) {
            t.join();
        }
        long wall = System.nanoTime() - start;
        Histogram hist = new Histogram(3_600_000_000_000L, 3);
        Histogram firstAnswer = new Histogram(3_600_000_000_000L, 3);
        Histogram scanLate = new Histogram(3_600_000_000_000L, 3);
        Map<Download.Failure, Long> byKind = new EnumMap<>(Download.Failure.class);
        long retransmits = 0;
        long outOfOrder = 0;
        long transfers = 0;
        long failures = 0;
        long bytes = 0;
        long windowBytes = 0;
        long allBytes = 0;
        long window = 0;
        int granted = -1;
        String firstError = null;
        for (LoadLoop l : all) {
            if (l.crash != null) {
                throw new IllegalStateException("load loop failed: " + l.crash, l.crash);
            }
            hist.add(l.transferNanos);
            firstAnswer.add(l.firstAnswerNanos);
            scanLate.add(l.scanLateNanos);
            retransmits += l.retransmits;
            outOfOrder += l.outOfOrder;
            for (Download.Failure k : Download.Failure.values()) {
                if (l.failuresByKind[k.ordinal()] > 0) {
                    byKind.merge(k, l.failuresByKind[k.ordinal()], Long::sum);
                }
            }
            transfers += l.transfers;
            failures += l.failures;
            bytes += l.bytes;
            windowBytes += l.windowBytes;
            allBytes += l.allBytes;
            // the loops' windows have the same length but for a scan's lateness: the longest counts
            window = Math.max(window, l.windowLength);
            granted = l.granted >= 0 ? l.granted : granted;
            firstError = firstError == null ? l.firstError : firstError;
        }
        if (windowNanos > 0) {
            return new Result(transfers, failures, windowBytes, wall, hist, granted, firstError, retransmits, outOfOrder,
                    firstAnswer, byKind, scanLate, Math.max(window, 1), allBytes);
        }
        return new Result(transfers, failures, bytes, wall, hist, granted, firstError, retransmits, outOfOrder, firstAnswer,
                byKind, scanLate, 0, bytes);
    }
}
