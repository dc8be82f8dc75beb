package dev.kura.bench.tftp;

import org.jspecify.annotations.Nullable;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The TFTP load client: {@code concurrency} clients on virtual threads, each downloading one file
 * again and again until the deadline, with the given blksize and windowsize (RFC 2348, RFC 7440).
 * A client follows RFC 1350 / 7440: ACK every window, ACK the last block in order on a gap or on its
 * own timeout (1 s; after 5 in a row without an OACK or DATA in order it gives up and counts a
 * failure). Every transfer's bytes are
 * counted and its length compared with the expected size: a short file is a failure too.
 *
 * <p>Thread-safety: one instance per run; {@link #run} is called once.
 */
final class TftpLoad {

    /** What one run measured. Times in nanoseconds, bytes in bytes. */
    record Result(long transfers, long failures, long bytes, long wallNanos, Histogram transferNanos,
                  int grantedWindowsize, @Nullable String firstError) {
        double mbPerSecond() {
            return bytes / 1e6 / (wallNanos / 1e9);
        }

        double transfersPerSecond() {
            return transfers / (wallNanos / 1e9);
        }
    }

    private final InetSocketAddress server;
    private final String file;
    private final long expectedSize;
    private final int blksize;
    private final int windowsize;
    private final AtomicLong transfers = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private volatile int grantedWindowsize = -1;
    private volatile @Nullable String firstError;

    TftpLoad(InetSocketAddress server, String file, long expectedSize, int blksize, int windowsize) {
        this.server = server;
        this.file = file;
        this.expectedSize = expectedSize;
        this.blksize = blksize;
        this.windowsize = windowsize;
    }

    Result run(int concurrency, long durationNanos) throws InterruptedException {
        Histogram hist = new Histogram(3_600_000_000_000L, 3);
        long start = System.nanoTime();
        long deadline = start + durationNanos;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < concurrency; i++) {
                pool.execute(() -> {
                    do {
                        long t0 = System.nanoTime();
                        String error = download();
                        long t = System.nanoTime() - t0;
                        synchronized (hist) {
                            hist.recordValue(Math.min(t, hist.getHighestTrackableValue()));
                        }
                        transfers.incrementAndGet();
                        if (error != null) {
                            failures.incrementAndGet();
                            if (firstError == null) {
                                firstError = error;
                            }
                        }
                    } while (System.nanoTime() < deadline);
                });
            }
        }
        long wall = System.nanoTime() - start;
        return new Result(transfers.get(), failures.get(), bytes.get(), wall, hist, grantedWindowsize, firstError);
    }

    private static byte[] rrq(String file, int blksize, int windowsize) {
        StringBuilder sb = new StringBuilder();
        sb.append("\0\1").append(file).append('\0').append("octet").append('\0');
        sb.append("blksize").append('\0').append(blksize).append('\0');
        if (windowsize > 1) {
            sb.append("windowsize").append('\0').append(windowsize).append('\0');
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] ack(int block) {
        return new byte[]{0, 4, (byte) (block >> 8), (byte) block};
    }

    /** One download; null on success, else why it failed. */
    private @Nullable String download() {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(server.getAddress(), 0))) {
            s.setSoTimeout(1000);
            s.setReceiveBufferSize(1 << 20);
            byte[] req = rrq(file, blksize, windowsize);
            s.send(new DatagramPacket(req, req.length, server));
            DatagramPacket p = new DatagramPacket(new byte[65536 + 4], 65536 + 4);
            InetSocketAddress tid = null;
            int bs = 512;
            int w = 1;
            int expected = 1;
            int lastInOrder = 0;
            int inWindow = 0;
            int timeouts = 0;
            boolean gapAcked = false;
            long got = 0;
            while (true) {
                try {
                    s.receive(p);
                } catch (SocketTimeoutException e) {
                    if (++timeouts > 5) {
                        return "timed out after " + got + " bytes";
                    }
                    if (tid == null) {
                        s.send(new DatagramPacket(req, req.length, server));
                    } else {
                        s.send(new DatagramPacket(ack(lastInOrder), 4, tid));
                    }
                    inWindow = 0;
                    continue;
                }
                InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
                if (tid == null) {
                    tid = from;
                } else if (!tid.equals(from)) {
                    continue;
                }
                byte[] d = p.getData();
                int op = ((d[0] & 0xff) << 8) | (d[1] & 0xff);
                int n = ((d[2] & 0xff) << 8) | (d[3] & 0xff);
                if (op == 5) {
                    return "ERROR " + n + " " + new String(d, 4, Math.max(0, p.getLength() - 5), StandardCharsets.ISO_8859_1);
                }
                if (op == 6 && expected == 1) {
                    String[] f = new String(d, 2, p.getLength() - 2, StandardCharsets.ISO_8859_1).split("\0");
                    for (int i = 0; i + 1 < f.length; i += 2) {
                        if (f[i].equalsIgnoreCase("blksize")) {
                            bs = Integer.parseInt(f[i + 1]);
                        } else if (f[i].equalsIgnoreCase("windowsize")) {
                            w = Integer.parseInt(f[i + 1]);
                        }
                    }
                    grantedWindowsize = w;
                    timeouts = 0;
                    s.send(new DatagramPacket(ack(0), 4, tid));
                    continue;
                }
                if (op != 3) {
                    continue;
                }
                if (expected == 1 && grantedWindowsize < 0) {
                    grantedWindowsize = 1;
                }
                timeouts = 0;
                if (n != (expected & 0xFFFF)) {
                    // A gap or a repeat: ACK the last block in order, once until progress resumes.
                    if (!gapAcked) {
                        gapAcked = true;
                        inWindow = 0;
                        s.send(new DatagramPacket(ack(lastInOrder), 4, tid));
                    }
                    continue;
                }
                gapAcked = false;
                int len = p.getLength() - 4;
                got += len;
                lastInOrder = n;
                expected++;
                inWindow++;
                if (len < bs) {
                    s.send(new DatagramPacket(ack(n), 4, tid));
                    bytes.addAndGet(got);
                    return got == expectedSize ? null : "got " + got + " bytes, expected " + expectedSize;
                }
                if (inWindow >= w) {
                    inWindow = 0;
                    s.send(new DatagramPacket(ack(n), 4, tid));
                }
            }
        } catch (IOException e) {
            return e.toString();
        }
    }
}
