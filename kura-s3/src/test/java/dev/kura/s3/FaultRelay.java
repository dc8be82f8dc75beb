package dev.kura.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import dev.kura.testing.TcpRelay;

import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fault-injecting HTTP relay in front of a real origin (S3Proxy): each request it receives is
 * relayed, or answered with a fault, as its script says. Faults: a reset before any answer, a
 * 500 or 503 {@code SlowDown} with an S3 XML error body, a stall (the request is read and never
 * answered), and a reset after part of the body. It counts the requests it received, so tests can
 * assert how many origin requests kura sent.
 *
 * <p>Each relayed request carries {@code Connection: close}, so one TCP connection holds one
 * request and the relay needs no HTTP framing of answers.
 *
 * <p>The sockets (accept loop, a thread per connection, origin connections, closing) are
 * kura-testing's {@link TcpRelay}; this class is the HTTP-aware script on top.
 *
 * <p>Thread-safety: safe for concurrent use; a platform thread per connection.
 */
final class FaultRelay implements AutoCloseable {

    /** What to do with one request. */
    enum Fault {
        /** Relay it to the origin. */
        PASS,
        /** Read the request, then reset the connection (RST) without an answer. */
        RESET,
        /** Answer 500 InternalError. */
        ERROR_500,
        /** Answer 503 SlowDown (S3's throttling answer). */
        SLOW_DOWN,
        /** Read the request and never answer. */
        STALL,
        /** Relay the answer's head and {@link #cutAfter} body bytes, then reset the connection. */
        CUT
    }

    private final TcpRelay tcp;
    private final ConcurrentLinkedDeque<Fault> script = new ConcurrentLinkedDeque<>();
    private volatile java.util.function.Supplier<Fault> then = () -> Fault.PASS;
    /** Body bytes relayed before a {@link Fault#CUT} resets the connection. */
    volatile int cutAfter = 100_000;
    /** Object requests received, whatever their fate. */
    final AtomicInteger requests = new AtomicInteger();
    /** The heads of the object requests received, in order. */
    final List<String> heads = new CopyOnWriteArrayList<>();

    FaultRelay(int originPort) throws IOException {
        this.tcp = TcpRelay.to(originPort).name("fault-relay").handler((c, relay) -> serve(c)).start();
    }

    URI endpoint() {
        return tcp.endpoint();
    }

    /** The next requests meet these faults, in order; after them, {@code then}. */
    FaultRelay script(Fault... faults) {
        script.addAll(List.of(faults));
        return this;
    }

    /** What every request meets once the script is used up. */
    FaultRelay then(Fault f) {
        then = () -> f;
        return this;
    }

    /** Once the script is used up, each request meets what {@code chooser} says (e.g. a seeded random mix). */
    FaultRelay then(java.util.function.Supplier<Fault> chooser) {
        then = chooser;
        return this;
    }

    private Fault next() {
        Fault f = script.pollFirst();
        return f != null ? f : then.get();
    }

    /** Serves one connection; an IOException means kura closed it (a timeout, a hedge that lost). */
    private void serve(Socket c) throws IOException {
        byte[] head = readHead(c.getInputStream());
        if (head == null) {
            return;
        }
        String text = new String(head, StandardCharsets.ISO_8859_1);
        String target = text.split(" ", 3)[1];
        if (!target.matches("/[^/?]+/[^?].*")) {
            // Not an object request (kura's readiness probe HEADs the bucket every 5 s): relayed,
            // uncounted, so the script and the counts are the object requests' alone.
            relay(c, text, -1);
            return;
        }
        requests.incrementAndGet();
        heads.add(text);
        switch (next()) {
            case PASS -> relay(c, text, -1);
            case CUT -> relay(c, text, cutAfter);
            case RESET -> reset(c);
            case ERROR_500 -> answer(c, 500, "Internal Server Error", "InternalError");
            case SLOW_DOWN -> answer(c, 503, "Slow Down", "SlowDown");
            case STALL -> c.getInputStream().read(); // until kura gives up and closes
        }
    }

    private static void reset(Socket c) throws IOException {
        c.setSoLinger(true, 0);
        c.close();
    }

    private static void answer(Socket c, int status, String reason, String code) throws IOException {
        byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code
                + "</Code><Message>injected by FaultRelay</Message></Error>").getBytes(StandardCharsets.UTF_8);
        String h = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: application/xml\r\nContent-Length: "
                + body.length + "\r\nConnection: close\r\n\r\n";
        OutputStream out = c.getOutputStream();
        out.write(h.getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    /** Relays the request (with Connection: close) and the answer; with {@code cut >= 0}, resets after that many body bytes. */
    private void relay(Socket c, String head, int cut) throws IOException {
        String h = head.replaceAll("(?im)^connection:.*\r\n", "");
        h = h.substring(0, h.length() - 2) + "Connection: close\r\n\r\n";
        try (Socket o = tcp.connectOrigin()) {
            o.getOutputStream().write(h.getBytes(StandardCharsets.ISO_8859_1));
            o.getOutputStream().flush();
            InputStream in = o.getInputStream();
            OutputStream out = c.getOutputStream();
            byte[] buf = new byte[16384];
            long sent = 0;
            long bodyStart = -1;
            ByteArrayOutputStream headSeen = new ByteArrayOutputStream();
            for (int n; (n = in.read(buf)) >= 0; ) {
                if (cut >= 0) {
                    if (bodyStart < 0) {
                        headSeen.write(buf, 0, n);
                        int end = headSeen.toString(StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n");
                        if (end >= 0) {
                            bodyStart = end + 4; // headSeen holds the stream from its first byte
                        }
                    }
                    if (bodyStart >= 0 && sent + n > bodyStart + cut) {
                        out.write(buf, 0, (int) (bodyStart + cut - sent));
                        out.flush();
                        reset(c);
                        return;
                    }
                }
                out.write(buf, 0, n);
                out.flush();
                sent += n;
            }
        }
    }

    /** Reads a request head up to its blank line; null when the connection closed first. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        for (int x; (x = in.read()) >= 0; ) {
            b.write(x);
            state = switch (state) {
                case 0, 2 -> x == '\r' ? state + 1 : 0;
                case 1 -> x == '\n' ? 2 : 0;
                case 3 -> x == '\n' ? 4 : 0;
                default -> 0;
            };
            if (state == 4) {
                return b.toByteArray();
            }
        }
        return null;
    }

    /** Client connections open now (a stalled request holds one until kura closes it). */
    int openConnections() {
        return tcp.openConnections();
    }

    @Override
    public void close() throws IOException {
        tcp.close();
    }
}
