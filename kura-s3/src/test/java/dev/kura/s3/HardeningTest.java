package dev.kura.s3;

import dev.kura.config.DataSize;
import dev.kura.testing.TcpRelay;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * kura serve under hostile clients and a poisoned origin (issue 10): real sockets against kura in
 * front of a real S3Proxy, with small limits so that each one is reached quickly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HardeningTest {
    static final int MAX_CONNECTIONS = 40;

    @TempDir
    static Path tmp;
    Fixture f;
    TcpRelay relay;
    final byte[] small = "hardened\n".getBytes(StandardCharsets.UTF_8);

    @BeforeAll
    void start() throws Exception {
        f = new Fixture(tmp).startOrigin();
        f.origin.put(Fixture.BUCKET, "small.txt", small, "text/plain", null);
        f.origin.putWithMetadata(Fixture.BUCKET, "meta.txt", small, "text/plain",
                Map.of("note", "a\rSet-Cookie: injected=cr", "fine", "kept"));
        f.origin.put(Fixture.BUCKET, "x", small, "text/plain", null);
        f.adminToken = ProxyTest.TOKEN;
        f.extraBuckets.add(f.originBucket("/bench", "bench", f.origin.endpoint(), Duration.ofSeconds(5)));
        f.extraBuckets.add(f.originBucket("/bench2", "bench2", f.origin.endpoint(), Duration.ofSeconds(5)));
        // S3Proxy (Jetty) turns a CR in a header value into a space; the relay puts it back.
        relay = TcpRelay.to(f.origin.port()).name("poisoning-relay").rewriteAnswers("note: a Set-Cookie", "note: a\rSet-Cookie")
                .start();
        f.extraBuckets.add(f.originBucket("/poisoned", "poisoned", relay.endpoint(), Duration.ofSeconds(5)));
        f.limits = new ListenerLimits(MAX_CONNECTIONS, Duration.ofSeconds(2), Duration.ofMillis(700),
                DataSize.ofBytes(1024), 4);
        f.startProxy();
    }

    @AfterAll
    void stop() throws Exception {
        f.close();
        relay.close();
    }

    @Test
    void metricLabelsStayBoundedUnderTenThousandJunkMethodsAndPaths() throws Exception {
        int n = 10_000;
        int batch = 50; // pipelined, in batches (Netty's codec refuses more than 128 in one burst)
        int seen = 0;
        try (Socket s = connect()) {
            for (int i = 0; i < n; i += batch) {
                StringBuilder b = new StringBuilder();
                for (int j = i; j < i + batch; j++) {
                    b.append("JUNK").append(j).append(" /junk/").append(j).append(" HTTP/1.1\r\nHost: x\r\n\r\n");
                }
                s.getOutputStream().write(b.toString().getBytes(StandardCharsets.US_ASCII));
                seen += countStatusLines(s.getInputStream(), batch);
            }
        }
        assertThat(seen).isEqualTo(n);
        String metrics = f.metrics();
        assertThat(metrics.length()).as("/metrics size after 10,000 junk methods").isLessThan(100 * 1024);
        assertThat(metrics).contains("method=\"other\"").doesNotContain("JUNK1");
        assertThat(metrics).doesNotContain("bucket=\"junk\"");
    }

    @Test
    void controlCharactersInOriginMetadataNeverReachAResponseOnMissOrHit() throws Exception {
        try (var sdk = Fixture.s3(relay.endpoint())) { // the poison does reach an S3 client
            assertThat(sdk.headObject(b -> b.bucket(Fixture.BUCKET).key("meta.txt")).metadata().get("note"))
                    .isEqualTo("a\rSet-Cookie: injected=cr");
        }
        for (String expected : List.of("MISS", "HIT")) {
            String resp = raw("GET /poisoned/meta.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            String head = resp.substring(0, resp.indexOf("\r\n\r\n"));
            assertThat(head).contains("X-Cache: " + expected).contains("200 OK");
            assertThat(head).as(expected).doesNotContain("Set-Cookie").doesNotContain("injected")
                    .doesNotContainIgnoringCase("x-amz-meta-note");
            assertThat(head.replace("\r\n", "")).as("no stray CR or LF").doesNotContain("\r").doesNotContain("\n");
            assertThat(head.toLowerCase()).contains("x-amz-meta-fine: kept");
        }
    }

    @Test
    void absoluteFormIsRoutedOnlyForKurasOwnAuthorityAndHostMustBeThereOnce() throws Exception {
        int port = f.proxy.port();
        assertThat(raw("GET http://127.0.0.1:" + port + "/test/small.txt HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 200").endsWith("hardened\n");
        assertThat(raw("GET http://localhost:" + port + "/test/small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 200");
        assertThat(raw("GET http://example.com/test/small.txt HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 421");
        assertThat(raw("GET /test/small.txt HTTP/1.1\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 400");
        assertThat(raw("GET /test/small.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 400");
        assertThat(raw("GET /test/small.txt HTTP/1.0\r\n\r\n")).as("HTTP/1.0 may omit Host").startsWith("HTTP/1.1 200");
    }

    @Test
    void aRequestBodyOverTheLimitGets413AndTheServerGoesOn() throws Exception {
        String body = "b".repeat(4096);
        String resp = raw("GET /test/small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        assertThat(resp).startsWith("HTTP/1.1 413");
        String ok = raw("GET /test/small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789");
        assertThat(ok).startsWith("HTTP/1.1 200");
    }

    @Test
    void slowlorisAndIdleConnectionsAreClosedWhileOthersAreServed() throws Exception {
        try (Socket slow = connect(); Socket idle = connect()) {
            slow.setSoTimeout(10_000);
            idle.setSoTimeout(10_000);
            OutputStream out = slow.getOutputStream();
            long t0 = System.nanoTime();
            boolean closed = false;
            String req = "GET /test/small.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            for (int i = 0; i < 100 && !closed; i++) {
                try {
                    out.write(req.charAt(Math.min(i, req.length() - 1)));
                    out.flush();
                    Thread.sleep(100);
                    assertThat(f.get("/test/small.txt").statusCode()).isEqualTo(200);
                } catch (IOException e) {
                    closed = true;
                }
            }
            // The write after the close may still succeed; the read says for sure.
            assertThat(closed || slow.getInputStream().read() == -1).as("slowloris closed").isTrue();
            assertThat((System.nanoTime() - t0) / 1_000_000).as("closed near the 700 ms header timeout").isLessThan(6000);
            assertThat(idle.getInputStream().read()).as("idle connection closed after 2 s").isEqualTo(-1);
        }
        String metrics = f.metrics();
        assertThat(metrics).containsPattern("kura_connections_closed_total\\{reason=\"request_header_timeout\"} [1-9]")
                .containsPattern("kura_connections_closed_total\\{reason=\"idle_timeout\"} [1-9]");
    }

    @Test
    void connectionsBeyondTheLimitAreRefusedFastAndServiceResumes() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONNECTIONS + 10; i++) {
                held.add(connect());
            }
            int refused = 0;
            for (Socket s : held) {
                s.setSoTimeout(300);
                try {
                    if (s.getInputStream().read() == -1) {
                        refused++;
                    }
                } catch (SocketTimeoutException stillOpen) {
                    // held open by kura
                } catch (IOException reset) {
                    refused++;
                }
            }
            assertThat(refused).as("connections over the limit closed at once").isGreaterThanOrEqualTo(10);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        int status = 0;
        while (System.nanoTime() < deadline && status != 200) {
            try {
                status = f.get("/test/small.txt").statusCode();
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        assertThat(status).isEqualTo(200);
        assertThat(f.metrics()).containsPattern("kura_connections_closed_total\\{reason=\"max_connections\"} [1-9]");
    }

    @Test
    void purgeIsScopedToOneMapping() throws Exception {
        for (String p : List.of("/bench/x", "/bench2/x", "/bench/x", "/bench2/x")) {
            assertThat(f.get(p).statusCode()).isEqualTo(200);
        }
        assertThat(f.get("/bench2/x").headers().firstValue("X-Cache")).contains("HIT");
        HttpResponse<byte[]> r = f.ops("POST", "/admin/purge?bucket=bench&prefix=", "Authorization", "Bearer " + ProxyTest.TOKEN);
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("{\"purged\":1}");
        assertThat(f.get("/bench2/x").headers().firstValue("X-Cache")).as("bench2 untouched").contains("HIT");
        assertThat(f.get("/bench/x").headers().firstValue("X-Cache")).contains("MISS");
    }

    @Test
    void readyIsAnsweredFromTheBackgroundCheckWithoutOriginRequests() throws Exception {
        String body = "";
        for (int i = 0; i < 100 && !body.startsWith("READY"); i++) {
            body = new String(f.ops("GET", "/ready").body(), StandardCharsets.UTF_8);
            Thread.sleep(100);
        }
        assertThat(body).startsWith("READY");
        long before = f.origin.getCount();
        for (int i = 0; i < 200; i++) {
            assertThat(f.ops("GET", "/ready").statusCode()).isEqualTo(200);
        }
        assertThat(f.origin.getCount()).as("object GETs at the origin").isEqualTo(before);
    }

    private Socket connect() throws IOException {
        Socket s = new Socket("127.0.0.1", f.proxy.port());
        s.setSoTimeout(30_000);
        return s;
    }

    /** Sends {@code request} byte for byte and reads until the server closes (or 10 s pass). */
    private String raw(String request) throws IOException {
        try (Socket s = connect()) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            try {
                s.getInputStream().transferTo(all);
            } catch (SocketTimeoutException | java.net.SocketException e) {
                // a keep-alive answer: what came is the answer
            }
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static int countStatusLines(InputStream in, int want) throws IOException {
        Pattern p = Pattern.compile("HTTP/1\\.1 \\d{3} ");
        byte[] buf = new byte[1 << 16];
        StringBuilder tail = new StringBuilder();
        int seen = 0;
        while (seen < want) {
            int r = in.read(buf);
            if (r < 0) {
                break;
            }
            tail.append(new String(buf, 0, r, StandardCharsets.ISO_8859_1));
            Matcher m = p.matcher(tail);
            int end = 0;
            while (m.find()) {
                seen++;
                end = m.end();
            }
            tail.delete(0, Math.max(end, tail.length() - 16));
        }
        return seen;
    }
}
