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

    /** boto3 reads SlowDown as throttling: with retries it backs off and gets its objects; without, it reports the code. */
    @Test
    void boto3BacksOffOnSlowDown() throws Exception {
        String python = ExternalTool.python("boto3", tmp);
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.origin.put(Fixture.BUCKET, "a.txt", "hello\n".getBytes(), "text/plain", null);
            f.rateLimits = new RateLimits(new RateLimits.Limit(1, 1, null, null), null, null, null);
            f.startProxy();
            Path script = tmp.resolve("slowdown.py");
            java.nio.file.Files.writeString(script, """
                    import sys, json, boto3
                    from botocore.config import Config
                    from botocore.exceptions import ClientError
                    ep, key, secret = sys.argv[1:4]
                    def client(attempts):
                        return boto3.client('s3', endpoint_url=ep, aws_access_key_id=key,
                            aws_secret_access_key=secret, region_name='us-east-1',
                            config=Config(s3={'addressing_style': 'path'},
                                          retries={'mode': 'standard', 'max_attempts': attempts}))
                    patient = client(10)
                    ok = sum(patient.get_object(Bucket='test', Key='a.txt')['Body'].read() == b'hello\\n'
                             for _ in range(4))
                    hasty = client(1)
                    codes, retry_after = [], None
                    for _ in range(3):
                        try:
                            hasty.get_object(Bucket='test', Key='a.txt')['Body'].read()
                            codes.append('ok')
                        except ClientError as e:
                            codes.append(e.response['Error']['Code'])
                            retry_after = e.response['ResponseMetadata']['HTTPHeaders'].get('retry-after')
                    print(json.dumps({'ok': ok, 'codes': codes, 'retry_after': retry_after}))
                    """);
            ExternalTool.Result r = ExternalTool.run(java.util.List.of(python, script.toString(), f.url("").toString(),
                    Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET), java.util.Map.of(), tmp);
            assertThat(r.exit()).as(r.err()).isZero();
            com.fasterxml.jackson.databind.JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(r.out());
            assertThat(j.get("ok").asInt()).as("every object arrived after boto3's backoff").isEqualTo(4);
            assertThat(j.get("codes").toString()).contains("SlowDown");
            assertThat(j.get("retry_after").asText()).isEqualTo("1");
            assertThat(OriginResilienceTest.value(f.metrics(), "kura_throttled_total", "scope=\"client\""))
                    .as("boto3 was refused and retried").isGreaterThanOrEqualTo(3);
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
