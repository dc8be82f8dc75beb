package dev.kura.s3.internal;

import dev.kura.s3.BucketConfig;
import dev.kura.s3.OriginCredentials;
import dev.kura.s3.internal.api.S3ErrorCode;
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
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.ListObjectsRequest;
import software.amazon.awssdk.services.s3.model.ListObjectsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.Owner;
import software.amazon.awssdk.services.s3.model.S3Object;
import dev.kura.s3.internal.api.ListPage;
import dev.kura.s3.internal.api.ListQuery;

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
 * <p>Errors become {@link OriginException} with the S3 error kura answers: the origin's own 4xx
 * and its code (NoSuchKey, AccessDenied...), 304 for a successful revalidation, and 503
 * ServiceUnavailable for an unreachable origin, an origin 5xx or a timeout (the status S3 itself
 * uses when it cannot serve, and one every S3 client retries). The SDK does not retry: a retry
 * would only delay the 503.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class OriginClient implements AutoCloseable {

    /** A failed origin call, as the status kura should answer with. */
    static final class OriginException extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final String kind;
        /** The S3 error kura answers with (the origin's own code for its 4xx). */
        final transient S3ErrorCode code;

        OriginException(int status, String kind, String message, Throwable cause) {
            this(status, S3ErrorCode.forStatus(status), kind, message, cause);
        }

        OriginException(int status, S3ErrorCode code, String kind, String message, Throwable cause) {
            super(message, cause, false, false);
            this.status = status;
            this.code = code;
            this.kind = kind;
        }

        /** True when the origin could not be used at all (503): stale-if-error applies. */
        boolean originDown() {
            return status >= 500 && status != 501;
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

    /**
     * GETs one version of the object ({@code versionId} null for the current one); otherwise as
     * {@link #get(String, String)}.
     */
    ResponseInputStream<GetObjectResponse> get(String key, String ifNoneMatch, String versionId) throws OriginException {
        GetObjectRequest.Builder r = GetObjectRequest.builder().bucket(config.bucket()).key(key).versionId(versionId);
        if (ifNoneMatch != null) {
            r.ifNoneMatch(ifNoneMatch);
        }
        try {
            return s3.getObject(r.build());
        } catch (SdkException e) {
            throw map(e);
        }
    }

    /**
     * Lists one page of the bucket: ListObjectsV2 or ListObjects (v1) as {@code q} asks, forwarded
     * as they are (the continuation token or marker is the origin's own).
     */
    ListPage list(ListQuery q) throws OriginException {
        try {
            if (q.v2()) {
                ListObjectsV2Response r = s3.listObjectsV2(ListObjectsV2Request.builder().bucket(config.bucket())
                        .prefix(q.prefix()).delimiter(q.delimiter()).maxKeys(q.maxKeys())
                        .continuationToken(q.marker()).startAfter(q.startAfter()).fetchOwner(q.fetchOwner()).build());
                return new ListPage(r.contents().stream().map(OriginClient::summary).toList(),
                        r.commonPrefixes().stream().map(CommonPrefix::prefix).toList(),
                        Boolean.TRUE.equals(r.isTruncated()), r.nextContinuationToken());
            }
            ListObjectsResponse r = s3.listObjects(ListObjectsRequest.builder().bucket(config.bucket())
                    .prefix(q.prefix()).delimiter(q.delimiter()).maxKeys(q.maxKeys()).marker(q.marker()).build());
            return new ListPage(r.contents().stream().map(OriginClient::summary).toList(),
                    r.commonPrefixes().stream().map(CommonPrefix::prefix).toList(),
                    Boolean.TRUE.equals(r.isTruncated()), r.nextMarker());
        } catch (SdkException e) {
            throw map(e);
        }
    }

    private static ListPage.ObjectSummary summary(S3Object o) {
        Owner w = o.owner();
        return new ListPage.ObjectSummary(o.key(), o.lastModified(), o.eTag(), o.size() == null ? 0 : o.size(),
                o.storageClassAsString(), w == null ? null : w.id(), w == null ? null : w.displayName());
    }

    /** HEADs the object. */
    HeadObjectResponse head(String key) throws OriginException {
        return head(key, null);
    }

    /** HEADs one version of the object ({@code versionId} null for the current one). */
    HeadObjectResponse head(String key, String versionId) throws OriginException {
        try {
            return s3.headObject(HeadObjectRequest.builder().bucket(config.bucket()).key(key).versionId(versionId).build());
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
            if (st == 501) {
                // The origin does not implement what was asked (e.g. versions): not an outage.
                return new OriginException(501, S3ErrorCode.NOT_IMPLEMENTED, "origin_501",
                        "the origin does not implement this request" + (code != null ? " (" + code + ")" : ""), e);
            }
            if (st >= 500) {
                return new OriginException(503, "origin_" + st, "origin answered " + st
                        + (code != null ? " " + code : ""), e);
            }
            S3ErrorCode c = S3ErrorCode.byName(code);
            return new OriginException(st, c != null ? c : S3ErrorCode.forStatus(st), "origin_" + st,
                    code != null ? "origin answered " + code : "origin answered " + st, e);
        }
        if (e instanceof ApiCallTimeoutException || e instanceof ApiCallAttemptTimeoutException) {
            return new OriginException(503, "timeout", "origin timed out", e);
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SocketTimeoutException || c instanceof InterruptedIOException
                    && c.getMessage() != null && c.getMessage().toLowerCase().contains("timed out")) {
                if (c instanceof java.net.SocketTimeoutException && c.getMessage() != null
                        && c.getMessage().toLowerCase().contains("connect")) {
                    return new OriginException(503, "unreachable", "origin unreachable (connect timed out)", e);
                }
                return new OriginException(503, "timeout", "origin timed out", e);
            }
            if (c instanceof ConnectException || c instanceof UnknownHostException
                    || c instanceof org.apache.http.conn.HttpHostConnectException) {
                return new OriginException(503, "unreachable", "origin unreachable", e);
            }
        }
        if (e instanceof IOException || e instanceof SdkException) {
            return new OriginException(503, "origin_io", "origin failed: " + e.getClass().getSimpleName(), e);
        }
        return new OriginException(503, "origin_other", "origin failed: " + e, e);
    }

    @Override
    public void close() {
        s3.close();
    }

    static Duration total(BucketConfig c) {
        return c.connectTimeout().plus(c.readTimeout());
    }
}
