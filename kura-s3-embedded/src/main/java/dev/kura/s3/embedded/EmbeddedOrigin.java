package dev.kura.s3.embedded;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.blobstore.ForwardingBlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * A real S3-compatible server on a local directory: S3Proxy with its filesystem backend, in this
 * process, speaking S3 over HTTP and checking AWS Signature Version 4 on every request.
 *
 * <p>It is the origin of {@code kura serve}'s no-config default and of kura-s3's tests. It lives in
 * its own module so that S3Proxy (Jetty, Google and Azure storage clients...) stays off the
 * classpath of a production proxy: kura-s3 does not depend on this module, only kura-cli and
 * kura-s3's tests do.
 *
 * <p>It counts the object reads it serves ({@link #getCount()}), so tests can prove on the origin
 * side how many GETs the proxy made.
 *
 * <p>Thread-safety: safe for concurrent use; start and stop from one thread.
 */
public final class EmbeddedOrigin implements AutoCloseable {

    /** Access key the embedded origin accepts. Local use only: it guards nothing of value. */
    public static final String ACCESS_KEY = "kura-local";
    /** Secret key the embedded origin accepts. */
    public static final String SECRET_KEY = "kura-local-secret";

    /** ListObjectsV2 calls served by every embedded origin of this JVM (tests use deltas). */
    private static final AtomicLong LISTS = new AtomicLong();
    private final S3Proxy proxy;
    private final BlobStore store;
    private final AtomicLong gets;
    private final String host;

    private EmbeddedOrigin(S3Proxy proxy, BlobStore store, AtomicLong gets, String host) {
        this.proxy = proxy;
        this.store = store;
        this.gets = gets;
        this.host = host;
    }

    /**
     * Starts S3Proxy serving the buckets kept under {@code dir} (one subdirectory per bucket).
     *
     * @param dir directory of the filesystem backend; created if missing
     * @param host address to listen on, e.g. {@code 127.0.0.1}
     * @param port TCP port, 0 for any free one
     * @throws Exception when the directory cannot be made or Jetty cannot bind
     */
    public static EmbeddedOrigin start(Path dir, String host, int port) throws Exception {
        return start(dir, host, port, false);
    }

    /**
     * Like {@link #start(Path, String, int)}; with {@code anonymous} it takes unsigned requests
     * (for benchmarks, so that nginx can use it as an origin too).
     */
    public static EmbeddedOrigin start(Path dir, String host, int port, boolean anonymous) throws Exception {
        Files.createDirectories(dir);
        AtomicLong gets = new AtomicLong();
        BlobStore fs = new FilesystemNio2BlobStore(dir.toAbsolutePath().toString());
        BlobStore counting = new ForwardingBlobStore(fs) {
            @Override
            public ResponseInputStream<GetObjectResponse> getBlob(GetObjectRequest request) {
                gets.incrementAndGet();
                return super.getBlob(request);
            }

            @Override
            public ListObjectsV2Response list(ListObjectsV2Request request) {
                LISTS.incrementAndGet();
                return super.list(request);
            }
        };
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(counting)
                .endpoint(URI.create("http://" + host + ":" + port))
                .awsAuthentication(anonymous ? AuthenticationType.NONE : AuthenticationType.AWS_V2_OR_V4,
                        ACCESS_KEY, SECRET_KEY)
                .ignoreUnknownHeaders(true)
                .build();
        proxy.start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) {
                proxy.stop();
                throw new IOException("S3Proxy did not start within 10 s: " + proxy.getState());
            }
            Thread.sleep(5);
        }
        return new EmbeddedOrigin(proxy, counting, gets, host);
    }

    /** ListObjectsV2 requests served so far by the embedded origins of this JVM (compare deltas). */
    public static long listCount() {
        return LISTS.get();
    }

    /** The endpoint URL, e.g. {@code http://127.0.0.1:41234}. */
    public URI endpoint() {
        return URI.create("http://" + host + ":" + proxy.getPort());
    }

    /** TCP port it listens on. */
    public int port() {
        return proxy.getPort();
    }

    /** Object GETs (whole or ranged, conditional included) served since start. */
    public long getCount() {
        return gets.get();
    }

    /** True when {@code bucket} exists. */
    public boolean bucketExists(String bucket) {
        return store.containerExists(bucket);
    }

    /** Creates {@code bucket} unless it exists. */
    public void createBucket(String bucket) {
        if (!store.containerExists(bucket)) {
            store.createContainer(bucket);
        }
    }

    /**
     * Stores an object.
     *
     * @param contentType its {@code Content-Type}, or null
     * @param cacheControl its {@code Cache-Control}, or null
     */
    public void put(String bucket, String key, byte[] bytes, @Nullable String contentType, @Nullable String cacheControl) {
        put(bucket, key, new java.io.ByteArrayInputStream(bytes), bytes.length, contentType, cacheControl);
    }

    /**
     * Stores an object with S3 user metadata ({@code x-amz-meta-<name>}), written straight into the
     * store, so values a client could not send over HTTP (control characters) can be stored too.
     */
    public void putWithMetadata(String bucket, String key, byte[] bytes, String contentType,
                                java.util.Map<String, String> userMetadata) {
        PutObjectRequest.Builder b = PutObjectRequest.builder().bucket(bucket).key(key).contentLength((long) bytes.length)
                .metadata(userMetadata);
        if (contentType != null) {
            b.contentType(contentType);
        }
        store.putBlob(b.build(), new java.io.ByteArrayInputStream(bytes));
    }

    /** Stores an object of {@code length} bytes read from {@code in} (streamed, not buffered). */
    public void put(String bucket, String key, InputStream in, long length, @Nullable String contentType,
                    @Nullable String cacheControl) {
        PutObjectRequest.Builder b = PutObjectRequest.builder().bucket(bucket).key(key).contentLength(length);
        if (contentType != null) {
            b.contentType(contentType);
        }
        if (cacheControl != null) {
            b.cacheControl(cacheControl);
        }
        store.putBlob(b.build(), in);
    }

    /** Removes an object; no error when it is absent. */
    public void delete(String bucket, String key) {
        store.removeBlob(bucket, key);
    }

    /**
     * Stops the server; idempotent.
     *
     * @throws IllegalStateException when Jetty fails to stop
     */
    @Override
    public void close() {
        if (!"STOPPED".equals(proxy.getState())) {
            try {
                proxy.stop();
            } catch (Exception e) {
                throw new IllegalStateException("S3Proxy did not stop cleanly", e);
            }
        }
    }
}
