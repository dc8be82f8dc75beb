package dev.kura.s3.internal;

import dev.kura.s3.BucketConfig;
import dev.kura.s3.OriginCredentials;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadBucketRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * The origin of one bucket: an AWS SDK v2 {@link S3Client}, which signs every request with SigV4
 * (or sends it unsigned for anonymous credentials), over a pooled Apache HTTP client.
 *
 * <p>Why the blocking client: kura calls it from virtual threads, one per origin fetch, so a
 * blocking read of the response body is cheap and gives natural back-pressure (the next chunk is
 * read only after the previous one went to the client and the cache). No response is buffered
 * whole: the body is an {@link java.io.InputStream} read in chunks.
 *
 * <p>Errors become {@link OriginException} with the status kura answers: the origin's own 4xx
 * (403, 404...), 304 for a successful revalidation, 502 for an unreachable origin or an origin
 * 5xx, 504 for a timeout. The SDK does not retry: a retry would only delay the 502/504.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class OriginClient implements AutoCloseable {

    /** A failed origin call, as the status kura should answer with. */
    static final class OriginException extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final String kind;

        OriginException(int status, String kind, String message, Throwable cause) {
            super(message, cause, false, false);
            this.status = status;
            this.kind = kind;
        }

        /** True when the origin could not be used at all (502/504): stale-if-error applies. */
        boolean originDown() {
            return status >= 500;
        }
    }

    private final BucketConfig config;
    private final S3Client s3;

    OriginClient(BucketConfig config) {
        this.config = config;
        var b = S3Client.builder()
                .region(Region.of(config.region()))
                .forcePathStyle(config.pathStyle())
                .credentialsProvider(credentials(config.credentials()))
                // Validating a checksum of the whole object would hold the body until its end.
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClientBuilder(ApacheHttpClient.builder()
                        .connectionTimeout(config.connectTimeout())
                        .socketTimeout(config.readTimeout())
                        .maxConnections(config.maxConnections())
                        .connectionAcquisitionTimeout(config.connectTimeout().plus(config.readTimeout())))
                .overrideConfiguration(o -> o.retryStrategy(RetryMode.STANDARD)
                        .retryStrategy(r -> r.maxAttempts(1)));
        if (config.endpoint() != null) {
            b.endpointOverride(config.endpoint());
        }
        this.s3 = b.build();
    }

    private static AwsCredentialsProvider credentials(OriginCredentials c) {
        return switch (c.kind()) {
            case ANONYMOUS -> AnonymousCredentialsProvider.create();
            case DEFAULT -> DefaultCredentialsProvider.builder().build();
            case STATIC -> StaticCredentialsProvider.create(c.sessionToken() == null
                    ? AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())
                    : AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken()));
        };
    }

    BucketConfig config() {
        return config;
    }

    /**
     * GETs the whole object; with {@code ifNoneMatch} (a cached ETag) it is a revalidation, and a
     * 304 comes back as an {@link OriginException} with status 304.
     *
     * @return the response; the caller reads and closes its stream
     */
    ResponseInputStream<GetObjectResponse> get(String key, String ifNoneMatch) throws OriginException {
        GetObjectRequest.Builder r = GetObjectRequest.builder().bucket(config.bucket()).key(key);
        if (ifNoneMatch != null) {
            r.ifNoneMatch(ifNoneMatch);
        }
        try {
            return s3.getObject(r.build());
        } catch (SdkException e) {
            throw map(e);
        }
    }

    /** HEADs the object. */
    HeadObjectResponse head(String key) throws OriginException {
        try {
            return s3.headObject(HeadObjectRequest.builder().bucket(config.bucket()).key(key).build());
        } catch (SdkException e) {
            throw map(e);
        }
    }

    /** True when the origin answers for the bucket at all (any status below 500). */
    boolean reachable() {
        try {
            s3.headBucket(HeadBucketRequest.builder().bucket(config.bucket()).build());
            return true;
        } catch (S3Exception e) {
            return e.statusCode() > 0 && e.statusCode() < 500;
        } catch (SdkException e) {
            return false;
        }
    }

    /** Maps an SDK failure to the status kura answers with. */
    static OriginException map(Throwable e) {
        if (e instanceof S3Exception s3e && s3e.statusCode() > 0) {
            int st = s3e.statusCode();
            String code = s3e.awsErrorDetails() != null ? s3e.awsErrorDetails().errorCode() : null;
            if (st == 304) {
                return new OriginException(304, "not_modified", "not modified", e);
            }
            if (st >= 500) {
                return new OriginException(502, "origin_" + st, "origin answered " + st
                        + (code != null ? " " + code : ""), e);
            }
            return new OriginException(st, "origin_" + st, code != null ? code : "origin answered " + st, e);
        }
        if (e instanceof ApiCallTimeoutException || e instanceof ApiCallAttemptTimeoutException) {
            return new OriginException(504, "timeout", "origin timed out", e);
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SocketTimeoutException || c instanceof InterruptedIOException
                    && c.getMessage() != null && c.getMessage().toLowerCase().contains("timed out")) {
                if (c instanceof java.net.SocketTimeoutException && c.getMessage() != null
                        && c.getMessage().toLowerCase().contains("connect")) {
                    return new OriginException(502, "unreachable", "origin unreachable (connect timed out)", e);
                }
                return new OriginException(504, "timeout", "origin timed out", e);
            }
            if (c instanceof ConnectException || c instanceof UnknownHostException
                    || c instanceof org.apache.http.conn.HttpHostConnectException) {
                return new OriginException(502, "unreachable", "origin unreachable", e);
            }
        }
        if (e instanceof IOException || e instanceof SdkException) {
            return new OriginException(502, "origin_io", "origin failed: " + e.getClass().getSimpleName(), e);
        }
        return new OriginException(502, "origin_other", "origin failed: " + e, e);
    }

    @Override
    public void close() {
        s3.close();
    }

    static Duration total(BucketConfig c) {
        return c.connectTimeout().plus(c.readTimeout());
    }
}
