package dev.kura.bench.tftp;

import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * One platform thread of the load client: a {@link Selector} over the non-blocking channels of
 * {@code slots} concurrent {@link Download}s, each slot starting its next download as soon as one
 * ends, until the deadline (a download under way is finished).
 *
 * <h2>Why an event loop</h2>
 * A load generator must cost less than what it measures, the way wrk drives thousands of HTTP
 * connections from a few threads. Here one wake-up of the thread serves every transfer whose
 * datagram has arrived (epoll returns them together), one receive buffer and one ACK buffer serve
 * them all, and no datagram crosses a thread. Timeouts are found by a scan of the slots every
 * {@link #SCAN_NANOS} rather than a timer per packet: moving a deadline field is all a datagram
 * costs.
 *
 * <h2>Measuring a window</h2>
 * With a window ({@code windowNanos > 0}) the loop counts the bytes received during a window of
 * that length that opens once every slot has had a first answer from the server (every transfer
 * is under way; at most {@link #WINDOW_OPEN_CAP_NANOS} after the start), then aborts the downloads
 * still running ({@link Download#abort}) and ends. A cell whose transfers would take far longer
 * than any run (1,000 concurrent downloads of 64 MiB are 64 GB) is measured in its steady state
 * that way, and a server slow to start transfers (tftpd-hpa forks one process per request) is
 * neither favoured nor penalised by its ramp.
 *
 * <p>Its counts and latency histogram are its own (no shared counters per transfer); {@link
 * TftpLoad} adds the loops' together after they have all ended.
 *
 * <p>Thread-safety: {@link #run} on one thread; the results are read after that thread is joined.
 */
final class LoadLoop implements Runnable {

    static final long SCAN_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** The slots' first downloads start over this long (at most a quarter of the run). */
    static final long RAMP_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    /** The latest a window opens after the start, even if some slot never had an answer. */
    static final long WINDOW_OPEN_CAP_NANOS = TimeUnit.SECONDS.toNanos(120);

    private final Download.Spec spec;
    private final long deadline;
    /** The window's length, nanoseconds; 0 for none (count transfers until the deadline). */
    private final long windowNanos;
    /** Slots whose downloads have had a first answer at least once, and how many. */
    private final boolean[] answered;
    private int answeredSlots;
    /** Per slot: what its current download had received when the window opened. */
    private final long[] windowBase;
    /** {@link System#nanoTime} of the window's opening, or -1 while it has not opened. */
    private long windowStart = -1;
    /** The window's actual length once closed (a scan may close it a little late), nanoseconds. */
    long windowLength;
    /** Bytes received inside the window. */
    long windowBytes;
    /** Bytes received by every download of the run, finished, failed or aborted. */
    long allBytes;
    private final Selector selector;
    private final @Nullable Download[] slots;
    /**
     * When an empty slot starts its next download ({@link System#nanoTime}), or {@link Long#MAX_VALUE}
     * for none: the slots' first downloads, spread over the ramp, and slots whose start failed.
     */
    private final long[] startAt;
    /** The largest DATA (blksize 65464, RFC 2348) and its 4-byte header. */
    private final ByteBuffer in = ByteBuffer.allocateDirect(65468);
    private final ByteBuffer ack = ByteBuffer.allocateDirect(4);
    final Histogram transferNanos = new Histogram(3_600_000_000_000L, 3);
    /** Time from each answered RRQ to the server's first datagram, nanoseconds. */
    final Histogram firstAnswerNanos = new Histogram(3_600_000_000_000L, 3);
    /**
     * How late each scan ran after it was due, nanoseconds: the loop's own lag. A loop busy with
     * datagrams delays timeouts, new RRQs and ACKs alike; if this stays small, slow answers are the
     * server's (issue 14).
     */
    final Histogram scanLateNanos = new Histogram(3_600_000_000_000L, 3);
    /** Failures by kind, indexed by {@link Download.Failure#ordinal()}. */
    final long[] failuresByKind = new long[Download.Failure.values().length];
    long transfers;
    long failures;
    long retransmits;
    long outOfOrder;
    long bytes;
    int granted = -1;
    @Nullable String firstError;
    /** What ended the loop early (its selector failed, a bug); null when it ran to the end. */
    volatile @Nullable Throwable crash;
    private int live;

    /**
     * @param slots    concurrent downloads this loop keeps going
     * @param deadline {@link System#nanoTime} after which no download is started (without a window)
     * @param windowNanos the length of the measured window, nanoseconds, or 0 for none
     * @throws UncheckedIOException when no selector can be opened
     */
    LoadLoop(Download.Spec spec, int slots, long deadline, long windowNanos) {
        this.spec = spec;
        this.deadline = windowNanos > 0 ? Long.MAX_VALUE : deadline;
        this.windowNanos = windowNanos;
        this.slots = new Download[slots];
        this.startAt = new long[slots];
        this.answered = new boolean[slots];
        this.windowBase = new long[slots];
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void run() {
        try (selector) {
            long now = System.nanoTime();
            // Every slot downloads at least once, however short the run. The first requests are
            // spread over a ramp: a thousand RRQs in the same millisecond overflow a listener's
            // receive queue, and the dropped ones would all time out and be re-sent together, in
            // lock-step bursts that no fleet of real clients produces (tftpd-hpa, which forks per
            // request, lost hundreds of transfers that way).
            live = slots.length;
            long ramp = windowNanos > 0 ? RAMP_NANOS : Math.min(RAMP_NANOS, Math.max(0, deadline - now) / 4);
            long windowCap = now + WINDOW_OPEN_CAP_NANOS;
            for (int i = 0; i < slots.length; i++) {
                startAt[i] = now + ramp * i / slots.length;
            }
            for (int i = 0; i < slots.length && startAt[i] <= now; i++) {
                startAt[i] = Long.MAX_VALUE;
                start(i, now);
            }
            long nextScan = now + SCAN_NANOS;
            while (live > 0) {
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextScan - now)));
                now = System.nanoTime();
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    Download d = (Download) k.attachment();
                    if (d.finished()) {
                        continue; // ended earlier in this round; its next one has its own key
                    }
                    d.readable(in, ack, now);
                    if (!answered[d.slot] && d.firstAnswerNanos() >= 0) {
                        answered[d.slot] = true;
                        answeredSlots++;
                    }
                    if (d.finished()) {
                        end(d, now);
                    }
                }
                if (windowNanos > 0) {
                    window(now, windowCap);
                }
                if (now >= nextScan) {
                    scanLateNanos.recordValue(Math.min(now - nextScan, scanLateNanos.getHighestTrackableValue()));
                    nextScan = now + SCAN_NANOS;
                    for (int i = 0; i < slots.length; i++) {
                        if (startAt[i] <= now) {
                            startAt[i] = Long.MAX_VALUE;
                            start(i, now);
                        }
                        Download d = slots[i];
                        if (d != null) {
                            d.timer(ack, now);
                            if (d.finished()) {
                                end(d, now);
                            }
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            crash = e;
            for (Download d : slots) {
                if (d != null) {
                    d.close();
                }
            }
        }
    }

    /** Opens the window when every slot has had an answer (or at the cap); closes it when it has run its length. */
    private void window(long now, long cap) {
        if (windowStart < 0) {
            if (answeredSlots == slots.length || now >= cap) {
                windowStart = now;
                for (Download d : slots) {
                    if (d != null) {
                        windowBase[d.slot] = d.received();
                    }
                }
            }
            return;
        }
        if (now - windowStart < windowNanos) {
            return;
        }
        windowLength = now - windowStart;
        for (int i = 0; i < slots.length; i++) {
            Download d = slots[i];
            if (d != null) {
                windowBytes += d.received() - windowBase[i];
                allBytes += d.received();
                retransmits += d.retransmits();
                outOfOrder += d.outOfOrder();
                if (d.granted() >= 0) {
                    granted = d.granted();
                }
                recordFirstAnswer(d);
                d.abort();
                slots[i] = null;
            }
            startAt[i] = Long.MAX_VALUE;
        }
        live = 0;
    }

    /** Records a finished download and starts the slot's next one, or retires the slot after the deadline. */
    private void end(Download d, long now) {
        d.close();
        allBytes += d.received();
        if (windowStart >= 0) {
            windowBytes += d.received() - windowBase[d.slot];
        }
        windowBase[d.slot] = 0;
        if (d.granted() >= 0) {
            granted = d.granted();
        }
        retransmits += d.retransmits();
        outOfOrder += d.outOfOrder();
        recordFirstAnswer(d);
        Download.Failure kind = d.failure();
        if (kind != null) {
            failuresByKind[kind.ordinal()]++;
        }
        if (d.state() == Download.State.SUCCEEDED) {
            bytes += d.received();
            record(d.startNanos, null);
        } else {
            record(d.startNanos, d.error());
        }
        slots[d.slot] = null;
        if (now < deadline) {
            start(d.slot, now);
        } else {
            live--;
        }
    }

    /**
     * Starts a download in an empty slot. When not even the RRQ can be sent (no ports or descriptors
     * left) that is a failed transfer, and the slot tries again at the next scan rather than
     * spinning while the other transfers wait.
     */
    private void start(int slot, long now) {
        try {
            slots[slot] = Download.start(spec, selector, slot, now);
        } catch (IOException e) {
            failuresByKind[Download.Failure.IO.ordinal()]++;
            record(now, e.toString());
            if (System.nanoTime() >= deadline) {
                live--;
            } else {
                startAt[slot] = System.nanoTime();
            }
        }
    }

    private void recordFirstAnswer(Download d) {
        if (d.firstAnswerNanos() >= 0) {
            firstAnswerNanos.recordValue(Math.min(d.firstAnswerNanos(), firstAnswerNanos.getHighestTrackableValue()));
        }
    }

    private void record(long startNanos, @Nullable String error) {
        long t = System.nanoTime() - startNanos;
        transferNanos.recordValue(Math.min(t, transferNanos.getHighestTrackableValue()));
        transfers++;
        if (error != null) {
            failures++;
            if (firstError == null) {
                firstError = error;
            }
        }
    }
}
