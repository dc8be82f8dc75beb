package dev.kura.s3;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A miss streams: the client gets the first bytes while the origin has not sent the rest. The
 * origin here is a minimal HTTP server that sends the head and the first half of the body, then
 * waits for the test's go-ahead, so the proof does not depend on timing.
 */
class StreamingTest {

    @TempDir
    Path tmp;

    @Test
    void theClientGetsTheFirstBytesBeforeTheOriginHasSentTheRest() throws Exception {
        byte[] body = ProxyTest.random(8 << 20, 8);
        int half = body.length / 2;
        CountDownLatch secondHalf = new CountDownLatch(1);
        try (ServerSocket origin = new ServerSocket(0)) {
            Thread server = Thread.ofVirtual().start(() -> {
                try (Socket c = origin.accept()) {
                    InputStream in = c.getInputStream();
                    // read the request head
                    int state = 0;
                    while (state < 4) {
                        int b = in.read();
                        if (b < 0) {
                            return;
                        }
                        state = (b == '\r' || b == '\n') ? state + 1 : 0;
                    }
                    OutputStream out = c.getOutputStream();
                    out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length
                            + "\r\nETag: \"gated\"\r\nContent-Type: application/octet-stream\r\n"
                            + "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body, 0, half);
                    out.flush();
                    if (secondHalf.await(30, TimeUnit.SECONDS)) {
                        out.write(body, half, body.length - half);
                        out.flush();
                    }
                } catch (Exception e) {
                    // the test fails on its own assertions
                }
            });
            try (Fixture f = new Fixture(tmp)) {
                f.extraBuckets.add(f.bucket("/gated", "gated", URI.create("http://127.0.0.1:" + origin.getLocalPort()),
                        OriginCredentials.anonymous(), Duration.ofSeconds(30), Duration.ZERO));
                f.startProxy(URI.create("http://127.0.0.1:1"));
                try (Socket s = new Socket("127.0.0.1", f.proxy.port())) {
                    s.setSoTimeout(20_000);
                    s.getOutputStream().write("GET /gated/obj.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    InputStream in = s.getInputStream();
                    byte[] head = readHead(in);
                    assertThat(new String(head, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 200")
                            .contains("X-Cache: MISS");
                    byte[] first = in.readNBytes(1 << 20); // arrives while the origin still holds back half
                    assertThat(first).isEqualTo(Arrays.copyOf(body, 1 << 20));
                    assertThat(secondHalf.getCount()).isEqualTo(1);
                    secondHalf.countDown();
                    byte[] rest = in.readAllBytes();
                    assertThat(rest).isEqualTo(Arrays.copyOfRange(body, 1 << 20, body.length));
                }
                // and it was cached on the way
                var hit = f.get("/gated/obj.bin");
                assertThat(hit.headers().firstValue("X-Cache")).contains("HIT");
                assertThat(hit.body()).isEqualTo(body);
            } finally {
                secondHalf.countDown();
                server.join(5000);
            }
        }
    }

    private static byte[] readHead(InputStream in) throws Exception {
        java.io.ByteArrayOutputStream h = new java.io.ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            h.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        return h.toByteArray();
    }
}
