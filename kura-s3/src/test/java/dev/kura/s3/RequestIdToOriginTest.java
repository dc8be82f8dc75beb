package dev.kura.s3;

import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.s3.FaultRelay.Fault;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every origin request kura makes for a client request carries that request's id in
 * {@code X-Kura-Request-Id}: GET and HEAD misses, revalidations, listings, retries and hedges; a
 * fill shared by several clients carries its leader's. S3Proxy is the origin, behind a relay that
 * records what kura sent ({@link RecordingRelay}, or {@link FaultRelay} to inject faults); the id
 * is compared with the client's {@code X-Request-Id} and the JSON access log's {@code request_id}.
 */
class RequestIdToOriginTest {
    private static final String HEADER = "X-Kura-Request-Id";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @RegisterExtension
    final AccessLogCapture accessLog = new AccessLogCapture();

    private static BucketConfig bucket(Fixture f, URI endpoint, OriginResilience r) {
        return f.bucket("/r", "r", endpoint,
                OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY),
                Duration.ofSeconds(20), Duration.ZERO).toBuilder().resilience(r).build();
    }

    private static String id(HttpResponse<?> r) {
        return r.headers().firstValue("X-Request-Id").orElseThrow();
    }

    /** The request ids of the JSON access-log lines written so far. */
    private Set<String> loggedIds() throws Exception {
        Set<String> ids = new HashSet<>();
        for (ILoggingEvent e : accessLog.events()) {
            JsonNode n = JSON.readTree(e.getFormattedMessage());
            ids.add(n.get("request_id").asText());
        }
        return ids;
    }

    @Test
    void getHeadRevalidationAndListingCarryTheClientRequestsId() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             RecordingRelay relay = new RecordingRelay(f.origin.endpoint().getPort())) {
            f.origin.put(Fixture.BUCKET, "a.txt", "a\n".getBytes(), "text/plain", null);
            f.origin.put(Fixture.BUCKET, "stale.txt", "s\n".getBytes(), "text/plain", "max-age=0");
            f.origin.put(Fixture.BUCKET, "h.txt", "h\n".getBytes(), "text/plain", null);
            f.extraBuckets.add(bucket(f, relay.endpoint(), OriginResilience.defaults()));
            f.accessLogFormat = AccessLogFormat.JSON;
            f.startProxy();

            HttpResponse<byte[]> get = f.get("/r/a.txt");
            assertThat(get.statusCode()).isEqualTo(200);
            HttpResponse<byte[]> head = f.send("HEAD", "/r/h.txt");
            assertThat(head.statusCode()).isEqualTo(200);
            HttpResponse<byte[]> first = f.get("/r/stale.txt");
            f.awaitFillsDone(); // the next GET must find the committed (stale) entry, not join the fill
            HttpResponse<byte[]> revalidated = f.get("/r/stale.txt");
            assertThat(revalidated.headers().firstValue("X-Cache")).hasValue("REVALIDATED");
            HttpResponse<byte[]> list = f.get("/r?list-type=2&prefix=a");
            assertThat(list.statusCode()).isEqualTo(200);

            List<String> gets = relay.heads("GET", "/a.txt");
            assertThat(gets).hasSize(1);
            assertThat(RecordingRelay.header(gets.get(0), HEADER)).isEqualTo(id(get));
            List<String> heads = relay.heads("HEAD", "/h.txt");
            assertThat(heads).hasSize(1);
            assertThat(RecordingRelay.header(heads.get(0), HEADER)).isEqualTo(id(head));
            List<String> stale = relay.heads("GET", "/stale.txt");
            assertThat(stale).hasSize(2);
            assertThat(RecordingRelay.header(stale.get(0), HEADER)).isEqualTo(id(first));
            assertThat(RecordingRelay.header(stale.get(1), "If-None-Match")).as("a revalidation").isNotNull();
            assertThat(RecordingRelay.header(stale.get(1), HEADER)).isEqualTo(id(revalidated));
            List<String> listings = relay.heads("GET", "list-type=2");
            assertThat(listings).hasSize(1);
            assertThat(RecordingRelay.header(listings.get(0), HEADER)).isEqualTo(id(list));
            // No traceparent when tracing is off.
            assertThat(relay.heads).allMatch(h -> RecordingRelay.header(h, "traceparent") == null);

            Set<String> ids = Set.of(id(get), id(head), id(first), id(revalidated), id(list));
            assertThat(ids).hasSize(5);
            f.stopProxy(); // the access-log lines are written once each response has ended
            assertThat(loggedIds()).containsAll(ids);
        }
    }

    @Test
    void retriesCarryTheSameId() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            f.origin.put(Fixture.BUCKET, "a.bin", ProxyTest.random(50_000, 1), "application/octet-stream", null);
            f.extraBuckets.add(bucket(f, relay.endpoint(), new OriginResilience(3, Duration.ofSeconds(10),
                    Duration.ofMillis(5), Duration.ofMillis(20), new OriginResilience.Breaker(false, null, null, null,
                    null, null), null)));
            f.startProxy();
            relay.script(Fault.RESET, Fault.SLOW_DOWN);
            HttpResponse<byte[]> r = f.get("/r/a.bin");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(relay.heads).hasSize(3);
            assertThat(relay.heads).allSatisfy(h -> assertThat(RecordingRelay.header(h, HEADER)).isEqualTo(id(r)));
        }
    }

    @Test
    void aHedgeCarriesTheSameId() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             FaultRelay relay = new FaultRelay(f.origin.endpoint().getPort())) {
            f.origin.put(Fixture.BUCKET, "a.bin", ProxyTest.random(50_000, 2), "application/octet-stream", null);
            f.extraBuckets.add(bucket(f, relay.endpoint(), new OriginResilience(0, null, null, null,
                    new OriginResilience.Breaker(false, null, null, null, null, null), Duration.ofMillis(200))));
            f.startProxy();
            relay.script(Fault.STALL);
            HttpResponse<byte[]> r = f.get("/r/a.bin");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(relay.heads).as("the stalled request and its hedge").hasSize(2);
            assertThat(relay.heads).allSatisfy(h -> assertThat(RecordingRelay.header(h, HEADER)).isEqualTo(id(r)));
        }
    }

    @Test
    void aSharedFillCarriesItsLeadersId() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin();
             RecordingRelay relay = new RecordingRelay(f.origin.endpoint().getPort())) {
            byte[] body = ProxyTest.random(200_000, 3);
            f.origin.put(Fixture.BUCKET, "shared.bin", body, "application/octet-stream", null);
            f.extraBuckets.add(bucket(f, relay.endpoint(), OriginResilience.defaults()));
            f.startProxy();
            relay.delayMillis = 500; // every client joins the first one's fill
            List<Future<HttpResponse<byte[]>>> rs = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 8; i++) {
                    rs.add(ex.submit(() -> f.get("/r/shared.bin")));
                }
            }
            Set<String> clients = new HashSet<>();
            for (Future<HttpResponse<byte[]>> r : rs) {
                assertThat(r.get().statusCode()).isEqualTo(200);
                assertThat(r.get().body()).isEqualTo(body);
                clients.add(id(r.get()));
            }
            List<String> gets = relay.heads("GET", "/shared.bin");
            assertThat(gets).as("one fill for all eight").hasSize(1);
            assertThat(clients).hasSize(8).contains(RecordingRelay.header(gets.get(0), HEADER));
        }
    }
}
