package dev.kura.s3.internal.api;

import dev.kura.s3.BucketConfig;
import dev.kura.s3.internal.RequestPath;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.jspecify.annotations.Nullable;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns a request line and its {@code Host} into an {@link S3Request}, or an S3 error.
 *
 * <p>Addressing, in this order (docs/CONFIG.md, "Addressing"):
 * <ol>
 *   <li><b>virtual-hosted style</b>: {@code Host: <name>.<serve.base-domain>}; the whole path is
 *       the key;</li>
 *   <li><b>path style</b>: the first path segment is a bucket {@code name}; the rest is the key
 *       ({@code /name} and {@code /name/} address the bucket itself);</li>
 *   <li><b>prefix</b>: the longest {@code prefix} of a mapping; the rest is the key. Only object
 *       reads: a prefix is a plain-HTTP convenience, not an S3 bucket;</li>
 *   <li>{@code /} alone is the service (ListBuckets).</li>
 * </ol>
 *
 * <p>Only reads are served. A write (PUT, POST, DELETE) or a sub-resource kura does not serve
 * ({@code ?acl}, {@code ?tagging}, {@code ?uploads}, {@code ?torrent}...) gets AccessDenied, the
 * error S3 gives a principal that may only read (S3 API reference, "Error responses"); other
 * methods get MethodNotAllowed. {@code partNumber} must be an integer from 1 to 10000 (else
 * InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive", as S3 answers);
 * the part itself is served by {@code ProxyCore} as the byte range it covers ({@code PartRanges}).
 *
 * <p>Thread-safety: immutable, safe for concurrent use.
 */
public final class S3Router {
    /** Object sub-resources and actions kura does not serve (S3 API reference, operation list). */
    private static final Set<String> OBJECT_SUBRESOURCES = Set.of("acl", "tagging", "torrent", "uploads", "uploadId",
            "retention", "legal-hold", "attributes", "restore", "select", "select-type", "policy", "renameObject");
    /** Bucket sub-resources kura does not serve. */
    private static final Set<String> BUCKET_SUBRESOURCES = Set.of("acl", "tagging", "uploads", "versions", "versioning",
            "policy", "policyStatus", "cors", "lifecycle", "website", "logging", "notification", "replication",
            "encryption", "accelerate", "requestPayment", "object-lock", "ownershipControls", "publicAccessBlock",
            "analytics", "inventory", "metrics", "intelligent-tiering", "delete", "session", "torrent");
    /** Longest key S3 accepts, in UTF-8 bytes. */
    private static final int MAX_KEY_BYTES = 1024;

    private final Map<String, BucketConfig> byName = new HashMap<>();
    private final List<BucketConfig> byPrefix;
    private final @Nullable String baseDomain;

    /**
     * @param buckets the mappings
     * @param baseDomain the virtual-host domain, lower case, or null for none
     */
    public S3Router(List<BucketConfig> buckets, @Nullable String baseDomain) {
        for (BucketConfig b : buckets) {
            byName.put(b.name(), b);
        }
        this.byPrefix = buckets.stream()
                .sorted(Comparator.comparingInt((BucketConfig b) -> b.prefix().length()).reversed()).toList();
        this.baseDomain = baseDomain;
    }

    /** The mapping named {@code name}, or null. */
    public @Nullable BucketConfig bucket(String name) {
        return byName.get(name);
    }

    /**
     * Routes one request.
     *
     * @param method the request method, e.g. {@code GET}
     * @param uri the request-target as received (origin-form, still percent-encoded)
     * @param host the {@code Host} header, or null
     * @throws S3Exception with the S3 error the client gets
     */
    public S3Request route(String method, String uri, String host) throws S3Exception {
        String path;
        try {
            path = RequestPath.decode(RequestPath.rawPath(uri));
        } catch (RequestPath.BadPathException e) {
            throw new S3Exception(S3ErrorCode.INVALID_URI, e.getMessage());
        }
        Map<String, List<String>> query = new QueryStringDecoder(uri, StandardCharsets.UTF_8, true, 1024).parameters();
        BucketConfig bucket;
        String key;
        boolean s3Bucket = true;
        String vhost = virtualHostBucket(host);
        if (vhost != null) {
            bucket = byName.get(vhost);
            if (bucket == null) {
                throw new S3Exception(S3ErrorCode.NO_SUCH_BUCKET, "The specified bucket does not exist");
            }
            key = path.substring(1);
        } else if (path.equals("/")) {
            return service(method, query);
        } else {
            int slash = path.indexOf('/', 1);
            String first = slash < 0 ? path.substring(1) : path.substring(1, slash);
            bucket = byName.get(first);
            if (bucket != null) {
                key = slash < 0 ? "" : path.substring(slash + 1);
            } else {
                bucket = byPrefix(path);
                if (bucket == null) {
                    throw new S3Exception(S3ErrorCode.NO_SUCH_BUCKET, "The specified bucket does not exist");
                }
                String p = bucket.prefix();
                key = p.equals("/") ? path.substring(1) : path.substring(Math.min(path.length(), p.length() + 1));
                s3Bucket = false;
            }
        }
        if (key.isEmpty()) {
            if (!s3Bucket) {
                throw new S3Exception(S3ErrorCode.NO_SUCH_KEY, "no object key in the path");
            }
            return bucketOperation(method, bucket, query);
        }
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw new S3Exception(S3ErrorCode.KEY_TOO_LONG, "Your key is too long (more than 1024 bytes)");
        }
        return objectOperation(method, bucket, key, query);
    }

    private S3Request service(String method, Map<String, List<String>> query) throws S3Exception {
        return switch (method) {
            case "GET" -> new S3Request(S3Operation.LIST_BUCKETS, null, null, query);
            case "PUT", "POST", "DELETE" -> throw readOnly();
            default -> throw notAllowed(method);
        };
    }

    private static S3Request bucketOperation(String method, BucketConfig b, Map<String, List<String>> query)
            throws S3Exception {
        switch (method) {
            case "HEAD" -> {
                return new S3Request(S3Operation.HEAD_BUCKET, b, null, query);
            }
            case "GET" -> {
                if (query.containsKey("location")) {
                    return new S3Request(S3Operation.GET_BUCKET_LOCATION, b, null, query);
                }
                for (String q : query.keySet()) {
                    if (BUCKET_SUBRESOURCES.contains(q)) {
                        throw new S3Exception(S3ErrorCode.ACCESS_DENIED, "kura serves only reads of objects and "
                                + "listings; '?" + q + "' is not served");
                    }
                }
                List<String> lt = query.get("list-type");
                if (lt == null) {
                    return new S3Request(S3Operation.LIST_OBJECTS, b, null, query);
                }
                if (lt.getFirst().equals("2")) {
                    return new S3Request(S3Operation.LIST_OBJECTS_V2, b, null, query);
                }
                throw new S3Exception(S3ErrorCode.INVALID_ARGUMENT, "list-type must be 2");
            }
            case "PUT", "POST", "DELETE" -> throw readOnly();
            default -> throw notAllowed(method);
        }
    }

    private static S3Request objectOperation(String method, BucketConfig b, String key, Map<String, List<String>> query)
            throws S3Exception {
        switch (method) {
            case "GET", "HEAD" -> {
                for (String q : query.keySet()) {
                    if (OBJECT_SUBRESOURCES.contains(q)) {
                        throw new S3Exception(S3ErrorCode.ACCESS_DENIED, "kura serves only reads of objects and "
                                + "listings; '?" + q + "' is not served");
                    }
                }
                List<String> pn = query.get("partNumber");
                if (pn != null && partNumber(pn.getFirst()) < 0) {
                    throw new S3Exception(S3ErrorCode.INVALID_ARGUMENT,
                            "Part number must be an integer between 1 and 10000, inclusive");
                }
                List<String> v = query.get("versionId");
                if (v != null && (v.getFirst().isEmpty() || v.getFirst().length() > 1024)) {
                    throw new S3Exception(S3ErrorCode.INVALID_ARGUMENT, "Invalid version id specified");
                }
                return new S3Request(method.equals("GET") ? S3Operation.GET_OBJECT : S3Operation.HEAD_OBJECT, b, key,
                        query);
            }
            case "PUT", "POST", "DELETE" -> throw readOnly();
            default -> throw notAllowed(method);
        }
    }

    /** Largest part number S3 accepts (S3 API reference, GetObject: "between 1 and 10,000"). */
    public static final int MAX_PART_NUMBER = 10_000;

    /**
     * GetObject's and HeadObject's {@code partNumber}: 1 to {@value #MAX_PART_NUMBER} in plain
     * decimal digits (no sign, no spaces), else -1.
     */
    public static int partNumber(@Nullable String v) {
        if (v == null || v.isEmpty() || v.length() > 5) {
            return -1;
        }
        int n = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n >= 1 && n <= MAX_PART_NUMBER ? n : -1;
    }

    private static S3Exception readOnly() {
        return new S3Exception(S3ErrorCode.ACCESS_DENIED, "kura is a read-only S3 endpoint");
    }

    private static S3Exception notAllowed(String method) {
        return new S3Exception(S3ErrorCode.METHOD_NOT_ALLOWED,
                "The specified method is not allowed against this resource: " + method);
    }

    private @Nullable BucketConfig byPrefix(String path) {
        for (BucketConfig b : byPrefix) {
            String p = b.prefix();
            if (p.equals("/") || path.equals(p) || path.startsWith(p + "/")) {
                return b;
            }
        }
        return null;
    }

    /** The bucket label of {@code Host: <name>.<base-domain>[:port]}, or null. */
    private @Nullable String virtualHostBucket(@Nullable String host) {
        if (baseDomain == null || host == null) {
            return null;
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        String base = baseDomain;
        if (base.indexOf(':') < 0) {
            int colon = h.lastIndexOf(':');
            if (colon >= 0 && h.indexOf(']') < colon) {
                h = h.substring(0, colon);
            }
        }
        if (h.length() > base.length() + 1 && h.endsWith("." + base)) {
            return h.substring(0, h.length() - base.length() - 1);
        }
        return null;
    }
}
