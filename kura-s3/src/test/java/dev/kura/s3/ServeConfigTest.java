package dev.kura.s3;

import dev.kura.config.ConfigException;
import dev.kura.config.ConfigLoader;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The serve: section through kura-config's strict loader: defaults, binding, and errors with line and key. */
class ServeConfigTest {
    record Root(ServeConfig serve) {
    }

    private static ServeConfig parse(String yaml) {
        return ConfigLoader.parse(yaml, "kura.yaml", Root.class, Map.of("SECRET", "s3cr3t", "TOKEN", "0123456789abcdefXYZ",
                "CLIENT_SECRET", "client-secret-0123456789")::get).serve();
    }

    @Test
    void bindsEveryKeyAndFillsDefaults() {
        ServeConfig c = parse("""
                serve:
                  listen: 127.0.0.1:9090
                  transport: nio
                  max-header-size: 32KiB
                  shutdown-timeout: 45s
                  admin-token: ${TOKEN}
                  buckets:
                    - prefix: /data/
                      bucket: my-bucket
                      endpoint: http://minio:9000
                      region: eu-west-1
                      path-style: true
                      credentials:
                        type: static
                        access-key-id: AKIA
                        secret-access-key: ${SECRET}
                      default-ttl: 10m
                      stale-if-error: 0s
                    - prefix: /pub
                      bucket: public-bucket
                      credentials: {type: anonymous}
                    - bucket: other
                      name: shared
                      access: public
                  base-domain: S3.Example.com
                  list-cache-ttl: 2s
                  clients:
                    - access-key-id: KURACLIENT000001
                      secret-access-key: ${CLIENT_SECRET}
                      read: [my-bucket, shared/reports/]
                """);
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.port()).isEqualTo(9090);
        assertThat(c.maxHeaderSize().bytes()).isEqualTo(32 * 1024);
        assertThat(c.maxUrlLength().bytes()).isEqualTo(8192);
        assertThat(c.shutdownTimeout()).isEqualTo(Duration.ofSeconds(45));
        assertThat(c.accessLog()).isTrue();
        assertThat(c.adminToken()).isEqualTo("0123456789abcdefXYZ");
        BucketConfig b = c.buckets().getFirst();
        assertThat(b.prefix()).isEqualTo("/data");
        assertThat(b.name()).isEqualTo("my-bucket");
        assertThat(b.endpoint()).isEqualTo(URI.create("http://minio:9000"));
        assertThat(b.credentials().kind()).isEqualTo(OriginCredentials.Kind.STATIC);
        assertThat(b.credentials().secretAccessKey()).isEqualTo("s3cr3t");
        assertThat(b.credentials().toString()).doesNotContain("s3cr3t");
        assertThat(b.defaultTtl()).isEqualTo(Duration.ofMinutes(10));
        assertThat(b.staleIfError()).isZero();
        BucketConfig p = c.buckets().get(1);
        assertThat(p.region()).isEqualTo("us-east-1");
        assertThat(p.credentials().kind()).isEqualTo(OriginCredentials.Kind.ANONYMOUS);
        assertThat(p.readTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(p.staleIfError()).isEqualTo(Duration.ofDays(1));
        // access: private by default with origin credentials, public for anonymous ones.
        assertThat(b.access()).isEqualTo(BucketConfig.Access.PRIVATE);
        assertThat(p.access()).isEqualTo(BucketConfig.Access.PUBLIC);
        BucketConfig shared = c.buckets().get(2);
        assertThat(shared.prefix()).isEqualTo("/shared");
        assertThat(shared.access()).isEqualTo(BucketConfig.Access.PUBLIC);
        assertThat(c.baseDomain()).isEqualTo("s3.example.com");
        assertThat(c.listCacheTtl()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.clients()).hasSize(1);
        assertThat(c.clients().getFirst().secretAccessKey()).isEqualTo("client-secret-0123456789");
        assertThat(c.clients().getFirst().read()).containsExactly("my-bucket", "shared/reports/");
        assertThat(c.clients().getFirst().toString()).doesNotContain("client-secret");
    }

    @Test
    void privateBucketsNeedClientsAndGrantsNameBuckets() {
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - bucket: b1
                      credentials: {type: static, access-key-id: AKIA, secret-access-key: x}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("private")
                .hasMessageContaining("access: public");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  clients:
                    - {access-key-id: KURACLIENT000001, secret-access-key: client-secret-0123456789, read: [nope]}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("nope");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  clients:
                    - {access-key-id: short, secret-access-key: client-secret-0123456789}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("access-key-id");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  clients:
                    - {access-key-id: KURACLIENT000001, secret-access-key: tiny}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("secret-access-key")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("tiny"));
    }

    @Test
    void mistakesNameTheKeyAndTheLine() {
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - prefix: /a
                      bucket: b1
                      regoin: eu-west-1
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("kura.yaml:5").hasMessageContaining("regoin");
        assertThatThrownBy(() -> parse("""
                serve:
                  listen: "localhost:http"
                  buckets: [{prefix: /a, bucket: b1}]
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("listen");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - prefix: /metrics
                      bucket: b1
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("reserved");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - prefix: /a
                      bucket: b1
                      credentials: {type: static}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("access-key-id");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - prefix: /a
                      bucket: b1
                      read-timeout: 5
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("read-timeout");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: []
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("at least one bucket");
        assertThatThrownBy(() -> parse("""
                serve:
                  admin-token: short
                  buckets: [{prefix: /a, bucket: b1}]
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("admin-token");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{prefix: /a, bucket: b1}, {prefix: /a/, bucket: b2}]
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("used twice");
    }

    @Test
    void opsListenerAndLimitsBindWithDefaultsAndRefuseUnknownKeys() {
        ServeConfig d = parse("""
                serve:
                  buckets:
                    - prefix: /a
                      bucket: my-bucket
                      access: public
                """);
        assertThat(d.opsListen()).isEqualTo("127.0.0.1:8081");
        assertThat(d.drainDelay()).isEqualTo(Duration.ZERO);
        assertThat(d.limits()).isEqualTo(ListenerLimits.defaults());
        assertThat(d.limits().maxConnections()).isEqualTo(16384);
        assertThat(d.limits().requestHeaderTimeout()).isEqualTo(Duration.ofSeconds(10));
        ServeConfig c = parse("""
                serve:
                  ops-listen: 10.0.0.5:9100
                  drain-delay: 5s
                  limits:
                    max-connections: 500
                    idle-timeout: 30s
                    request-header-timeout: 2s
                    max-request-body: 0B
                    max-pipelined: 4
                  buckets:
                    - prefix: /a
                      bucket: my-bucket
                      access: public
                """);
        assertThat(c.opsHost()).isEqualTo("10.0.0.5");
        assertThat(c.opsPort()).isEqualTo(9100);
        assertThat(c.drainDelay()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.limits()).isEqualTo(new ListenerLimits(500, Duration.ofSeconds(30), Duration.ofSeconds(2),
                dev.kura.config.DataSize.ofBytes(0), 4));
        assertThatThrownBy(() -> parse("""
                serve:
                  limits:
                    max-conections: 5
                  buckets:
                    - prefix: /a
                      bucket: my-bucket
                      access: public
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("kura.yaml:3").hasMessageContaining("max-conections");
        assertThatThrownBy(() -> parse("""
                serve:
                  ops-listen: nonsense
                  buckets:
                    - prefix: /a
                      bucket: my-bucket
                      access: public
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("ops-listen");
    }

    @Test
    void fillDeadlineAndReadAheadBindWithDefaultsAndRefuseNonsense() {
        ServeConfig d = parse("""
                serve:
                  buckets:
                    - prefix: /a
                      bucket: my-bucket
                      access: public
                """);
        assertThat(d.fill()).isEqualTo(FillConfig.defaults());
        assertThat(d.fill().deadline()).isEqualTo(Duration.ofSeconds(60));
        assertThat(d.fill().minRate().bytes()).isEqualTo(1L << 20);
        assertThat(d.fill().readAhead()).isEqualTo(4);
        assertThat(d.fill().readAheadTotal()).isEqualTo(32);
        ServeConfig c = parse("""
                serve:
                  fill:
                    deadline: 2m
                    min-rate: 256KiB
                    read-ahead: 0
                    read-ahead-total: 8
                  buckets:
                    - prefix: /a
                      bucket: my-bucket
                      access: public
                """);
        assertThat(c.fill()).isEqualTo(new FillConfig(Duration.ofMinutes(2), dev.kura.config.DataSize.ofBytes(256 * 1024),
                0, 8));
        assertThat(c.toBuilder().build().fill()).isEqualTo(c.fill());
        assertThatThrownBy(() -> parse("""
                serve:
                  fill:
                    read-ahed: 2
                  buckets:
                    - prefix: /a
                      bucket: my-bucket
                      access: public
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("kura.yaml:3").hasMessageContaining("read-ahed");
        assertThatThrownBy(() -> parse("""
                serve:
                  fill:
                    read-ahead: 100
                  buckets:
                    - prefix: /a
                      bucket: my-bucket
                      access: public
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("fill.read-ahead must be 0..64");
    }

    @Test
    void accessLogFormatIsTextByDefaultJsonOnRequestAndNothingElse() {
        String bucket = """
                  buckets:
                    - bucket: my-bucket
                      access: public
                """;
        assertThat(parse("serve:\n" + bucket).accessLogFormat()).isEqualTo(AccessLogFormat.TEXT);
        assertThat(parse("serve:\n  access-log-format: json\n" + bucket).accessLogFormat())
                .isEqualTo(AccessLogFormat.JSON);
        assertThatThrownBy(() -> parse("serve:\n  access-log-format: xml\n" + bucket))
                .isInstanceOf(ConfigException.class).hasMessageContaining("access-log-format");
    }

    @Test
    void zeroCopyIsMemoryByDefaultTakesItsNamesAndTheOldBooleans() {
        String bucket = """
                  buckets:
                    - bucket: my-bucket
                      access: public
                """;
        assertThat(parse("serve:\n" + bucket).zeroCopy()).isEqualTo(ZeroCopy.MEMORY);
        assertThat(parse("serve:\n  zero-copy: memory\n" + bucket).zeroCopy()).isEqualTo(ZeroCopy.MEMORY);
        assertThat(parse("serve:\n  zero-copy: ALL\n" + bucket).zeroCopy()).isEqualTo(ZeroCopy.ALL);
        assertThat(parse("serve:\n  zero-copy: off\n" + bucket).zeroCopy()).isEqualTo(ZeroCopy.OFF);
        assertThat(parse("serve:\n  zero-copy: true\n" + bucket).zeroCopy()).isEqualTo(ZeroCopy.ALL);
        assertThat(parse("serve:\n  zero-copy: false\n" + bucket).zeroCopy()).isEqualTo(ZeroCopy.OFF);
        assertThatThrownBy(() -> parse("serve:\n  zero-copy: disk\n" + bucket))
                .isInstanceOf(ConfigException.class).hasMessageContaining("zero-copy");
    }

    @Test
    void replicasAndResilienceBindWithDefaultsAndRefuseNonsense() {
        ServeConfig c = parse("""
                serve:
                  buckets:
                    - bucket: b1
                      access: public
                      endpoint: http://primary:9000
                      replicas: [http://replica-a:9000, https://replica-b]
                      resilience:
                        retries: 4
                        retry-budget: 3s
                        backoff-base: 50ms
                        backoff-max: 1s
                        hedge-after: 250ms
                        breaker: {failure-rate: 30, minimum-calls: 5, window: 10, open-for: 20s, half-open-calls: 1}
                    - bucket: b2
                      access: public
                """);
        BucketConfig b = c.buckets().getFirst();
        assertThat(b.replicas()).containsExactly(URI.create("http://replica-a:9000"), URI.create("https://replica-b"));
        assertThat(b.endpoints()).containsExactly(URI.create("http://primary:9000"),
                URI.create("http://replica-a:9000"), URI.create("https://replica-b"));
        OriginResilience r = b.resilience();
        assertThat(r.retries()).isEqualTo(4);
        assertThat(r.retryBudget()).isEqualTo(Duration.ofSeconds(3));
        assertThat(r.backoffBase()).isEqualTo(Duration.ofMillis(50));
        assertThat(r.backoffMax()).isEqualTo(Duration.ofSeconds(1));
        assertThat(r.hedging()).isTrue();
        assertThat(r.hedgeAfter()).isEqualTo(OriginResilience.HedgeAfter.fixed(Duration.ofMillis(250)));
        assertThat(r.breaker()).isEqualTo(new OriginResilience.Breaker(true, 30, 5, 10, Duration.ofSeconds(20), 1));
        assertThat(b.toBuilder().build()).isEqualTo(b);
        BucketConfig d = c.buckets().get(1);
        assertThat(d.replicas()).isEmpty();
        assertThat(d.resilience()).isEqualTo(OriginResilience.defaults());
        assertThat(d.resilience().retries()).isEqualTo(2);
        assertThat(d.resilience().retryBudget()).isEqualTo(Duration.ofSeconds(10));
        assertThat(d.resilience().hedging()).isFalse();
        for (String p99 : List.of("p99", "auto", "P99")) {
            OriginResilience o = parse("""
                    serve:
                      buckets:
                        - bucket: b1
                          access: public
                          resilience: {hedge-after: %s, hedge-min: 20ms, hedge-max: 1s}
                    """.formatted(p99)).buckets().getFirst().resilience();
            assertThat(o.hedging()).isTrue();
            assertThat(o.hedgeAfter()).isEqualTo(OriginResilience.HedgeAfter.P99);
            assertThat(o.hedgeMin()).isEqualTo(Duration.ofMillis(20));
            assertThat(o.hedgeMax()).isEqualTo(Duration.ofSeconds(1));
        }
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - {bucket: b1, access: public, resilience: {hedge-after: p95}}
                """)).hasMessageContaining("hedge-after");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - {bucket: b1, access: public, resilience: {hedge-after: p99, hedge-min: 2s, hedge-max: 1s}}
                """)).hasMessageContaining("hedge-max");
        assertThat(d.resilience().breaker().enabled()).isTrue();
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - {bucket: b1, access: public, replicas: [ftp://nope]}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("replicas[0]");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - bucket: b1
                      access: public
                      resilience: {retries: 11}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("retries");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets:
                    - bucket: b1
                      access: public
                      resilience: {breaker: {failure-rates: 30}}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("failure-rates");
    }

    @Test
    void rateLimitsBindWithDefaults() {
        ServeConfig c = parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  rate-limits:
                    client: {requests-per-second: 100, burst: 200, bytes-per-second: 50MiB}
                    bucket: {requests-per-second: 2000}
                    max-clients: 5000
                    client-idle: 1m
                """);
        RateLimits r = c.rateLimits();
        assertThat(r.any()).isTrue();
        assertThat(r.client()).isEqualTo(new RateLimits.Limit(100, 200, dev.kura.config.DataSize.ofMebibytes(50),
                dev.kura.config.DataSize.ofMebibytes(50)));
        assertThat(r.bucket().burst()).isEqualTo(2000);
        assertThat(r.bucket().limitsBytes()).isFalse();
        assertThat(r.maxClients()).isEqualTo(5000);
        assertThat(r.clientIdle()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.toBuilder().build()).isEqualTo(c);
        ServeConfig d = parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                """);
        assertThat(d.rateLimits()).isEqualTo(RateLimits.none());
        assertThat(d.rateLimits().any()).isFalse();
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  rate-limits: {client: {requests-per-second: -1}}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("requests-per-second");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  rate-limits: {clients: {requests-per-second: 1}}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("clients");
    }

    @Test
    void originBandwidthBindsItsWeightsAndRefusesAWeightOfNoBucket() {
        ServeConfig c = parse("""
                serve:
                  buckets: [{bucket: b1, access: public}, {bucket: b2, access: public}]
                  origin-bandwidth:
                    limit: 1GiB
                    weights: {b2: 3}
                """);
        assertThat(c.originBandwidth().on()).isTrue();
        assertThat(c.originBandwidth().limit()).isEqualTo(dev.kura.config.DataSize.parse("1GiB"));
        assertThat(c.originBandwidth().weight("b2")).isEqualTo(3);
        assertThat(c.originBandwidth().weight("b1")).isEqualTo(1);
        assertThat(c.toBuilder().build()).isEqualTo(c);
        assertThat(parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                """).originBandwidth().on()).as("off by default").isFalse();
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  origin-bandwidth: {limit: 1GiB, weights: {nope: 2}}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("nope");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  origin-bandwidth: {limit: 1GiB, weights: {b1: 0}}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("1..1000");
        assertThatThrownBy(() -> parse("""
                serve:
                  buckets: [{bucket: b1, access: public}]
                  origin-bandwidth: {limit: 100KiB}
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("1MiB");
    }

    @Test
    void tlsBindsItsFilesAndRefusesOneThatCannotBeRead(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path cert = java.nio.file.Files.writeString(dir.resolve("chain.pem"), "x");
        java.nio.file.Path key = java.nio.file.Files.writeString(dir.resolve("key.pem"), "x");
        String bucket = """
                  buckets:
                    - bucket: my-bucket
                      access: public
                """;
        assertThat(parse("serve:\n" + bucket).tls()).isNull();
        ServeConfig c = parse("serve:\n  tls:\n    cert: " + cert + "\n    key: " + key + "\n" + bucket);
        assertThat(c.tls().cert()).isEqualTo(cert);
        assertThat(c.tls().key()).isEqualTo(key);
        assertThat(c.tls().clientCa()).isNull();
        assertThatThrownBy(() -> parse("serve:\n  tls:\n    cert: " + cert + "\n    key: " + dir.resolve("none.pem")
                + "\n" + bucket)).isInstanceOf(ConfigException.class).hasMessageContaining("kura.yaml:")
                .hasMessageContaining("serve.tls: key: cannot read");
        assertThatThrownBy(() -> parse("serve:\n  tls:\n    cert: " + cert + "\n" + bucket))
                .isInstanceOf(ConfigException.class).hasMessageContaining("key must be set");
    }

    @Test
    void nodeIdIsTheHostNameByDefaultAndMustBeHeaderSafe() {
        String bucket = """
                  buckets:
                    - bucket: my-bucket
                      access: public
                """;
        assertThat(parse("serve:\n" + bucket).nodeId()).matches("[A-Za-z0-9._:-]{1,64}");
        assertThat(parse("serve:\n  node-id: kura-2\n" + bucket).nodeId()).isEqualTo("kura-2");
        assertThatThrownBy(() -> parse("serve:\n  node-id: \"a b\\r\\nX-Evil: 1\"\n" + bucket))
                .isInstanceOf(ConfigException.class).hasMessageContaining("node-id");
    }
}
