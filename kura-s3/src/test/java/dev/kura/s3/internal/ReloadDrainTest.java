package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.OriginCredentials;
import dev.kura.s3.ServeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ProxyCore#swap}: an origin of a changed bucket is closed only once the old snapshot has no
 * request left and the origin no body stream open; an unchanged bucket keeps its origin.
 */
class ReloadDrainTest {
    @TempDir
    Path tmp;

    /** A fake origin that records its close. */
    static final class Closing extends java.util.concurrent.atomic.AtomicBoolean {
        final FakeOrigin origin = new FakeOrigin();
    }

    private static BucketConfig bucket(String name, Duration readTimeout) {
        return BucketConfig.builder().bucket("bucket").name(name).endpoint(URI.create("http://fake.invalid"))
                .pathStyle(true).credentials(OriginCredentials.anonymous()).readTimeout(readTimeout)
                .access(BucketConfig.Access.PUBLIC).build();
    }

    private static ServeConfig config(Duration aTimeout) {
        return ServeConfig.builder().listen("127.0.0.1:0").opsListen("127.0.0.1:0").accessLog(false)
                .shutdownTimeout(Duration.ofSeconds(30))
                .buckets(List.of(bucket("a", aTimeout), bucket("b", Duration.ofSeconds(5)))).build();
    }

    @Test
    void aChangedBucketsOriginClosesOnlyAfterItsRequestsAndStreamsEnd() throws Exception {
        // The origins made for each bucket name, in order: [0] at start, [1] after the reload.
        Map<String, List<Closing>> made = new ConcurrentHashMap<>();
        try (FileIo io = FileIo.create(IoConfig.defaults());
             Cache cache = Cache.open(new CacheConfig(tmp.resolve("cache"), 1L << 30, 0, 1L << 29, 0, 1L << 20,
                     CacheConfig.Durability.NONE), io)) {
            ProxyCore core = new ProxyCore(config(Duration.ofSeconds(5)), cache, b -> {
                Closing c = new Closing();
                c.origin.put("k", "v".repeat(1000).getBytes(StandardCharsets.UTF_8), null);
                Origin o = new Origin() {
                    public OriginResponse get(OriginRequest r) { return c.origin.get(r); }
                    public OriginResponse head(String k, String v) { return c.origin.head(k, v); }
                    public OriginResponse headPart(String k, String v, int n) { return c.origin.headPart(k, v, n); }
                    public dev.kura.s3.internal.api.ListPage list(dev.kura.s3.internal.api.ListQuery q) { return c.origin.list(q); }
                    public boolean reachable() { return true; }
                    public void close() { c.set(true); }
                };
                made.computeIfAbsent(b.name(), n -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(c);
                return o;
            }, ProxyCore.DEFAULT_SLICE_SIZE);
            try {
                ServeState before = core.state();
                Origin oldA = before.route("a").origin();
                Origin oldB = before.route("b").origin();
                before.retain(); // a request in flight on the old config
                OriginResponse.Body body = (OriginResponse.Body) oldA.get(new OriginRequest("k", null, null, null, -1, -1));

                core.swap(config(Duration.ofSeconds(6))); // bucket a changed, b not
                ServeState after = core.state();
                assertThat(after).isNotSameAs(before);
                assertThat(after.route("b").origin()).isSameAs(oldB);
                assertThat(after.route("a").origin()).isNotSameAs(oldA);

                assertThat(made.get("a")).hasSize(2);
                assertThat(made.get("b")).hasSize(1);
                Closing firstA = made.get("a").getFirst();
                Thread.sleep(300);
                assertThat(firstA.get()).as("closed under a request in flight").isFalse();
                before.release();
                Thread.sleep(300);
                assertThat(firstA.get()).as("closed under an open body stream").isFalse();
                assertThat(body.body().readAllBytes()).hasSize(1000);
                body.close();
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (!firstA.get() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(firstA.get()).as("closed once drained").isTrue();
                assertThat(made.get("b").getFirst().get()).isFalse();
                assertThat(made.get("a").get(1).get()).isFalse();
            } finally {
                core.close(1000);
            }
            assertThat(made.values().stream().flatMap(List::stream)).allMatch(java.util.concurrent.atomic.AtomicBoolean::get);
        }
    }
}
