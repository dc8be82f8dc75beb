package dev.kura.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.concurrent.CountDownLatch;

/**
 * A TCP relay in front of an origin that passes the first {@code head} bytes of each answer and
 * holds the rest until {@link #open()}: an origin whose object has only partly arrived, for tests
 * of what a reader can do before a fill ends, without timing.
 */
final class GatedRelay implements AutoCloseable {
    private final ServerSocket server;
    private final int originPort;
    private final long head;
    private final CountDownLatch gate = new CountDownLatch(1);

    GatedRelay(int originPort, long head) throws IOException {
        this.originPort = originPort;
        this.head = head;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("gated-relay").start(this::acceptLoop);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Lets the held bytes through, now and for every later answer. */
    void open() {
        gate.countDown();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket c = server.accept();
                Socket o = new Socket(InetAddress.getLoopbackAddress(), originPort);
                Thread.ofPlatform().daemon().start(() -> copy(c, o, Long.MAX_VALUE));
                Thread.ofPlatform().daemon().start(() -> copy(o, c, head));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Copies a to b, waiting for the gate once {@code free} bytes have gone through. */
    private void copy(Socket a, Socket b, long free) {
        try (a; b) {
            InputStream in = a.getInputStream();
            OutputStream out = b.getOutputStream();
            byte[] buf = new byte[16384];
            long sent = 0;
            for (int n; (n = in.read(buf, 0, (int) Math.max(1, Math.min(buf.length, free - sent > 0 ? free - sent : buf.length)))) >= 0; ) {
                if (sent >= free) {
                    gate.await();
                }
                out.write(buf, 0, n);
                out.flush();
                sent += n;
            }
        } catch (IOException e) {
            // a side closed: close both (try-with-resources)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws IOException {
        gate.countDown();
        server.close();
    }
}
