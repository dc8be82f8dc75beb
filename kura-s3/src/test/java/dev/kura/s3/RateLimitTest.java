package dev.kura.s3;

import dev.kura.config.DataSize;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve.rate-limits} end to end: S3Proxy origin, kura in front, real HTTP clients (the JDK's
 * and the AWS SDK for Java v2). Over a limit a client gets S3's 503 SlowDown with Retry-After; other
 * clients keep being served.
 */
class RateLimitTest {

    @TempDir
    Path tmp;

    @Test
    void aClientOverItsRequestRateGetsSlowDownWithRetryAfterOthersAreServed() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "a.txt", "hello\n".getBytes(), "text/plain", null);
            f.rateLimits = new RateLimits(new RateLimits.Limit(1, 3, null, null), null, null, null);
            f.startProxy();
            for (int i = 0; i < 3; i++) {
                assertThat(f.get("/test/a.txt").statusCode()).isEqualTo(200);
            }
            HttpResponse<byte[]> no = f.get("/test/a.txt");
            assertThat(no.statusCode()).isEqualTo(503);
            assertThat(new String(no.body(), StandardCharsets.UTF_8)).contains("<Code>SlowDown</Code>");
            assertThat(no.headers().firstValue("Retry-After")).contains("1");
            // A signed client is another client (its access key), with its own allowance.
            try (S3Client s3 = f.kuraClient()) {
                assertThat(s3.getObject(GetObjectRequest.builder().bucket(Fixture.BUCKET).key("a.txt").build(),
                        ResponseTransformer.toBytes()).asUtf8String()).isEqualTo("hello\n");
            }
            assertThat(OriginResilienceTest.value(f.metrics(), "kura_throttled_total", "bucket=\"test\"",
                    "scope=\"client\"")).isEqualTo(1);
            Thread.sleep(1_100);
            assertThat(f.get("/test/a.txt").statusCode()).as("the allowance refills").isEqualTo(200);
        }
    }

    @Test
    void aClientOverItsByteRateWaitsForItsDebtToBePaid() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            byte[] big = ProxyTest.random(300 * 1024, 9);
            f.origin.put(Fixture.BUCKET, "big.bin", big, "application/octet-stream", null);
            f.rateLimits = new RateLimits(new RateLimits.Limit(null, null, DataSize.ofBytes(100 * 1024), null),
                    null, null, null);
            f.startProxy();
            HttpResponse<byte[]> first = f.get("/test/big.bin");
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.body()).as("a response is never cut for a limit").isEqualTo(big);
            HttpResponse<byte[]> no = f.get("/test/big.bin");
            assertThat(no.statusCode()).isEqualTo(503);
            assertThat(new String(no.body(), StandardCharsets.UTF_8)).contains("<Code>SlowDown</Code>");
            // 300 KiB sent against 100 KiB of burst at 100 KiB/s: about 2 s of debt.
            assertThat(Long.parseLong(no.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 3L);
        }
    }

    @Test
    void aBucketLimitHoldsAllItsClientsTogether() throws Exception {
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "a.txt", "hello\n".getBytes(), "text/plain", null);
            f.rateLimits = new RateLimits(null, new RateLimits.Limit(1, 2, null, null), null, null);
            f.startProxy();
            assertThat(f.get("/test/a.txt").statusCode()).isEqualTo(200);
            try (S3Client s3 = f.kuraClient()) {
                s3.headObject(b -> b.bucket(Fixture.BUCKET).key("a.txt"));
            }
            HttpResponse<byte[]> no = f.get("/test/a.txt");
            assertThat(no.statusCode()).isEqualTo(503);
            assertThat(OriginResilienceTest.value(f.metrics(), "kura_throttled_total", "bucket=\"test\"",
                    "scope=\"bucket\"")).isEqualTo(1);
        }
    }
}
