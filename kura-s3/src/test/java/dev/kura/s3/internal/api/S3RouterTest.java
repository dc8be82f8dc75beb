package dev.kura.s3.internal.api;

import dev.kura.s3.BucketConfig;
import dev.kura.s3.OriginCredentials;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link S3Router}: the three addressing styles, their precedence, and the refusals. */
class S3RouterTest {
    static BucketConfig bucket(String prefix, String bucket, String name) {
        return BucketConfig.builder().prefix(prefix).bucket(bucket).name(name).pathStyle(true)
                .credentials(OriginCredentials.anonymous()).build();
    }

    final S3Router router = new S3Router(List.of(bucket("/data", "origin-a", "alpha"), bucket(null, "beta", null),
            bucket("/", "catch-all", "gamma")), "s3.example.com");

    S3Request route(String method, String uri, String host) throws S3Exception {
        return router.route(method, uri, host);
    }

    S3ErrorCode refusal(String method, String uri, String host) {
        try {
            router.route(method, uri, host);
            return null;
        } catch (S3Exception e) {
            return e.code();
        }
    }

    @Test
    void pathStyleVirtualHostAndPrefix() throws Exception {
        S3Request p = route("GET", "/alpha/dir/k%20ey.txt", "127.0.0.1:8080");
        assertThat(p.operation()).isEqualTo(S3Operation.GET_OBJECT);
        assertThat(p.bucket().name()).isEqualTo("alpha");
        assertThat(p.key()).isEqualTo("dir/k ey.txt");
        S3Request v = route("HEAD", "/dir/k.txt", "Alpha.S3.Example.com:8080");
        assertThat(v.operation()).isEqualTo(S3Operation.HEAD_OBJECT);
        assertThat(v.bucket().name()).isEqualTo("alpha");
        assertThat(v.key()).isEqualTo("dir/k.txt");
        S3Request prefix = route("GET", "/data/dir/k.txt", null);
        assertThat(prefix.bucket().name()).isEqualTo("alpha");
        assertThat(prefix.key()).isEqualTo("dir/k.txt");
        // Default prefix is /<name>; the catch-all prefix takes what no name or prefix matched.
        assertThat(route("GET", "/beta/x", null).bucket().name()).isEqualTo("beta");
        S3Request rest = route("GET", "/elsewhere/x", null);
        assertThat(rest.bucket().name()).isEqualTo("gamma");
        assertThat(rest.key()).isEqualTo("elsewhere/x");
        assertThat(route("GET", "/", "127.0.0.1").operation()).isEqualTo(S3Operation.LIST_BUCKETS);
    }

    @Test
    void bucketOperations() throws Exception {
        assertThat(route("GET", "/alpha", null).operation()).isEqualTo(S3Operation.LIST_OBJECTS);
        assertThat(route("GET", "/alpha/?list-type=2&prefix=a", null).operation()).isEqualTo(S3Operation.LIST_OBJECTS_V2);
        assertThat(route("GET", "/alpha?location", null).operation()).isEqualTo(S3Operation.GET_BUCKET_LOCATION);
        assertThat(route("HEAD", "/alpha", null).operation()).isEqualTo(S3Operation.HEAD_BUCKET);
        assertThat(route("GET", "/?list-type=2", "beta.s3.example.com").operation())
                .isEqualTo(S3Operation.LIST_OBJECTS_V2);
        // A prefix is not a bucket: no listing through it.
        assertThat(refusal("GET", "/data/", null)).isEqualTo(S3ErrorCode.NO_SUCH_KEY);
    }

    @Test
    void partNumberIsRoutedAsGetOrHeadObject() throws S3Exception {
        S3Request get = route("GET", "/alpha/k?partNumber=1", null);
        assertThat(get.operation()).isEqualTo(S3Operation.GET_OBJECT);
        assertThat(get.param("partNumber")).isEqualTo("1");
        assertThat(route("HEAD", "/alpha/k?partNumber=10000", null).operation()).isEqualTo(S3Operation.HEAD_OBJECT);
        assertThat(S3Router.partNumber("1")).isEqualTo(1);
        assertThat(S3Router.partNumber("10000")).isEqualTo(10_000);
        assertThat(S3Router.partNumber("007")).isEqualTo(7);
        assertThat(S3Router.partNumber("0")).isEqualTo(-1);
        assertThat(S3Router.partNumber("10001")).isEqualTo(-1);
        assertThat(S3Router.partNumber(null)).isEqualTo(-1);
    }

    @Test
    void refusals() {
        assertThat(refusal("PUT", "/alpha/k", null)).isEqualTo(S3ErrorCode.ACCESS_DENIED);
        assertThat(refusal("DELETE", "/alpha", null)).isEqualTo(S3ErrorCode.ACCESS_DENIED);
        assertThat(refusal("POST", "/alpha/k?uploads", null)).isEqualTo(S3ErrorCode.ACCESS_DENIED);
        assertThat(refusal("PATCH", "/alpha/k", null)).isEqualTo(S3ErrorCode.METHOD_NOT_ALLOWED);
        assertThat(refusal("GET", "/alpha/k?acl", null)).isEqualTo(S3ErrorCode.ACCESS_DENIED);
        assertThat(refusal("GET", "/alpha/k?tagging", null)).isEqualTo(S3ErrorCode.ACCESS_DENIED);
        assertThat(refusal("GET", "/alpha?versions", null)).isEqualTo(S3ErrorCode.ACCESS_DENIED);
        // partNumber: 1..10000 in plain digits, else InvalidArgument (as S3 answers).
        for (String bad : List.of("0", "abc", "10001", "-1", "", "+1", " 1", "1.0", "99999999999")) {
            assertThat(refusal("GET", "/alpha/k?partNumber=" + bad.replace(" ", "%20"), null)).as(bad)
                    .isEqualTo(S3ErrorCode.INVALID_ARGUMENT);
            assertThat(refusal("HEAD", "/alpha/k?partNumber=" + bad.replace(" ", "%20"), null)).as(bad)
                    .isEqualTo(S3ErrorCode.INVALID_ARGUMENT);
        }
        assertThat(refusal("GET", "/alpha?list-type=3", null)).isEqualTo(S3ErrorCode.INVALID_ARGUMENT);
        assertThat(refusal("GET", "/x", "nope.s3.example.com")).isEqualTo(S3ErrorCode.NO_SUCH_BUCKET);
        assertThat(refusal("GET", "/alpha/../beta/k", null)).isEqualTo(S3ErrorCode.INVALID_URI);
        assertThat(refusal("GET", "/alpha/" + "k".repeat(1025), null)).isEqualTo(S3ErrorCode.KEY_TOO_LONG);
    }
}
