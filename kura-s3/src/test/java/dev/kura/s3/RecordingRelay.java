package dev.kura.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay in front of a real origin that records the head of every request it relays (object
 * requests, listings and kura's readiness probes alike), optionally after a delay, so that a test
 * sees exactly what kura sent to the origin. One request per connection (it adds
 * {@code Connection: close}); the answer is relayed untouched.
 *
 * <p>Thread-safety: safe for concurrent use; a platform thread per connection.
 */
final class RecordingRelay implements AutoCloseable {
    private final ServerSocket server;
    private final int originPort;
    /** The heads received, in order (request line and headers, ISO-8859-1). */
    final List<String> heads = new CopyOnWriteArrayList<>();
    /** Milliseconds each request waits before it is relayed (a slow origin). */
    volatile long delayMillis;

    RecordingRelay(int originPort) throws IOException {
        this.originPort = originPort;
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("recording-relay").start(this::acceptLoop);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** The recorded heads whose request line starts with {@code method} and whose target contains {@code part}. */
    List<String> heads(String method, String part) {
        return heads.stream().filter(h -> h.startsWith(method + " ") && h.split(" ", 3)[1].contains(part)).toList();
    }

    /** The value of header {@code name} in a recorded head, or null. */
    static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            int c = line.indexOf(':');
            if (c > 0 && line.substring(0, c).trim().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
                return line.substring(c + 1).trim();
            }
        }
        return null;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket c = server.accept();
                Thread.ofPlatform().daemon().start(() -> serve(c));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket c) {
        try (c; Socket o = new Socket(InetAddress.getLoopbackAddress(), originPort)) {
            String head = readHead(c.getInputStream());
            if (head == null) {
                return;
            }
            heads.add(head);
            if (delayMillis > 0) {
                Thread.sleep(delayMillis);
            }
            String h = head.replaceAll("(?im)^connection:.*\r\n", "");
            h = h.substring(0, h.length() - 2) + "Connection: close\r\n\r\n";
            o.getOutputStream().write(h.getBytes(StandardCharsets.ISO_8859_1));
            o.getOutputStream().flush();
            c.getOutputStream().write(o.getInputStream().readAllBytes());
            c.getOutputStream().flush();
        } catch (IOException | InterruptedException e) {
            // kura closed the connection: nothing to relay
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int last4 = 0; // the last four bytes read, the latest in the low byte
        for (int x; (x = in.read()) >= 0; ) {
            b.write(x);
            last4 = last4 << 8 | x;
            if (last4 == 0x0d0a0d0a) { // CR LF CR LF: the end of the head
                return b.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
