package dev.kura.s3.internal;

import dev.kura.s3.BucketConfig;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
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
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Map;

/**
 * The {@link Origin} of one bucket on the AWS SDK v2: an {@link S3Client}, which signs every request
 * with SigV4 (or sends it unsigned for anonymous credentials), over a pooled Apache HTTP client.
 *
 * <p>Why the blocking client: kura calls it from virtual threads, one per origin fetch, so a
 * blocking read of the response body is cheap and gives natural back-pressure. No response is
 * buffered whole: the body is an {@link InputStream} read in chunks. A body closed before its end
 * aborts the connection instead of draining the rest (a cut fill of a 10 GiB object must not read
 * the other 9 GiB).
 *
 * <p>Failures become {@link OriginFailure}s: the origin's own 4xx by kind, 5xx as
 * {@link OriginFailure.Kind#SERVER_ERROR}, timeouts, unreachable endpoints and broken connections.
 * No AWS SDK type leaves this class. The SDK makes one attempt per call (its STANDARD retry mode
 * with {@code maxAttempts(1)}): retries, failover to replicas and circuit breaking are
 * {@link ResilientOrigin}'s, the one layer that sees every endpoint and attempt.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class OriginClient implements Origin {

    private final BucketConfig config;
    private final S3Client s3;
    private final CredentialsProviders.Resolved credentials;

    OriginClient(BucketConfig config) {
        this.config = config;
        this.credentials = CredentialsProviders.of(config.credentials(), config.region());
        var b = S3Client.builder()
                .region(Region.of(config.region()))
                .forcePathStyle(config.pathStyle())
                .credentialsProvider(credentials.provider())
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

    @Override
    public OriginResponse get(OriginRequest rq) {
        GetObjectRequest.Builder r = traced(GetObjectRequest.builder().bucket(config.bucket()).key(rq.key()));
        if (rq.versionId() != null) {
            r.versionId(rq.versionId());
        }
        if (rq.ifNoneMatch() != null) {
            r.ifNoneMatch(rq.ifNoneMatch());
        }
        if (rq.ifMatch() != null) {
            r.ifMatch(rq.ifMatch());
        }
        if (rq.ranged()) {
            r.range("bytes=" + rq.first() + "-" + rq.last());
        }
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = s3.getObject(r.build());
        } catch (S3Exception e) {
            if (e.statusCode() == 304) {
                var h = e.awsErrorDetails() != null ? e.awsErrorDetails().sdkHttpResponse() : null;
                return new OriginResponse.NotModified(
                        h == null ? null : h.firstMatchingHeader("Cache-Control").orElse(null),
                        h == null ? null : h.firstMatchingHeader("Expires").orElse(null));
            }
            return new OriginResponse.Failed(failure(e));
        } catch (SdkException e) {
            return new OriginResponse.Failed(failure(e));
        }
        GetObjectResponse g = in.response();
        long length = g.contentLength() == null ? 0 : g.contentLength();
        long first = 0;
        long size = length;
        ContentRange cr = ContentRange.parse(g.contentRange());
        if (cr != null) {
            first = cr.first();
            size = cr.size();
        }
        OriginObject o = new OriginObject(size, g.contentType(), g.eTag(), g.lastModified(), g.cacheControl(),
                g.contentEncoding(), g.contentDisposition(), g.contentLanguage(), g.expiresString(), g.metadata());
        return new OriginResponse.Body(o, first, length, new AbortOnEarlyClose(in, length));
    }

    @Override
    public OriginResponse head(String key, @Nullable String versionId) {
        return headObject(key, versionId, null);
    }

    @Override
    public OriginResponse headPart(String key, @Nullable String versionId, int partNumber) {
        return headObject(key, versionId, partNumber);
    }

    /**
     * HeadObject, of the whole object or of one part. A part's answer carries its place in the
     * object ({@code Content-Range}) and the parts count; without a {@code Content-Range} the
     * origin answered for the whole object (see {@link Origin#headPart}): first 0, length 0.
     */
    private OriginResponse headObject(String key, @Nullable String versionId, @Nullable Integer partNumber) {
        HeadObjectResponse h;
        try {
            h = s3.headObject(traced(HeadObjectRequest.builder()).bucket(config.bucket()).key(key).versionId(versionId)
                    .partNumber(partNumber).build());
        } catch (SdkException e) {
            return new OriginResponse.Failed(failure(e));
        }
        long size = h.contentLength() == null ? 0 : h.contentLength();
        long first = 0;
        long length = 0;
        ContentRange cr = partNumber == null ? null : ContentRange.parse(h.contentRange());
        if (cr != null) {
            first = cr.first();
            length = size;
            size = cr.size();
        }
        OriginObject o = new OriginObject(size, h.contentType(), h.eTag(), h.lastModified(), h.cacheControl(),
                h.contentEncoding(), h.contentDisposition(), h.contentLanguage(), h.expiresString(), h.metadata());
        return new OriginResponse.Body(o, first, length, InputStream.nullInputStream(),
                h.partsCount() == null ? 0 : h.partsCount());
    }

    @Override
    public ListPage list(ListQuery q) throws OriginFailure.Thrown {
        try {
            if (q.v2()) {
                ListObjectsV2Response r = s3.listObjectsV2(traced(ListObjectsV2Request.builder()).bucket(config.bucket())
                        .prefix(q.prefix()).delimiter(q.delimiter()).maxKeys(q.maxKeys())
                        .continuationToken(q.marker()).startAfter(q.startAfter()).fetchOwner(q.fetchOwner()).build());
                return new ListPage(r.contents().stream().map(OriginClient::summary).toList(),
                        r.commonPrefixes().stream().map(CommonPrefix::prefix).toList(),
                        Boolean.TRUE.equals(r.isTruncated()), r.nextContinuationToken());
            }
            ListObjectsResponse r = s3.listObjects(traced(ListObjectsRequest.builder()).bucket(config.bucket())
                    .prefix(q.prefix()).delimiter(q.delimiter()).maxKeys(q.maxKeys()).marker(q.marker()).build());
            return new ListPage(r.contents().stream().map(OriginClient::summary).toList(),
                    r.commonPrefixes().stream().map(CommonPrefix::prefix).toList(),
                    Boolean.TRUE.equals(r.isTruncated()), r.nextMarker());
        } catch (SdkException e) {
            throw new OriginFailure.Thrown(failure(e));
        }
    }

    /**
     * {@code b} with the headers of the client request this origin request serves
     * ({@link OriginCall#headers()}: {@code X-Kura-Request-Id}, and {@code traceparent} when traced);
     * unchanged outside a client request. The headers are signed with the request (SigV4 signs
     * every header it is given), which S3 accepts.
     */
    private static <B extends software.amazon.awssdk.awscore.AwsRequest.Builder> B traced(B b) {
        OriginCall c = OriginCall.current();
        if (c != null) {
            Map<String, String> h = c.headers();
            b.overrideConfiguration(o -> h.forEach(o::putHeader));
        }
        return b;
    }

    private static ListPage.ObjectSummary summary(S3Object o) {
        Owner w = o.owner();
        return new ListPage.ObjectSummary(o.key(), o.lastModified(), o.eTag(), o.size() == null ? 0 : o.size(),
                o.storageClassAsString(), w == null ? null : w.id(), w == null ? null : w.displayName());
    }

    /** True when the origin answers for the bucket at all (any status below 500). */
    @Override
    public boolean reachable() {
        try {
            s3.headBucket(HeadBucketRequest.builder().bucket(config.bucket()).build());
            return true;
        } catch (S3Exception e) {
            return e.statusCode() > 0 && e.statusCode() < 500;
        } catch (SdkException e) {
            return false;
        }
    }

    /** Classifies an SDK failure or a failed body read. */
    static OriginFailure failure(Throwable e) {
        if (e instanceof S3Exception s3e && s3e.statusCode() > 0) {
            int st = s3e.statusCode();
            String code = s3e.awsErrorDetails() != null ? s3e.awsErrorDetails().errorCode() : null;
            OriginFailure.Kind kind = switch (st) {
                case 403 -> OriginFailure.Kind.ACCESS_DENIED;
                case 404 -> OriginFailure.Kind.NOT_FOUND;
                case 412 -> OriginFailure.Kind.PRECONDITION_FAILED;
                case 416 -> OriginFailure.Kind.INVALID_RANGE;
                // The origin does not implement what was asked (e.g. versions): not an outage.
                case 501 -> OriginFailure.Kind.NOT_IMPLEMENTED;
                default -> st >= 500 ? OriginFailure.Kind.SERVER_ERROR : OriginFailure.Kind.CLIENT_ERROR;
            };
            return new OriginFailure(kind, st, code, "origin answered " + st + (code != null ? " " + code : ""));
        }
        if (e instanceof AwsServiceException ase && !(e instanceof S3Exception)) {
            // Not S3 but the credentials service (STS for assume-role and web-identity) refused or
            // failed: kura's own credentials, not the object. Its status and code, never its text
            // (which names the role), go into the answer.
            String code = ase.awsErrorDetails() != null ? ase.awsErrorDetails().errorCode() : null;
            return new OriginFailure(OriginFailure.Kind.IO, 0, null, "origin credentials unavailable: "
                    + e.getClass().getSimpleName() + " " + ase.statusCode() + (code != null ? " " + code : ""));
        }
        if (e instanceof SdkClientException && e.getMessage() != null && e.getMessage().contains("credentials")) {
            return new OriginFailure(OriginFailure.Kind.IO, 0, null, "origin credentials unavailable (no provider "
                    + "could load them: see docs/OPERATIONS.md, credentials)");
        }
        if (e instanceof ApiCallTimeoutException || e instanceof ApiCallAttemptTimeoutException) {
            return new OriginFailure(OriginFailure.Kind.TIMEOUT, 0, null, "origin timed out");
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SocketTimeoutException || c instanceof InterruptedIOException
                    && c.getMessage() != null && c.getMessage().toLowerCase(java.util.Locale.ROOT).contains("timed out")) {
                if (c instanceof SocketTimeoutException && c.getMessage() != null
                        && c.getMessage().toLowerCase(java.util.Locale.ROOT).contains("connect")) {
                    return new OriginFailure(OriginFailure.Kind.UNREACHABLE, 0, null, "origin unreachable (connect timed out)");
                }
                return new OriginFailure(OriginFailure.Kind.TIMEOUT, 0, null, "origin timed out");
            }
            if (c instanceof ConnectException || c instanceof UnknownHostException
                    || c instanceof org.apache.http.conn.HttpHostConnectException) {
                return new OriginFailure(OriginFailure.Kind.UNREACHABLE, 0, null, "origin unreachable");
            }
        }
        return new OriginFailure(OriginFailure.Kind.IO, 0, null, "origin failed: " + e.getClass().getSimpleName());
    }

    /**
     * The body stream: closing it before the last byte aborts the HTTP connection (the Apache
     * client would otherwise read the rest of the body to reuse the connection).
     */
    private static final class AbortOnEarlyClose extends java.io.FilterInputStream {
        private final ResponseInputStream<?> raw;
        private long left;

        AbortOnEarlyClose(ResponseInputStream<?> raw, long length) {
            super(raw);
            this.raw = raw;
            this.left = length;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                left -= n;
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            if (left > 0) {
                raw.abort();
            }
            super.close();
        }
    }

    @Override
    public void close() {
        s3.close();
        credentials.close();
    }

    /** The longest an origin request may take to its first byte: connect plus read timeout. */
    static Duration total(BucketConfig c) {
        return c.connectTimeout().plus(c.readTimeout());
    }
}
