package dev.kura.testing;

import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/**
 * A TCP relay on loopback in front of a real origin (S3Proxy, a kura node), for tests that need
 * an origin misbehaving in one precise way without writing a fake one. By default each client
 * connection gets its own origin connection and bytes pass both ways unchanged; the answer
 * direction (origin to client) can be configured to:
 * <ul>
 *   <li>{@link Builder#holdAnswersAfter hold} each answer after its first N bytes until
 *       {@link #release()}: an object that has only partly arrived, without timing;</li>
 *   <li>{@link Builder#rewriteAnswers rewrite} one byte pattern into another of the same length
 *       (Content-Length stays right): e.g. a bare CR in a header, which the origin itself would
 *       never send;</li>
 * </ul>
 * or a {@link Handler} can take the whole connection (an HTTP-aware script of faults, say) and
 * still use the relay's accept loop, origin connections and bookkeeping.
 *
 * <p>One platform thread per direction of each connection: tests open few connections, and a
 * blocking copy is the simplest thing that is obviously right.
 *
 * <p>Thread-safety: safe for concurrent use; {@link #close()} is idempotent.
 */
public final class TcpRelay implements AutoCloseable {

    /** Serves one accepted client connection; the relay closes {@code client} afterwards. */
    @FunctionalInterface
    public interface Handler {
        /**
         * @param client the accepted connection
         * @param relay this relay, for {@link #connectOrigin()} and {@link #pipe}
         * @throws IOException when a side closes: the connection just ends
         */
        void serve(Socket client, TcpRelay relay) throws IOException;
    }

    private final ServerSocket server;
    private final int originPort;
    private final Handler handler;
    private final long holdAfter;
    private final byte @Nullable [] from;
    private final byte @Nullable [] to;
    private final CountDownLatch gate = new CountDownLatch(1);
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    private TcpRelay(Builder b) throws IOException {
        this.originPort = b.originPort;
        this.holdAfter = b.holdAfter;
        this.from = b.from;
        this.to = b.to;
        Handler h = b.handler;
        this.handler = h != null ? h : (client, relay) -> relay.pipe(client);
        this.server = new ServerSocket(0, b.backlog, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name(b.name).start(this::acceptLoop);
    }

    /** A relay in front of the origin listening on loopback {@code originPort}. */
    public static Builder to(int originPort) {
        return new Builder(originPort);
    }

    /** {@code http://127.0.0.1:<port>}: the relay as an HTTP endpoint. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port());
    }

    /** The loopback port the relay listens on. */
    public int port() {
        return server.getLocalPort();
    }

    /** Client connections open now. */
    public int openConnections() {
        return open.size();
    }

    /** Lets held answer bytes through, now and for every later answer ({@link Builder#holdAnswersAfter}). */
    public void release() {
        gate.countDown();
    }

    /** A new connection to the origin. */
    public Socket connectOrigin() throws IOException {
        return new Socket(InetAddress.getLoopbackAddress(), originPort);
    }

    /**
     * Relays {@code client} to a new origin connection: requests unchanged, answers as configured
     * (held, rewritten, or unchanged). Returns when either side closes.
     */
    public void pipe(Socket client) throws IOException {
        try (Socket origin = connectOrigin()) {
            Thread up = Thread.ofPlatform().daemon().name("relay-up").start(() -> {
                try {
                    client.getInputStream().transferTo(origin.getOutputStream());
                } catch (IOException e) {
                    // a side closed
                } finally {
                    closeQuietly(origin);
                }
            });
            try {
                answers(origin.getInputStream(), client.getOutputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                closeQuietly(client);
                up.interrupt();
            }
        }
    }

    private void answers(InputStream in, OutputStream out) throws IOException, InterruptedException {
        byte[] f = from;
        byte[] t = to;
        if (f != null && t != null) {
            rewrite(in, out, f, t);
            return;
        }
        byte[] buf = new byte[16384];
        long sent = 0;
        while (true) {
            // Read no further than the hold point, so that exactly holdAfter bytes pass before the gate.
            int want = sent < holdAfter ? (int) Math.min(buf.length, holdAfter - sent) : buf.length;
            int n = in.read(buf, 0, want);
            if (n < 0) {
                return;
            }
            if (sent >= holdAfter) {
                gate.await();
            }
            out.write(buf, 0, n);
            out.flush();
            sent += n;
        }
    }

    /** Copies with {@code f} replaced by {@code t}; keeps {@code f.length - 1} bytes back so a match split by reads is found. */
    private static void rewrite(InputStream in, OutputStream out, byte[] f, byte[] t) throws IOException {
        byte[] buf = new byte[65536];
        int held = 0;
        int keep = f.length - 1;
        while (true) {
            int n = in.read(buf, held, buf.length - held);
            if (n < 0) {
                out.write(buf, 0, held);
                out.flush();
                return;
            }
            int len = held + n;
            for (int i = 0; i + f.length <= len; i++) {
                if (Arrays.equals(buf, i, i + f.length, f, 0, f.length)) {
                    System.arraycopy(t, 0, buf, i, t.length);
                }
            }
            int send = in.available() == 0 ? len : Math.max(0, len - keep); // nothing more now: the answer may be complete
            out.write(buf, 0, send);
            out.flush();
            System.arraycopy(buf, send, buf, 0, len - send);
            held = len - send;
        }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket c;
            try {
                c = server.accept();
            } catch (IOException e) {
                return;
            }
            open.add(c);
            Thread.ofPlatform().daemon().name("relay-conn").start(() -> {
                try (c) {
                    handler.serve(c, this);
                } catch (IOException e) {
                    // a side closed: the relayed connection ends
                } finally {
                    open.remove(c);
                }
            });
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing is all that was wanted
        }
    }

    /** Stops accepting, closes the client connections open now and lets held bytes go. */
    @Override
    public void close() throws IOException {
        gate.countDown();
        server.close();
        for (Socket s : open) {
            closeQuietly(s);
        }
    }

    /** How the relay behaves; {@link #start()} binds it. */
    public static final class Builder {
        private final int originPort;
        private String name = "tcp-relay";
        private int backlog = 200;
        private long holdAfter = Long.MAX_VALUE;
        private byte @Nullable [] from;
        private byte @Nullable [] to;
        private @Nullable Handler handler;

        private Builder(int originPort) {
            this.originPort = originPort;
        }

        /** The accept thread's name (shows in thread dumps). */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name);
            return this;
        }

        /** Passes the first {@code bytes} of each answer and holds the rest until {@link TcpRelay#release()}. */
        public Builder holdAnswersAfter(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("bytes < 0");
            }
            this.holdAfter = bytes;
            return this;
        }

        /**
         * Rewrites {@code from} into {@code to} (ISO-8859-1, same length) in every answer.
         *
         * @throws IllegalArgumentException when the lengths differ or either is empty
         */
        public Builder rewriteAnswers(String from, String to) {
            byte[] f = from.getBytes(StandardCharsets.ISO_8859_1);
            byte[] t = to.getBytes(StandardCharsets.ISO_8859_1);
            if (f.length != t.length || f.length == 0) {
                throw new IllegalArgumentException("same non-zero length only (Content-Length stays right)");
            }
            this.from = f;
            this.to = t;
            return this;
        }

        /** Each connection is served by {@code handler} instead of the configured pipe. */
        public Builder handler(Handler handler) {
            this.handler = Objects.requireNonNull(handler);
            return this;
        }

        /**
         * Binds an ephemeral loopback port and starts accepting.
         *
         * @throws IllegalStateException when both holding and rewriting are configured (one or the other)
         */
        public TcpRelay start() throws IOException {
            if (from != null && holdAfter != Long.MAX_VALUE) {
                throw new IllegalStateException("hold or rewrite answers, not both");
            }
            return new TcpRelay(this);
        }
    }
}
