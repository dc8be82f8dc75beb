package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;

/**
 * The origin of one bucket, as the proxy sees it: GET (whole or ranged, optionally conditional) and
 * HEAD of an object, and a reachability check.
 *
 * <p>Why an interface: the proxy's decisions (single flight, revalidation, stale-if-error, slices)
 * are tested against {@code FakeOrigin}, an in-memory origin with fault injection, without sockets
 * or the AWS SDK (OkHttp's MockWebServer plays this role for OkHttp). The real implementation is
 * {@link OriginClient} (AWS SDK v2); the end-to-end suite tests it against S3Proxy.
 *
 * <p>Every method blocks: callers run it on a virtual thread, never on an event loop. Failures are
 * results ({@link OriginResponse.Failed}), not exceptions, so that a 304 or a 412 is an ordinary
 * outcome the caller switches on.
 *
 * <p>Thread-safety: implementations are safe for concurrent use.
 */
interface Origin extends AutoCloseable {

    /**
     * GETs an object or a byte range of it.
     *
     * @return {@link OriginResponse.Body} (the caller reads and closes its stream),
     *     {@link OriginResponse.NotModified} when {@code request.ifNoneMatch()} matched, or
     *     {@link OriginResponse.Failed}; never null
     */
    OriginResponse get(OriginRequest request);

    /**
     * HEADs an object.
     *
     * @return {@link OriginResponse.Body} with an empty stream, or {@link OriginResponse.Failed}
     */
    OriginResponse head(String key, @Nullable String versionId);

    /**
     * HEADs one part of an object: HeadObject with {@code partNumber} (S3 API reference,
     * HeadObject: "Effectively performs a 'ranged' HEAD request for the part specified"). S3
     * answers 206 with {@code Content-Range: bytes first-last/size} of the part and, for an object
     * uploaded in parts, {@code x-amz-mp-parts-count}; a part past the count fails with 416
     * InvalidPartNumber. An origin that ignores {@code partNumber} answers as to a plain HEAD.
     *
     * @param partNumber 1 to 10000
     * @return {@link OriginResponse.Body} with an empty stream whose {@code first} and {@code length}
     *     are the part's (or 0 and 0 when the origin sent no Content-Range: then the caller cannot
     *     tell a part from the whole object and decides by the ETag) and whose
     *     {@code partsCount} is the origin's {@code x-amz-mp-parts-count} (0 when absent); or
     *     {@link OriginResponse.Failed}
     */
    OriginResponse headPart(String key, @Nullable String versionId, int partNumber);

    /**
     * Lists one page of the bucket: ListObjectsV2 or ListObjects (v1) as {@code q} asks, forwarded as
     * they are (the continuation token or marker is the origin's own).
     *
     * @throws OriginFailure.Thrown when the origin fails
     */
    dev.kura.s3.internal.api.ListPage list(dev.kura.s3.internal.api.ListQuery q) throws OriginFailure.Thrown;

    /** True when the origin answers for the bucket at all (any status below 500). */
    boolean reachable();

    @Override
    void close();
}
