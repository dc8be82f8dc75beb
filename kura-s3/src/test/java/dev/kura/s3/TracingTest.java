package dev.kura.s3;

import com.sun.net.httpserver.HttpServer;
import dev.kura.s3.embedded.EmbeddedOrigin;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * OpenTelemetry traces ({@code serve.tracing}): S3Proxy as the origin behind a
 * {@link RecordingRelay}, kura tracing into an SDK with the SDK's in-memory exporter. A miss makes
 * a server span with an origin client span under it (whose context reaches the origin as
 * {@code traceparent}), a hit a cache read span, a follower of a fill a fill-wait span; an incoming
 * {@code traceparent} continues the caller's trace. The last test exports over OTLP/HTTP for real,
 * to a small receiver on loopback.
 */
class TracingTest {
    private static final AttributeKey<String> CACHE = AttributeKey.stringKey("kura.cache");
    private static final AttributeKey<String> TIER = AttributeKey.stringKey("kura.cache.tier");
    private static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("kura.request_id");

    @TempDir
    Path tmp;

    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private SdkTracerProvider provider;
    private OpenTelemetrySdk sdk;

    @BeforeEach
    void sdk() {
        provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
        sdk = OpenTelemetrySdk.builder().setTracerProvider(provider).build();
    }

    @AfterEach
    void close() {
        sdk.close();
    }

    private static BucketConfig bucket(Fixture f, URI endpoint) {
        return f.bucket("/r", "r", endpoint,
                OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY),
                Duration.ofSeconds(20), Duration.ZERO);
    }

    /** The finished spans, once {@code until} holds for them (spans end just after the response). */
    private List<SpanData> spans(Predicate<List<SpanData>> until) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!until.test(spans.getFinishedSpanItems()) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return spans.getFinishedSpanItems();
    }

    private static SpanData server(List<SpanData> all, String requestId) {
        return all.stream().filter(s -> s.getKind() == SpanKind.SERVER && requestId.equals(s.getAttributes().get(REQUEST_ID)))
                .findFirst().orElseThrow(() -> new AssertionError("no server span of " + requestId + " in " + all));
    }

    private static List<SpanData> children(List<SpanData> all, SpanData parent) {
        return all.stream().filter(s -> s.getParentSpanId().equals(parent.getSpanId())).toList();
    }

    private static String id(HttpResponse<?> r) {
        return r.headers().firstValue("X-Request-Id").orElseThrow();
    }

    @Test
    void aMissHasAnOriginSpanUnderItsServerSpanAndAHitACacheRead() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             RecordingRelay relay = new RecordingRelay(f.origin.endpoint().getPort())) {
            f.origin.put(Fixture.BUCKET, "a.txt", "a\n".getBytes(), "text/plain", null);
            f.extraBuckets.add(bucket(f, relay.endpoint()));
            f.otel = sdk;
            f.startProxy();

            HttpResponse<byte[]> miss = f.get("/r/a.txt");
            assertThat(miss.statusCode()).isEqualTo(200);
            List<SpanData> all = spans(l -> l.stream().anyMatch(s -> s.getKind() == SpanKind.SERVER));
            SpanData server = server(all, id(miss));
            assertThat(server.getName()).isEqualTo("GET r");
            assertThat(server.getAttributes().get(CACHE)).isEqualTo("MISS");
            assertThat(server.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(200);
            assertThat(server.getParentSpanContext().isValid()).as("a new trace").isFalse();
            List<SpanData> kids = children(all, server);
            SpanData origin = kids.stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst().orElseThrow();
            assertThat(origin.getName()).isEqualTo("origin GetObject");
            assertThat(origin.getTraceId()).isEqualTo(server.getTraceId());
            assertThat(origin.getAttributes().get(AttributeKey.stringKey("kura.origin.outcome"))).isEqualTo("ok");
            assertThat(kids).extracting(SpanData::getName).contains("cache lookup");
            // The origin saw the origin span as its caller (W3C traceparent: version-trace-parent-flags;
            // the flags are sampled, plus the Level 2 "random trace id" bit the SDK sets: 01 or 03).
            String head = relay.heads("GET", "/a.txt").getFirst();
            assertThat(RecordingRelay.header(head, "traceparent")).isEqualTo("00-" + origin.getTraceId() + "-"
                    + origin.getSpanId() + "-" + origin.getSpanContext().getTraceFlags().asHex());
            assertThat(origin.getSpanContext().isSampled()).isTrue();
            assertThat(RecordingRelay.header(head, "X-Kura-Request-Id")).isEqualTo(id(miss));

            spans.reset();
            HttpResponse<byte[]> hit = f.get("/r/a.txt");
            assertThat(hit.headers().firstValue("X-Cache")).hasValue("HIT");
            all = spans(l -> l.stream().anyMatch(s -> s.getKind() == SpanKind.SERVER));
            server = server(all, id(hit));
            assertThat(server.getAttributes().get(CACHE)).isEqualTo("HIT");
            kids = children(all, server);
            SpanData read = kids.stream().filter(s -> s.getName().equals("cache read")).findFirst().orElseThrow();
            assertThat(read.getAttributes().get(TIER)).isIn("memory", "disk");
            assertThat(kids).noneMatch(s -> s.getKind() == SpanKind.CLIENT);
            assertThat(relay.heads("GET", "/a.txt")).hasSize(1);
        }
    }

    @Test
    void anIncomingTraceparentContinuesTheCallersTrace() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "b.txt", "b\n".getBytes(), "text/plain", null);
            f.otel = sdk;
            f.startProxy();
            String trace = "0af7651916cd43dd8448eb211c80319c";
            HttpResponse<byte[]> r = f.get("/test/b.txt", "traceparent", "00-" + trace + "-b7ad6b7169203331-01");
            assertThat(r.statusCode()).isEqualTo(200);
            List<SpanData> all = spans(l -> l.stream().anyMatch(s -> s.getKind() == SpanKind.SERVER));
            SpanData server = server(all, id(r));
            assertThat(server.getTraceId()).isEqualTo(trace);
            assertThat(server.getParentSpanId()).isEqualTo("b7ad6b7169203331");
            assertThat(server.getParentSpanContext().isRemote()).isTrue();
            assertThat(all).filteredOn(s -> s.getKind() == SpanKind.CLIENT).isNotEmpty()
                    .allMatch(s -> s.getTraceId().equals(trace));
        }
    }

    @Test
    void followersOfAFillHaveAFillWaitSpan() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             RecordingRelay relay = new RecordingRelay(f.origin.endpoint().getPort())) {
            byte[] body = ProxyTest.random(100_000, 5);
            f.origin.put(Fixture.BUCKET, "c.bin", body, "application/octet-stream", null);
            f.extraBuckets.add(bucket(f, relay.endpoint()));
            f.otel = sdk;
            f.startProxy();
            relay.delayMillis = 500; // the others arrive while the first one's fill waits for the origin
            List<Future<HttpResponse<byte[]>>> rs = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 4; i++) {
                    rs.add(ex.submit(() -> f.get("/r/c.bin")));
                }
            }
            List<String> ids = new ArrayList<>();
            for (Future<HttpResponse<byte[]>> r : rs) {
                assertThat(r.get().body()).isEqualTo(body);
                ids.add(id(r.get()));
            }
            assertThat(relay.heads("GET", "/c.bin")).hasSize(1);
            List<SpanData> all = spans(l -> l.stream().filter(s -> s.getKind() == SpanKind.SERVER).count() == 4);
            List<SpanData> servers = ids.stream().map(i -> server(all, i)).toList();
            List<SpanData> leaders = servers.stream()
                    .filter(s -> children(all, s).stream().anyMatch(c -> c.getKind() == SpanKind.CLIENT)).toList();
            assertThat(leaders).as("one origin request, under its leader's span").hasSize(1);
            List<SpanData> waits = all.stream().filter(s -> s.getName().equals("fill wait")).toList();
            assertThat(waits).as("every follower waited for the leader").hasSize(3);
            for (SpanData w : waits) {
                SpanData parent = servers.stream().filter(s -> s.getSpanId().equals(w.getParentSpanId())).findFirst()
                        .orElseThrow();
                assertThat(parent).isNotEqualTo(leaders.getFirst());
                assertThat(w.getAttributes().get(AttributeKey.booleanKey("kura.fill.joined"))).isTrue();
            }
        }
    }

    @Test
    void spansAreExportedOverOtlpHttpToTheConfiguredEndpoint() throws Exception {
        List<byte[]> bodies = new CopyOnWriteArrayList<>();
        List<String> types = new CopyOnWriteArrayList<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/v1/traces", x -> {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            x.getRequestBody().transferTo(b);
            bodies.add(b.toByteArray());
            types.add(x.getRequestHeaders().getFirst("Content-Type"));
            x.sendResponseHeaders(200, -1); // an empty ExportTraceServiceResponse: all accepted
            x.close();
        });
        receiver.start();
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "d.txt", "d\n".getBytes(), "text/plain", null);
            f.tracing = new TracingConfig(true,
                    URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/v1/traces"), 1.0, "kura-otlp-test");
            f.startProxy();
            HttpResponse<byte[]> r = f.get("/test/d.txt");
            assertThat(r.statusCode()).isEqualTo(200);
            f.stopProxy(); // flushes the batch exporter
            assertThat(bodies).isNotEmpty();
            assertThat(types).allMatch("application/x-protobuf"::equals);
            // Protobuf carries strings as raw UTF-8: the service name and the request's id are in there.
            String all = String.join("|", bodies.stream().map(b -> new String(b, StandardCharsets.ISO_8859_1)).toList());
            assertThat(all).contains("kura-otlp-test", id(r), "origin GetObject");
        } finally {
            receiver.stop(0);
        }
    }
}
