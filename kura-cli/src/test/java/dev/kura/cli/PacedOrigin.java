package dev.kura.cli;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;

/**
 * A minimal S3-like origin over real HTTP/1.1 (keep-alive) for tests that run {@code kura serve}
 * in a child JVM: path-style {@code GET}/{@code HEAD /<bucket>/<key>} of objects held in memory,
 * single {@code Range: bytes=a-b}, {@code If-Match} (412 {@code PreconditionFailed}),
 * {@code HEAD /<bucket>} (the readiness probe), anonymous. Bodies go out in 16 KiB writes paced at
 * {@link #bytesPerSecond}. Every GET is logged with its range and the body bytes it sent, so a
 * test can say exactly what kura asked the origin for.
 *
 * <p>Thread-safety: safe for concurrent use; one virtual thread per connection.
 */
final class PacedOrigin implements AutoCloseable {
    /** One GET answered (or being answered): the byte range and how many body bytes went out. */
    static final class Get {
        final long first;
        final long last;
        final boolean ranged;
        volatile long sent;

        Get(long first, long last, boolean ranged) {
            this.first = first;
            this.last = last;
            this.ranged = ranged;
        }

        long length() {
            return last - first + 1;
        }
    }

    private record Obj(byte[] bytes, String etag) {
    }

    private final String bucket;
    private final ServerSocket server;
    private final Map<String, Obj> objects = new ConcurrentHashMap<>();
    final List<Get> gets = new CopyOnWriteArrayList<>();
    /** Body pace in bytes per second; 0 for as fast as the socket takes it. */
    volatile long bytesPerSecond;
    private final Thread acceptor;
    private final String lastModified = DateTimeFormatter.RFC_1123_DATE_TIME.format(
            ZonedDateTime.of(2026, 1, 2, 3, 4, 5, 0, ZoneOffset.UTC));

    PacedOrigin(String bucket) throws IOException {
        this.bucket = bucket;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofVirtual().name("paced-origin").start(this::acceptLoop);
    }

    /** http://127.0.0.1:port */
    String endpoint() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    void put(String key, byte[] bytes, String etag) {
        objects.put(key, new Obj(bytes, etag));
    }

    /** The GET whose range starts at {@code first}, the latest one; null when none. */
    Get getAt(long first) {
        Get found = null;
        for (Get g : gets) {
            if (g.first == first && g.ranged) {
                found = g;
            }
        }
        return found;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                String[] lines = head.split("\r\n");
                String[] rl = lines[0].split(" ");
                Map<String, String> h = new HashMap<>();
                for (int i = 1; i < lines.length; i++) {
                    int c = lines[i].indexOf(':');
                    if (c > 0) {
                        h.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
                    }
                }
                if (!answer(rl[0], rl[1], h, out)) {
                    return;
                }
            }
        } catch (IOException e) {
            // the client went away (kura killed, or a fill aborted): nothing to do
        }
    }

    /** Answers one request; false when the connection must close. */
    private boolean answer(String method, String target, Map<String, String> h, OutputStream out) throws IOException {
        String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
        if (path.equals("/" + bucket) || path.equals("/" + bucket + "/")) {
            head(out, 200, "OK", Map.of("Content-Length", "0"));
            return true;
        }
        String key = path.startsWith("/" + bucket + "/") ? path.substring(bucket.length() + 2) : null;
        Obj o = key == null ? null : objects.get(key);
        if (o == null) {
            error(out, method, 404, "Not Found", "NoSuchKey");
            return true;
        }
        String ifMatch = h.get("if-match");
        if (ifMatch != null && !ifMatch.equals(o.etag())) {
            error(out, method, 412, "Precondition Failed", "PreconditionFailed");
            return true;
        }
        long size = o.bytes().length;
        long first = 0;
        long last = size - 1;
        String range = h.get("range");
        boolean ranged = range != null && range.startsWith("bytes=") && method.equals("GET");
        if (ranged) {
            String[] ab = range.substring(6).split("-", 2);
            first = Long.parseLong(ab[0]);
            last = ab[1].isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(ab[1]));
            if (first >= size) {
                error(out, method, 416, "Range Not Satisfiable", "InvalidRange");
                return true;
            }
        }
        Map<String, String> hs = new java.util.LinkedHashMap<>();
        hs.put("ETag", o.etag());
        hs.put("Last-Modified", lastModified);
        hs.put("Content-Type", "application/octet-stream");
        hs.put("Accept-Ranges", "bytes");
        hs.put("Content-Length", Long.toString(last - first + 1));
        if (ranged) {
            hs.put("Content-Range", "bytes " + first + "-" + last + "/" + size);
        }
        head(out, ranged ? 206 : 200, ranged ? "Partial Content" : "OK", hs);
        if (method.equals("HEAD")) {
            return true;
        }
        Get g = new Get(first, last, ranged);
        gets.add(g);
        long pos = first;
        while (pos <= last) {
            int n = (int) Math.min(16 * 1024, last - pos + 1);
            long rate = bytesPerSecond;
            if (rate > 0) {
                LockSupport.parkNanos(n * 1_000_000_000L / rate);
            }
            out.write(o.bytes(), (int) pos, n);
            out.flush();
            pos += n;
            g.sent += n;
        }
        return true;
    }

    private static void head(OutputStream out, int status, String reason, Map<String, String> headers)
            throws IOException {
        StringBuilder sb = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n");
        headers.forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
        sb.append("\r\n");
        out.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static void error(OutputStream out, String method, int status, String reason, String code)
            throws IOException {
        byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" + reason
                + "</Message></Error>").getBytes(StandardCharsets.UTF_8);
        head(out, status, reason, Map.of("Content-Type", "application/xml", "Content-Length",
                Integer.toString(body.length)));
        if (!method.equals("HEAD")) {
            out.write(body);
            out.flush();
        }
    }

    /** The request head up to the blank line, or null at the end of the stream. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
        server.close();
        acceptor.interrupt();
    }
}
