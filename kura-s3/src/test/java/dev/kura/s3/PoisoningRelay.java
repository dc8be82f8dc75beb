package dev.kura.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A TCP relay in front of a real origin that rewrites one byte pattern in the origin's answers
 * into another of the same length: a faulty or malicious origin without writing one. Used to put
 * a bare CR into a response header, which S3Proxy (Jetty) itself would turn into a space.
 */
final class PoisoningRelay implements AutoCloseable {
    private final ServerSocket server;
    private final int originPort;
    private final byte[] from;
    private final byte[] to;

    PoisoningRelay(int originPort, String from, String to) throws IOException {
        this.from = from.getBytes(StandardCharsets.ISO_8859_1);
        this.to = to.getBytes(StandardCharsets.ISO_8859_1);
        if (this.from.length != this.to.length) {
            throw new IllegalArgumentException("same length only (Content-Length stays right)");
        }
        this.originPort = originPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("poisoning-relay").start(this::acceptLoop);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket c = server.accept();
                Socket o = new Socket(InetAddress.getLoopbackAddress(), originPort);
                Thread.ofPlatform().daemon().start(() -> copy(c, o, false));
                Thread.ofPlatform().daemon().start(() -> copy(o, c, true));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Copies a to b; rewriting keeps {@code from.length - 1} bytes back so a match split by reads is found. */
    private void copy(Socket a, Socket b, boolean rewrite) {
        try (a; b) {
            InputStream in = a.getInputStream();
            OutputStream out = b.getOutputStream();
            byte[] buf = new byte[65536];
            int held = 0;
            int keep = rewrite ? from.length - 1 : 0;
            while (true) {
                int n = in.read(buf, held, buf.length - held);
                if (n < 0) {
                    out.write(buf, 0, held);
                    return;
                }
                int len = held + n;
                if (rewrite) {
                    for (int i = 0; i + from.length <= len; i++) {
                        if (Arrays.equals(buf, i, i + from.length, from, 0, from.length)) {
                            System.arraycopy(to, 0, buf, i, to.length);
                        }
                    }
                }
                int send = Math.max(0, len - keep);
                if (in.available() == 0) {
                    send = len; // nothing more right now: flush all, the answer may be complete
                }
                out.write(buf, 0, send);
                out.flush();
                System.arraycopy(buf, send, buf, 0, len - send);
                held = len - send;
            }
        } catch (IOException e) {
            // either side closed: the relay connection ends
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
