package dev.kura.cli;

import dev.kura.s3.BucketConfig;
import dev.kura.s3.CachedBucket;
import dev.kura.s3.CachedObject;
import dev.kura.s3.OriginCredentials;
import dev.kura.tftp.TftpConfig;
import dev.kura.tftp.TftpSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * {@code tftp.source}: kura-tftp's {@link TftpSource} over kura-s3's {@link CachedBucket}. The
 * wiring lives here, in the one module that sees both, so that kura-tftp does not depend on the
 * AWS SDK and kura-s3 does not depend on kura-tftp.
 *
 * <p>Thread-safety: safe for concurrent use, as {@link CachedBucket}.
 */
final class BucketTftpSource implements TftpSource {

    private final CachedBucket bucket;
    private final String label;

    BucketTftpSource(CachedBucket bucket, String label) {
        this.bucket = bucket;
        this.label = label;
    }

    /**
     * The {@code serve.buckets[]} entry {@code tftp.source} stands for (the keys are the same, but
     * {@code prefix}, which has no meaning for TFTP).
     *
     * @throws IllegalArgumentException naming the key of a nonsense value
     */
    static BucketConfig bucketConfig(TftpConfig.Source s) {
        TftpConfig.Credentials c = s.credentials();
        OriginCredentials creds = c == null ? null
                : new OriginCredentials(c.type(), c.accessKeyId(), c.secretAccessKey(), c.sessionToken());
        try {
            // access stays the default: it concerns kura serve's S3 clients, TFTP has none
            return BucketConfig.builder().prefix("/").bucket(s.bucket()).name(s.name()).endpoint(s.endpoint())
                    .region(s.region()).pathStyle(s.pathStyle()).credentials(creds).defaultTtl(s.defaultTtl())
                    .staleIfError(s.staleIfError()).connectTimeout(s.connectTimeout()).readTimeout(s.readTimeout())
                    .maxConnections(s.maxConnections()).build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tftp.source: " + e.getMessage(), e);
        }
    }

    @Override
    public OpenObject open(String key) throws IOException {
        return new Entry(bucket.open(key));
    }

    @Override
    public String toString() {
        return label;
    }

    /** An object of the bucket (committed, or a fill still growing), read by position. */
    private record Entry(CachedObject entry) implements OpenObject {

        @Override
        public long size() {
            return entry.metadata().size();
        }

        @Override
        public CompletableFuture<Integer> read(ByteBuffer dst, long position) {
            return readFully(dst, position, 0);
        }

        /**
         * The cache may copy less than asked per call (and a growing fill only what has arrived):
         * read on until dst is full or the object ends.
         */
        private CompletableFuture<Integer> readFully(ByteBuffer dst, long position, int done) {
            if (!dst.hasRemaining() || position >= size()) {
                return CompletableFuture.completedFuture(done);
            }
            return entry.readAsync(position, dst).thenCompose(n -> n <= 0
                    ? CompletableFuture.completedFuture(done)
                    : readFully(dst, position + n, done + n));
        }

        @Override
        public void close() {
            entry.close();
        }
    }
}
