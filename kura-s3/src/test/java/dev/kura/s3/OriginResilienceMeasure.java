package dev.kura.s3;

import dev.kura.s3.FaultRelay.Fault;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An indicative measurement, not a unit test (tag {@code slow}: {@code ./mvnw verify -Pslow
 * -Dtest=OriginResilienceMeasure}): the same faults with kura's origin resilience off and on, and
 * for each, requests failed, p50/p99 latency and origin requests sent. Prints one line per run.
 * It asserts only what the features are for (fewer failed requests, fewer origin requests to a
 * dead endpoint), never a time.
 */
@Tag("slow")
class OriginResilienceMeasure {
    private static final int CLIENTS = 8;

    @TempDir
    Path tmp;

    /** A flaky origin: 15% 503 SlowDown, 10% reset before the answer, 3% stalled, the rest served. */
    @Test
    void flakyOrigin() throws Exception {
        OriginResilience off = new OriginResilience(0, null, null, null, breaker(false), null);
        OriginResilience on = new OriginResilience(2, Duration.ofSeconds(5), Duration.ofMillis(20),
                Duration.ofMillis(200), breaker(true), Duration.ofMillis(300));
        Result a = run("flaky, features off", off, false, 400, OriginResilienceMeasure::flaky,
                OriginResilienceMeasure::flaky);
        Result b = run("flaky, retries+breaker+replica+hedge", on, true, 400, OriginResilienceMeasure::flaky,
                OriginResilienceMeasure::flaky);
        assertThat(b.failed).isLessThan(a.failed);
    }

    /**
     * The primary stalls every request (read timeout 2 s): a dead endpoint that still accepts
     * connections; the replica (when configured) is healthy.
     */
    @Test
    void deadPrimary() throws Exception {
        OriginResilience off = new OriginResilience(0, null, null, null, breaker(false), null);
        OriginResilience br = new OriginResilience(0, null, null, null,
                new OriginResilience.Breaker(true, 50, 5, 10, Duration.ofSeconds(60), 1), null);
        Result a = run("dead primary, features off", off, false, 80, r -> Fault.STALL, r -> Fault.PASS);
        Result b = run("dead primary, breaker", br, false, 80, r -> Fault.STALL, r -> Fault.PASS);
        Result c = run("dead primary, breaker+replica", br, true, 80, r -> Fault.STALL, r -> Fault.PASS);
        OriginResilience all = new OriginResilience(1, Duration.ofSeconds(10), Duration.ofMillis(20),
                Duration.ofMillis(200), br.breaker(), null);
        Result d = run("dead primary, breaker+replica+retry", all, true, 80, r -> Fault.STALL, r -> Fault.PASS);
        assertThat(d.failed).isLessThanOrEqualTo(c.failed);
        assertThat(b.originRequests).isLessThan(a.originRequests);
        assertThat(c.failed).isLessThan(a.failed);
    }

    private static OriginResilience.Breaker breaker(boolean on) {
        return new OriginResilience.Breaker(on, 50, 10, 20, Duration.ofSeconds(5), 2);
    }

    private static Fault flaky(SplittableRandom r) {
        int x = r.nextInt(100);
        return x < 15 ? Fault.SLOW_DOWN : x < 25 ? Fault.RESET : x < 28 ? Fault.STALL : Fault.PASS;
    }

    record Result(int failed, long p50Micros, long p99Micros, int originRequests) {
    }

    private Result run(String name, OriginResilience policy, boolean replica, int requests,
                       java.util.function.Function<SplittableRandom, Fault> faults,
                       java.util.function.Function<SplittableRandom, Fault> replicaFaults) throws Exception {
        Path dir = tmp.resolve(name.replaceAll("[^a-z]", "_"));
        try (Fixture f = new Fixture(dir).startOrigin();
             FaultRelay primary = new FaultRelay(f.origin.endpoint().getPort());
             FaultRelay second = new FaultRelay(f.origin.endpoint().getPort())) {
            SplittableRandom r1 = new SplittableRandom(1);
            SplittableRandom r2 = new SplittableRandom(2);
            primary.then(() -> { synchronized (r1) { return faults.apply(r1); } });
            second.then(() -> { synchronized (r2) { return replicaFaults.apply(r2); } });
            byte[] body = ProxyTest.random(64 * 1024, 1);
            for (int i = 0; i < 50; i++) {
                // no-store: every request goes to the origin, so each one meets the faults
                f.origin.put(Fixture.BUCKET, "o" + i, body, "application/octet-stream", "no-store");
            }
            BucketConfig.Builder b = f.bucket("/r", "r", primary.endpoint(),
                    OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY),
                    Duration.ofSeconds(2), Duration.ZERO).toBuilder().resilience(policy);
            if (replica) {
                b.replicas(List.of(second.endpoint()));
            }
            f.extraBuckets.add(b.build());
            f.startProxy();
            AtomicInteger next = new AtomicInteger();
            AtomicInteger failed = new AtomicInteger();
            long[] micros = new long[requests];
            try (ExecutorService pool = Executors.newFixedThreadPool(CLIENTS)) {
                List<Future<?>> fs = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    fs.add(pool.submit(() -> {
                        for (int i; (i = next.getAndIncrement()) < requests; ) {
                            long t0 = System.nanoTime();
                            HttpResponse<byte[]> a = f.get("/r/o" + (i % 50));
                            micros[i] = (System.nanoTime() - t0) / 1000;
                            if (a.statusCode() != 200 || a.body().length != body.length) {
                                failed.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> x : fs) {
                    x.get();
                }
            }
            Arrays.sort(micros);
            Result res = new Result(failed.get(), micros[requests / 2], micros[(int) Math.ceil(requests * 0.99) - 1],
                    primary.requests.get() + second.requests.get());
            System.out.printf("MEASURE %-40s requests %4d failed %4d p50 %8.1f ms p99 %8.1f ms origin requests %4d "
                            + "(primary %d, replica %d)%n", name, requests, res.failed, res.p50Micros / 1000.0,
                    res.p99Micros / 1000.0, res.originRequests, primary.requests.get(), second.requests.get());
            return res;
        }
    }
}
