package dev.kura.s3;

import dev.kura.config.HostPort;
import dev.kura.config.DataSize;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code serve:} section of {@code kura.yaml}: how {@code kura serve} listens and which URL
 * path prefixes map to which S3 buckets. Every key is documented in {@code docs/CONFIG.md}.
 *
 * @param listen address and port to listen on, {@code host:port} ({@code serve.listen}); default
 *     {@code 0.0.0.0:8080}
 * @param transport Netty transport: {@code auto} (io_uring, then epoll, then NIO), {@code io_uring},
 *     {@code epoll} or {@code nio} ({@code serve.transport}); default {@code auto}
 * @param eventLoopThreads Netty event-loop threads, 0 for Netty's default (twice the available processors)
 *     ({@code serve.event-loop-threads})
 * @param maxUrlLength longest request line in bytes (method, URL, version); longer gets 414
 *     ({@code serve.max-url-length}); default 8192
 * @param maxHeaderSize largest header block in bytes; larger gets 431 ({@code serve.max-header-size});
 *     default 16384
 * @param shutdownTimeout how long SIGTERM waits for requests in flight ({@code serve.shutdown-timeout});
 *     default 30 s
 * @param accessLog one line per request on the SLF4J logger {@code kura.access}
 *     ({@code serve.access-log}); default true
 * @param adminToken bearer token of the admin API; null or empty turns the admin API off
 *     ({@code serve.admin-token}, usually {@code ${KURA_ADMIN_TOKEN}})
 * @param buckets the bucket mappings, at least one ({@code serve.buckets})
 *
 * <p>Thread-safety: immutable.
 */
public record ServeConfig(String listen, String transport, int eventLoopThreads, DataSize maxUrlLength,
                          DataSize maxHeaderSize, Duration shutdownTimeout, Boolean accessLog,
                          String adminToken, List<BucketConfig> buckets) {

    /** Paths kura answers itself; a bucket prefix may not shadow them. */
    public static final Set<String> RESERVED_PATHS = Set.of("/health", "/ready", "/metrics", "/admin");

    /** @throws IllegalArgumentException naming the key of a missing or nonsense value */
    public ServeConfig {
        if (listen == null || listen.isBlank()) {
            listen = "0.0.0.0:8080";
        }
        HostPort.parse(listen, "listen"); // refuses a malformed address here, naming the key
        if (transport == null || transport.isBlank()) {
            transport = "auto";
        }
        if (!Set.of("auto", "io_uring", "epoll", "nio").contains(transport)) {
            throw new IllegalArgumentException("transport must be auto, io_uring, epoll or nio, was '" + transport + "'");
        }
        if (eventLoopThreads < 0 || eventLoopThreads > 1024) {
            throw new IllegalArgumentException("event-loop-threads must be 0..1024, was " + eventLoopThreads);
        }
        if (maxUrlLength == null) {
            maxUrlLength = DataSize.ofBytes(8192);
        }
        if (maxUrlLength.bytes() < 256 || maxUrlLength.bytes() > 1 << 20) {
            throw new IllegalArgumentException("max-url-length must be 256B..1MiB, was " + maxUrlLength);
        }
        if (maxHeaderSize == null) {
            maxHeaderSize = DataSize.ofBytes(16384);
        }
        if (maxHeaderSize.bytes() < 1024 || maxHeaderSize.bytes() > 1 << 20) {
            throw new IllegalArgumentException("max-header-size must be 1KiB..1MiB, was " + maxHeaderSize);
        }
        if (shutdownTimeout == null) {
            shutdownTimeout = Duration.ofSeconds(30);
        }
        if (shutdownTimeout.isNegative()) {
            throw new IllegalArgumentException("shutdown-timeout must be >= 0, was " + shutdownTimeout);
        }
        if (accessLog == null) {
            accessLog = Boolean.TRUE;
        }
        if (adminToken != null && adminToken.isBlank()) {
            adminToken = null;
        }
        if (adminToken != null && adminToken.length() < 16) {
            throw new IllegalArgumentException("admin-token must be at least 16 characters (or empty to turn the admin API off)");
        }
        if (buckets == null || buckets.isEmpty()) {
            throw new IllegalArgumentException("buckets must list at least one bucket");
        }
        buckets = List.copyOf(buckets);
        Set<String> prefixes = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < buckets.size(); i++) {
            BucketConfig b = buckets.get(i);
            if (b == null) {
                throw new IllegalArgumentException("buckets[" + i + "] is empty");
            }
            if (!prefixes.add(b.prefix())) {
                throw new IllegalArgumentException("buckets[" + i + "].prefix: '" + b.prefix() + "' is used twice");
            }
            if (!names.add(b.name())) {
                throw new IllegalArgumentException("buckets[" + i + "].name: '" + b.name() + "' is used twice");
            }
            for (String r : RESERVED_PATHS) {
                if (b.prefix().equals(r) || b.prefix().startsWith(r + "/")) {
                    throw new IllegalArgumentException("buckets[" + i + "].prefix: '" + b.prefix()
                            + "' is reserved for kura (" + RESERVED_PATHS + ")");
                }
            }
        }
    }

    /** The host part of {@link #listen()}, without IPv6 brackets; "0.0.0.0" for {@code :port}. */
    public String host() {
        HostPort hp = HostPort.parse(listen, "listen");
        return hp.anyInterface() ? "0.0.0.0" : hp.host();
    }

    /**
     * Settings with defaults for everything but the buckets (demo mode and tests).
     *
     * @param listen {@code host:port}
     */
    public static ServeConfig of(String listen, String adminToken, java.util.List<BucketConfig> buckets) {
        return new ServeConfig(listen, null, 0, null, null, null, null, adminToken, buckets);
    }

    /** The port part of {@link #listen()}, 0 for any free port. */
    public int port() {
        return HostPort.parse(listen, "listen").port();
    }
}
