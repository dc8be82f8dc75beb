package dev.kura.s3.internal.auth;

import dev.kura.s3.ClientConfig;
import dev.kura.s3.internal.api.S3ErrorCode;
import dev.kura.s3.internal.api.S3Exception;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link SigV4Verifier} against signatures made by the AWS SDK for Java v2's own SigV4 signer
 * (header and presigned), with the clock moved for skew and expiry. The end-to-end checks with
 * awscli, boto3, rclone and the SDK's S3 client are in {@code S3ClientsTest}.
 */
class SigV4VerifierTest {
    static final String KEY = "KURAUNITCLIENT0001";
    static final String SECRET = "unit-secret-0123456789";
    static final Instant T0 = Instant.parse("2026-11-30T12:00:00Z");

    static SigV4Verifier verifier(Instant now) {
        return new SigV4Verifier(List.of(new ClientConfig(KEY, SECRET, List.of("*"))), Clock.fixed(now, ZoneOffset.UTC));
    }

    /** Signs a GET of {@code uri} at {@link #T0} the way the S3 client does (no double encoding, unsigned payload). */
    static SdkHttpRequest sign(String uri, String secret, boolean presign, Map<String, String> headers) {
        SdkHttpRequest.Builder b = SdkHttpRequest.builder().method(SdkHttpMethod.GET).uri(URI.create(uri));
        headers.forEach(b::putHeader);
        SignedRequest s = AwsV4HttpSigner.create().sign(r -> {
            r.identity(AwsCredentialsIdentity.create(KEY, secret)).request(b.build())
                    .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
                    .putProperty(AwsV4HttpSigner.REGION_NAME, "eu-west-1")
                    .putProperty(AwsV4HttpSigner.DOUBLE_URL_ENCODE, false)
                    .putProperty(AwsV4HttpSigner.NORMALIZE_PATH, false)
                    .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false)
                    .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(T0, ZoneOffset.UTC));
            if (presign) {
                r.putProperty(AwsV4HttpSigner.AUTH_LOCATION, AwsV4FamilyHttpSigner.AuthLocation.QUERY_STRING)
                        .putProperty(AwsV4HttpSigner.EXPIRATION_DURATION, Duration.ofMinutes(5));
            }
        });
        return s.request();
    }

    static SigV4Verifier.SignedRequest received(SdkHttpRequest r) {
        return received(r, r.getUri().getRawPath(), r.getUri().getRawQuery());
    }

    static SigV4Verifier.SignedRequest received(SdkHttpRequest r, String rawPath, String rawQuery) {
        Map<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        h.putAll(r.headers());
        if (!h.containsKey("host")) {
            h.put("host", List.of(r.host() + (r.port() == 80 ? "" : ":" + r.port())));
        }
        return new SigV4Verifier.SignedRequest(r.method().name(), rawPath, rawQuery, h::get);
    }

    static S3ErrorCode code(SigV4Verifier v, SigV4Verifier.SignedRequest r) {
        try {
            v.verify(r);
            return null;
        } catch (S3Exception e) {
            return e.code();
        }
    }

    @Test
    void aHeaderSignatureVerifiesWithinTheSkewAndNotOutsideIt() throws Exception {
        SdkHttpRequest r = sign("http://127.0.0.1:8080/bucket/dir/a%20b%2Bc%C3%A9.txt?list-type=2&prefix=x%2Fy",
                SECRET, false, Map.of("Range", "bytes=0-9"));
        assertThat(verifier(T0).verify(received(r)).accessKeyId()).isEqualTo(KEY);
        assertThat(verifier(T0.plus(Duration.ofMinutes(14))).verify(received(r)).accessKeyId()).isEqualTo(KEY);
        assertThat(code(verifier(T0.plus(Duration.ofMinutes(16))), received(r)))
                .isEqualTo(S3ErrorCode.REQUEST_TIME_TOO_SKEWED);
        assertThat(code(verifier(T0.minus(Duration.ofMinutes(16))), received(r)))
                .isEqualTo(S3ErrorCode.REQUEST_TIME_TOO_SKEWED);
    }

    @Test
    void anythingChangedAfterSigningFails() {
        SdkHttpRequest r = sign("http://127.0.0.1:8080/bucket/key.txt?versionId=v1", SECRET, false,
                Map.of("Range", "bytes=0-9"));
        SigV4Verifier v = verifier(T0);
        assertThat(code(v, received(r, "/bucket/other.txt", "versionId=v1")))
                .isEqualTo(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH);
        assertThat(code(v, received(r, "/bucket/key.txt", "versionId=v2")))
                .isEqualTo(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH);
        SdkHttpRequest otherRange = r.toBuilder().putHeader("Range", "bytes=0-99").build();
        assertThat(code(v, received(otherRange))).isEqualTo(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH);
        assertThat(code(v, received(sign("http://127.0.0.1:8080/bucket/key.txt", "wrong-secret-0123456789",
                false, Map.of())))).isEqualTo(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH);
        SdkHttpRequest unknown = r.toBuilder().putHeader("Authorization",
                r.firstMatchingHeader("Authorization").orElseThrow().replace(KEY, "UNKNOWNKEY000000")).build();
        assertThat(code(v, received(unknown))).isEqualTo(S3ErrorCode.INVALID_ACCESS_KEY_ID);
    }

    @Test
    void presignedUrlsVerifyUntilTheyExpire() throws Exception {
        SdkHttpRequest r = sign("http://127.0.0.1:8080/bucket/dir/file%20name.bin", SECRET, true, Map.of());
        assertThat(r.getUri().getRawQuery()).contains("X-Amz-Signature=", "X-Amz-Expires=300");
        assertThat(verifier(T0.plus(Duration.ofMinutes(4))).verify(received(r)).accessKeyId()).isEqualTo(KEY);
        S3Exception expired = null;
        try {
            verifier(T0.plus(Duration.ofMinutes(6))).verify(received(r));
        } catch (S3Exception e) {
            expired = e;
        }
        assertThat(expired).isNotNull();
        assertThat(expired.code()).isEqualTo(S3ErrorCode.ACCESS_DENIED);
        assertThat(expired.getMessage()).isEqualTo("Request has expired");
        String q = r.getUri().getRawQuery().replace("X-Amz-Expires=300", "X-Amz-Expires=3000");
        assertThat(code(verifier(T0), received(r, r.getUri().getRawPath(), q)))
                .isEqualTo(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH);
        assertThat(code(verifier(T0.minus(Duration.ofMinutes(20))), received(r)))
                .isEqualTo(S3ErrorCode.REQUEST_TIME_TOO_SKEWED);
    }

    @Test
    void otherSchemesAndMalformedHeadersAreRefusedWithoutEchoingSecrets() {
        SigV4Verifier v = verifier(T0);
        Map<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        h.put("authorization", List.of("AWS " + KEY + ":c2lnbmF0dXJl"));
        assertThat(code(v, new SigV4Verifier.SignedRequest("GET", "/b/k", null, h::get)))
                .isEqualTo(S3ErrorCode.INVALID_REQUEST);
        h.put("authorization", List.of("AWS4-HMAC-SHA256 Credential=" + KEY + "/20261130/us-east-1/s3/aws4_request"));
        assertThat(code(v, new SigV4Verifier.SignedRequest("GET", "/b/k", null, h::get)))
                .isEqualTo(S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED);
        assertThatThrownBy(() -> v.verify(received(sign("http://h/b/k", "wrong-secret-0123456789", false, Map.of()))))
                .isInstanceOf(S3Exception.class).message().doesNotContain(SECRET).doesNotContain("wrong-secret");
        assertThat(code(v, new SigV4Verifier.SignedRequest("GET", "/b/k", null, name -> null))).isNull();
    }
}
