package dev.kura.s3;

import org.jspecify.annotations.Nullable;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * One entry of {@code serve.buckets}: an S3 bucket kura serves under the S3 bucket name
 * {@code name} (path-style {@code /name/key} or virtual-hosted {@code name.<serve.base-domain>}),
 * and under the URL path {@code prefix} for plain HTTP clients (object key = the rest of the path).
 *
 * @param prefix URL path prefix for plain HTTP clients, e.g. {@code /data}; {@code /} takes every
 *     path. Longest prefix wins; an S3 bucket name in the first path segment wins over a prefix.
 *     Trailing slashes are dropped. Default {@code /<name>}, the same as path-style
 * @param bucket the S3 bucket name
 * @param name the S3 bucket name clients use (path-style and virtual-hosted), also the name in
 *     metrics, cache keys and the admin API; at most 63 letters, digits, {@code . - _} (lower case
 *     for virtual-hosted addressing, which compares host names in lower case); default: {@code bucket}
 * @param endpoint origin URL for S3-compatible servers (MinIO, Ceph, S3Proxy...), e.g.
 *     {@code http://minio:9000}; null for AWS's own endpoint of {@code region}
 * @param region SigV4 signing region, e.g. {@code eu-west-1}; default {@code us-east-1}
 * @param pathStyle path-style addressing ({@code endpoint/bucket/key}) instead of virtual hosts;
 *     most S3-compatible servers need true
 * @param credentials how requests to the origin are signed; default: the AWS default chain
 * @param defaultTtl freshness lifetime when the origin sends no {@code max-age} or
 *     {@code s-maxage}; default 1 h
 * @param staleIfError how long after expiry a stale entry may still be served when the origin is
 *     down or answers 5xx; 0 turns it off; default 1 d (RFC 5861 section 4)
 * @param connectTimeout TCP connect timeout to the origin; unreachable gives 503 ServiceUnavailable; default 5 s
 * @param readTimeout socket read timeout to the origin; a stall longer than this gives 503 ServiceUnavailable;
 *     default 30 s
 * @param maxConnections pooled connections to the origin; default 128
 * @param access who may read the bucket: {@code public} (anyone who reaches the port, no
 *     signature needed) or {@code private} (only {@code serve.clients} granted it). Default:
 *     {@code public} for {@code anonymous} origin credentials (the origin bucket is public
 *     anyway), {@code private} otherwise, because kura reads with its own credentials and must
 *     not hand what they can read to anyone who reaches the port unless the config says so
 * @param replicas further origin endpoints holding the same bucket, in priority order
 *     ({@code replicas}): a request goes to the first endpoint ({@code endpoint}, then these) whose
 *     circuit breaker is not open, and a retry goes to the next one; same credentials, region and
 *     addressing as {@code endpoint}; default none
 * @param resilience retries, circuit breakers and hedging of this bucket's origin requests
 *     ({@code resilience}); defaults in {@link OriginResilience}
 *
 * <p>Thread-safety: immutable.
 */
public record BucketConfig(String prefix, String bucket, String name, @Nullable URI endpoint, String region,
                           boolean pathStyle, OriginCredentials credentials, Duration defaultTtl,
                           Duration staleIfError, Duration connectTimeout, Duration readTimeout,
                           int maxConnections, Access access, List<URI> replicas,
                           OriginResilience resilience) {

    /** Who may read a bucket (see {@link #access()}). */
    public enum Access { PUBLIC, PRIVATE }

    /** @throws IllegalArgumentException naming the key of a missing or nonsense value */
    public BucketConfig {
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("bucket must be set");
        }
        if (name == null || name.isBlank()) {
            name = bucket;
        }
        if (prefix == null || prefix.isEmpty()) {
            prefix = "/" + name;
        }
        if (!prefix.startsWith("/")) {
            throw new IllegalArgumentException("prefix must start with '/', was '" + prefix + "'");
        }
        if (prefix.contains("..") || prefix.contains("%") || prefix.contains("?") || prefix.contains("//")) {
            throw new IllegalArgumentException("prefix must be a plain path, was '" + prefix + "'");
        }
        while (prefix.length() > 1 && prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        if (!bucket.matches("[a-z0-9][a-z0-9.\\-_]{1,253}")) {
            throw new IllegalArgumentException("bucket: '" + bucket + "' is not an S3 bucket name");
        }
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9.\\-_]{0,62}")) {
            throw new IllegalArgumentException("name: '" + name + "' may hold only letters, digits, '.', '-', '_' "
                    + "(at most 63; clients address the bucket by it)");
        }
        if (endpoint != null) {
            String s = endpoint.getScheme();
            if (s == null || !(s.equals("http") || s.equals("https")) || endpoint.getHost() == null) {
                throw new IllegalArgumentException("endpoint must be an http:// or https:// URL, was '" + endpoint + "'");
            }
        }
        if (region == null || region.isBlank()) {
            region = "us-east-1";
        }
        if (credentials == null) {
            credentials = new OriginCredentials("default", null, null, null);
        }
        if (defaultTtl == null) {
            defaultTtl = Duration.ofHours(1);
        }
        if (defaultTtl.isNegative()) {
            throw new IllegalArgumentException("default-ttl must be >= 0, was " + defaultTtl);
        }
        if (staleIfError == null) {
            staleIfError = Duration.ofDays(1);
        }
        if (staleIfError.isNegative()) {
            throw new IllegalArgumentException("stale-if-error must be >= 0, was " + staleIfError);
        }
        if (connectTimeout == null) {
            connectTimeout = Duration.ofSeconds(5);
        }
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("connect-timeout must be > 0, was " + connectTimeout);
        }
        if (readTimeout == null) {
            readTimeout = Duration.ofSeconds(30);
        }
        if (readTimeout.isNegative() || readTimeout.isZero()) {
            throw new IllegalArgumentException("read-timeout must be > 0, was " + readTimeout);
        }
        if (maxConnections == 0) {
            maxConnections = 128;
        }
        if (maxConnections < 1 || maxConnections > 10_000) {
            throw new IllegalArgumentException("max-connections must be 1..10000, was " + maxConnections);
        }
        if (access == null) {
            access = credentials.kind() == OriginCredentials.Kind.ANONYMOUS ? Access.PUBLIC : Access.PRIVATE;
        }
        replicas = replicas == null ? List.of() : replicas;
        for (int i = 0; i < replicas.size(); i++) {
            URI r = replicas.get(i);
            String s = r == null ? null : r.getScheme();
            if (s == null || !(s.equals("http") || s.equals("https")) || r.getHost() == null) {
                throw new IllegalArgumentException("replicas[" + i + "] must be an http:// or https:// URL, was '"
                        + r + "'");
            }
        }
        replicas = List.copyOf(replicas);
        if (resilience == null) {
            resilience = OriginResilience.defaults();
        }
    }

    /** A builder with every key unset (each takes its documented default at {@link Builder#build()}). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this mapping's values, to make a copy that differs in a few keys. */
    public Builder toBuilder() {
        return new Builder().prefix(prefix).bucket(bucket).name(name).endpoint(endpoint).region(region)
                .pathStyle(pathStyle).credentials(credentials).defaultTtl(defaultTtl).staleIfError(staleIfError)
                .connectTimeout(connectTimeout).readTimeout(readTimeout).maxConnections(maxConnections).access(access)
                .replicas(replicas).resilience(resilience);
    }

    /**
     * The origin endpoints in priority order: {@link #endpoint()} (null for AWS's endpoint of the
     * region), then {@link #replicas()}.
     */
    public List<@Nullable URI> endpoints() {
        List<@Nullable URI> all = new java.util.ArrayList<>();
        all.add(endpoint);
        all.addAll(replicas);
        return java.util.Collections.unmodifiableList(all);
    }

    /**
     * Builds a {@link BucketConfig} by key name, for code that makes one without YAML (the demo,
     * {@code tftp.source}, tests); the YAML binder uses the canonical constructor. A key left unset
     * takes its default, exactly as when it is missing from {@code kura.yaml}.
     *
     * <p>Thread-safety: not thread-safe; use from one thread.
     */
    public static final class Builder {
        private @Nullable String prefix;
        private @Nullable String bucket;
        private @Nullable String name;
        private @Nullable URI endpoint;
        private @Nullable String region;
        private boolean pathStyle;
        private @Nullable OriginCredentials credentials;
        private @Nullable Duration defaultTtl;
        private @Nullable Duration staleIfError;
        private @Nullable Duration connectTimeout;
        private @Nullable Duration readTimeout;
        private int maxConnections;
        private @Nullable Access access;
        private @Nullable List<URI> replicas;
        private @Nullable OriginResilience resilience;

        private Builder() {
        }

        /** @see BucketConfig#prefix() */
        public Builder prefix(@Nullable String v) { prefix = v; return this; }
        /** @see BucketConfig#bucket() */
        public Builder bucket(@Nullable String v) { bucket = v; return this; }
        /** @see BucketConfig#name() */
        public Builder name(@Nullable String v) { name = v; return this; }
        /** @see BucketConfig#endpoint() */
        public Builder endpoint(@Nullable URI v) { endpoint = v; return this; }
        /** @see BucketConfig#region() */
        public Builder region(@Nullable String v) { region = v; return this; }
        /** @see BucketConfig#pathStyle() */
        public Builder pathStyle(boolean v) { pathStyle = v; return this; }
        /** @see BucketConfig#credentials() */
        public Builder credentials(@Nullable OriginCredentials v) { credentials = v; return this; }
        /** @see BucketConfig#defaultTtl() */
        public Builder defaultTtl(@Nullable Duration v) { defaultTtl = v; return this; }
        /** @see BucketConfig#staleIfError() */
        public Builder staleIfError(@Nullable Duration v) { staleIfError = v; return this; }
        /** @see BucketConfig#connectTimeout() */
        public Builder connectTimeout(@Nullable Duration v) { connectTimeout = v; return this; }
        /** @see BucketConfig#readTimeout() */
        public Builder readTimeout(@Nullable Duration v) { readTimeout = v; return this; }
        /** @see BucketConfig#maxConnections() */
        public Builder maxConnections(int v) { maxConnections = v; return this; }
        /** @see BucketConfig#access() */
        public Builder access(@Nullable Access v) { access = v; return this; }
        /** @see BucketConfig#replicas() */
        public Builder replicas(@Nullable List<URI> v) { replicas = v; return this; }
        /** @see BucketConfig#resilience() */
        public Builder resilience(@Nullable OriginResilience v) { resilience = v; return this; }

        /**
         * @return the mapping, validated and defaulted by the canonical constructor
         * @throws IllegalArgumentException naming the key of a missing or nonsense value
         */
        // A key left unset is null here, exactly as the YAML binder passes a key missing from kura.yaml;
        // the compact constructor replaces each null by its default (documented per component), so
        // the built record's defaulted components are never null. NullAway cannot see that a compact
        // constructor's parameter may be null while its component is not, hence the suppression.
        @SuppressWarnings("NullAway")
        public BucketConfig build() {
            return new BucketConfig(prefix, bucket, name, endpoint, region, pathStyle, credentials, defaultTtl,
                    staleIfError, connectTimeout, readTimeout, maxConnections, access, replicas, resilience);
        }
    }
}
