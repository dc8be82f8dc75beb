package dev.kura.s3;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Graceful stop (what SIGTERM runs): no new connections, the request in flight finishes. */
class ShutdownTest {

    @TempDir
    Path tmp;

    @Test
    void stopLetsTheRequestInFlightFinishAndRefusesNewConnections() throws Exception {
        byte[] big = ProxyTest.random(32 << 20, 5);
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "big.bin", big, "application/octet-stream", null);
            f.startProxy();
            assertThat(f.get("/test/big.bin").body()).isEqualTo(big); // cached now
            int port = f.proxy.port();
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setReceiveBufferSize(64 * 1024);
                s.getOutputStream().write("GET /test/big.bin HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                byte[] first = in.readNBytes(4096); // a slow client: most of the body is still to come
                assertThat(new String(first, 0, 12, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
                ProxyServer proxy = f.proxy;
                Thread stopper = Thread.ofPlatform().start(proxy::close);
                Thread.sleep(500);
                assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                all.write(first);
                in.transferTo(all); // ends when the server closes the connection after the response
                byte[] resp = all.toByteArray();
                int bodyStart = indexOf(resp, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII)) + 4;
                assertThat(Arrays.copyOfRange(resp, bodyStart, resp.length)).isEqualTo(big);
                stopper.join(10_000);
                assertThat(stopper.isAlive()).isFalse();
                f.proxy = null; // already stopped
            }
        }
    }

    @Test
    void aClientThatLeavesMidMissStillLeavesTheObjectCached() throws Exception {
        byte[] big = ProxyTest.random(24 << 20, 6);
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "left.bin", big, "application/octet-stream", null);
            f.adminToken = ProxyTest.TOKEN;
            f.startProxy();
            try (Socket s = new Socket("127.0.0.1", f.proxy.port())) {
                s.setReceiveBufferSize(32 * 1024);
                s.getOutputStream().write("GET /test/left.bin HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(s.getInputStream().readNBytes(1000)).hasSize(1000);
                s.setSoLinger(true, 0); // reset, not a polite close
            }
            long deadline = System.nanoTime() + 30_000_000_000L;
            String xcache = null;
            while (System.nanoTime() < deadline) {
                var r = f.get("/test/left.bin", "Range", "bytes=0-0");
                xcache = r.headers().firstValue("X-Cache").orElse("");
                if (xcache.equals("HIT")) {
                    break;
                }
                Thread.sleep(100);
            }
            assertThat(xcache).isEqualTo("HIT");
            assertThat(f.get("/test/left.bin").body()).isEqualTo(big);
            assertThat(f.origin.getCount()).isEqualTo(1);
            String stats = new String(f.ops("GET", "/admin/stats", "Authorization", "Bearer " + ProxyTest.TOKEN).body(),
                    StandardCharsets.UTF_8);
            assertThat(stats).contains("\"requestsInFlight\":0"); // the ops listener's own calls are not counted
        }
    }

    @Test
    void readyTurnsDrainingBeforeTheDataListenerCloses() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "d.txt", "drain\n".getBytes(StandardCharsets.UTF_8), "text/plain", null);
            f.drainDelay = java.time.Duration.ofSeconds(3);
            f.startProxy();
            String ready = "";
            for (int i = 0; i < 100 && !ready.startsWith("READY"); i++) {
                ready = new String(f.ops("GET", "/ready").body(), StandardCharsets.UTF_8);
                Thread.sleep(100);
            }
            assertThat(ready).startsWith("READY");
            ProxyServer proxy = f.proxy;
            Thread stopper = Thread.ofPlatform().start(proxy::close);
            Thread.sleep(500);
            var r = f.ops("GET", "/ready");
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).startsWith("DRAINING");
            assertThat(f.get("/test/d.txt").statusCode()).as("data port still serves while draining").isEqualTo(200);
            stopper.join(20_000);
            assertThat(stopper.isAlive()).isFalse();
            int port = proxy.port();
            assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
            f.proxy = null; // already stopped
        }
    }

    private static int indexOf(byte[] a, byte[] pat) {
        outer:
        for (int i = 0; i + pat.length <= a.length; i++) {
            for (int j = 0; j < pat.length; j++) {
                if (a[i + j] != pat[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
