package dev.kura.s3;

import dev.kura.config.DataSize;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve.origin-bandwidth} end to end: two buckets fill large objects from S3Proxy at once
 * under a small budget, and get bytes in proportion to their weights.
 */
class OriginBandwidthTest {
    @TempDir
    Path tmp;

    @Test
    void twoBucketsFillingAtOnceShareTheBudgetByWeight() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            byte[] big = ProxyTest.random(24 << 20, 5);
            f.origin.put(Fixture.BUCKET, "big.bin", big, "application/octet-stream", null);
            OriginCredentials creds = OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY);
            f.extraBuckets.add(f.bucket("/a", "a", f.origin.endpoint(), creds, Duration.ofSeconds(20), Duration.ZERO));
            f.extraBuckets.add(f.bucket("/b", "b", f.origin.endpoint(), creds, Duration.ofSeconds(20), Duration.ZERO));
            long budget = 4L << 20;
            f.originBandwidth = new OriginBandwidth(DataSize.ofBytes(budget), Map.of("a", 1, "b", 3));
            f.sliceSize = 64L << 20; // one whole-object fill per bucket
            f.startProxy();

            AtomicLong a = new AtomicLong();
            AtomicLong b = new AtomicLong();
            Thread ta = Thread.ofVirtual().start(() -> read(f, "/a/big.bin", a));
            Thread tb = Thread.ofVirtual().start(() -> read(f, "/b/big.bin", b));
            try {
                Thread.sleep(1_500);
                long a0 = a.get();
                long b0 = b.get();
                long t0 = System.nanoTime();
                Thread.sleep(3_000);
                long a1 = a.get();
                long b1 = b.get();
                double seconds = (System.nanoTime() - t0) / 1e9;
                double ratio = (double) (b1 - b0) / Math.max(1, a1 - a0);
                System.out.printf("ORIGIN-SHARE a %d B, b %d B in %.2f s: b/a %.2f (weights 3:1), total %.2f MiB/s%n",
                        a1 - a0, b1 - b0, seconds, ratio, (a1 - a0 + b1 - b0) / seconds / (1 << 20));
                assertThat(b1).as("b is still filling at the second sample").isLessThan(big.length);
                assertThat(ratio).as("bytes in proportion to the weights 3:1, within 30%").isBetween(2.1, 3.9);
                assertThat((a1 - a0 + b1 - b0) / seconds).as("the budget bounds the total")
                        .isLessThanOrEqualTo(budget * 1.3);
            } finally {
                ta.interrupt();
                tb.interrupt();
            }
        }
    }

    private static void read(Fixture f, String path, AtomicLong count) {
        try {
            HttpResponse<InputStream> r = f.http.send(HttpRequest.newBuilder(f.url(path)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) >= 0; ) {
                    count.addAndGet(n);
                }
            }
        } catch (Exception e) {
            // the test ended (interrupted) or the proxy closed under the reader
        }
    }
}
