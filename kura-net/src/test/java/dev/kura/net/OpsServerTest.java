package dev.kura.net;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The operations listener over real HTTP on an ephemeral loopback port. */
class OpsServerTest {
    private static final String TOKEN = "ops-test-token-0123456789";
    private final HttpClient http = HttpClient.newHttpClient();
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private OpsServer ops;

    @AfterEach
    void close() {
        if (ops != null) {
            ops.close();
        }
    }

    private HttpResponse<String> call(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ops.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    @Test
    void servesLivenessReadinessAndTheRegistry() throws Exception {
        AtomicBoolean draining = new AtomicBoolean();
        Counter.builder("kura.ops.test.things").register(registry).increment(3);
        ops = OpsServer.builder(registry)
                .readiness(() -> draining.get() ? OpsServer.Readiness.notReady("DRAINING\n") : OpsServer.Readiness.READY)
                .bind(new InetSocketAddress("127.0.0.1", 0));
        assertThat(call("GET", "/health").body()).isEqualTo("ok\n");
        assertThat(call("GET", "/live").statusCode()).isEqualTo(200);
        HttpResponse<String> ready = call("GET", "/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).isEqualTo("READY\n");
        draining.set(true);
        ready = call("GET", "/ready");
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(ready.body()).isEqualTo("DRAINING\n");
        HttpResponse<String> metrics = call("GET", "/metrics");
        assertThat(metrics.headers().firstValue("Content-Type")).contains(OpsServer.PROMETHEUS_TEXT);
        assertThat(metrics.headers().firstValue("Cache-Control")).contains("no-store");
        assertThat(metrics.body()).contains("kura_ops_test_things_total 3.0");
        HttpResponse<String> head = call("HEAD", "/metrics");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(Long.parseLong(head.headers().firstValue("Content-Length").orElseThrow())).isPositive();
    }

    @Test
    void unknownPathsAndWrongMethodsAreRefusedWithTheList() throws Exception {
        ops = OpsServer.builder(registry).route("/extra", ex -> ex.text(200, "x\n"), "GET")
                .bind(new InetSocketAddress("127.0.0.1", 0));
        HttpResponse<String> r = call("GET", "/nope");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).isEqualTo("ops endpoints: /health, /live, /ready, /metrics, /extra\n");
        HttpResponse<String> post = call("POST", "/metrics");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).contains("GET, HEAD");
        assertThat(call("HEAD", "/extra").statusCode()).isEqualTo(405);
        assertThat(call("GET", "/admin/anything").statusCode()).as("admin off without a token").isEqualTo(404);
    }

    @Test
    void adminRoutesNeedTheCurrentTokenAndRunOffTheEventLoop() throws Exception {
        AtomicReference<String> token = new AtomicReference<>();
        AtomicReference<String> ranOn = new AtomicReference<>();
        ops = OpsServer.builder(registry)
                .adminToken(token::get, "the admin API is off (test.token is not set)")
                .adminRoute("/admin/echo", ex -> {
                    ranOn.set(Thread.currentThread().isVirtual() ? "virtual" : Thread.currentThread().getName());
                    ex.send(200, "application/json", ("{\"q\":\"" + ex.parameter("q") + "\"}").getBytes(StandardCharsets.UTF_8));
                }, "POST", "DELETE")
                .adminRoute("/admin/boom", ex -> {
                    throw new IllegalStateException("boom");
                }, "POST")
                .bind(new InetSocketAddress("127.0.0.1", 0));
        HttpResponse<String> off = call("POST", "/admin/echo");
        assertThat(off.statusCode()).isEqualTo(404);
        assertThat(off.body()).isEqualTo("the admin API is off (test.token is not set)\n");
        token.set(TOKEN);
        HttpResponse<String> none = call("POST", "/admin/echo?q=1");
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer");
        assertThat(call("POST", "/admin/echo?q=1", "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
        HttpResponse<String> ok = call("POST", "/admin/echo?q=1", "Authorization", "Bearer " + TOKEN);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).isEqualTo("{\"q\":\"1\"}");
        assertThat(ranOn.get()).isEqualTo("virtual");
        HttpResponse<String> get = call("GET", "/admin/echo", "Authorization", "Bearer " + TOKEN);
        assertThat(get.statusCode()).isEqualTo(405);
        assertThat(get.headers().firstValue("Allow")).contains("POST, DELETE");
        HttpResponse<String> unknown = call("GET", "/admin/nope", "Authorization", "Bearer " + TOKEN);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).isEqualTo("admin endpoints: /admin/echo, /admin/boom\n");
        HttpResponse<String> boom = call("POST", "/admin/boom", "Authorization", "Bearer " + TOKEN);
        assertThat(boom.statusCode()).isEqualTo(500);
        assertThat(boom.body()).contains("boom");
        token.set(null);
        assertThat(call("POST", "/admin/echo", "Authorization", "Bearer " + TOKEN).statusCode())
                .as("a removed token turns the admin API off").isEqualTo(404);
    }

    @Test
    void aPathRegisteredTwiceOrAnAdminPathOutsideAdminIsRefused() {
        assertThatThrownBy(() -> OpsServer.builder(registry).route("/metrics", ex -> ex.text(200, ""), "GET")
                .bind(new InetSocketAddress("127.0.0.1", 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
        assertThatThrownBy(() -> OpsServer.builder(registry).adminRoute("/stats", ex -> ex.text(200, ""), "GET")
                .bind(new InetSocketAddress("127.0.0.1", 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/admin/");
    }
}
