package dev.kura.s3;

import dev.kura.config.HostPort;
import dev.kura.config.DataSize;
import dev.kura.net.Transport;
import org.jspecify.annotations.Nullable;

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
 * @param baseDomain domain of virtual-hosted-style addressing ({@code serve.base-domain}): a
 *     request for host {@code <name>.<base-domain>} is for bucket {@code <name>}; null turns it
 *     off (path-style and prefixes only)
 * @param listCacheTtl how long a listing answer from the origin is reused
 *     ({@code serve.list-cache-ttl}); default 5 s; 0 turns the listing cache off (concurrent
 *     identical listings still share one origin request)
 * @param clients the access keys kura accepts, with what each may read ({@code serve.clients})
 * @param jwt Bearer JWT client authentication ({@code serve.jwt}); null for none
 * @param opsListen address of the operations listener ({@code /metrics}, {@code /health},
 *     {@code /live}, {@code /ready}, {@code /admin/*}), {@code host:port} ({@code serve.ops-listen}); default
 *     {@value #DEFAULT_OPS_LISTEN}, kept off the data port so that clients of the data port cannot
 *     scrape, probe or administer
 * @param drainDelay on SIGTERM, how long {@code /ready} answers 503 before the data listener
 *     closes, so that a load balancer stops sending new clients first ({@code serve.drain-delay});
 *     default 0 s
 * @param limits connection and request limits of the data listener ({@code serve.limits});
 *     defaults in {@link ListenerLimits}
 * @param fill fill deadlines and read-ahead of sliced objects ({@code serve.fill}); defaults in
 *     {@link FillConfig}
 * @param tls HTTPS on the data listener ({@code serve.tls}: PEM certificate chain, key, optional
 *     client CA); null for plain HTTP
 * @param accessLogFormat the shape of the access-log lines ({@code serve.access-log-format}):
 *     {@link AccessLogFormat#TEXT} (the default) or {@link AccessLogFormat#JSON}
 * @param rateLimits requests and bytes per second per client and per bucket, answered with
 *     {@code 503 SlowDown} beyond them ({@code serve.rate-limits}); default none
 * @param nodeId this node's name in a fleet ({@code serve.node-id}): sent as the response header
 *     {@value #NODE_HEADER} and written in every access-log line, so that an operator (or a test)
 *     sees which node behind a balancer answered; 1..64 of {@code A-Z a-z 0-9 . _ : -}; default
 *     the host name
 * @param tracing OpenTelemetry traces exported over OTLP/HTTP ({@code serve.tracing}); off by
 *     default, see {@link TracingConfig}
 * @param originBandwidth one budget of origin bytes per second for every fill, shared between
 *     buckets by weight ({@code serve.origin-bandwidth}); default off ({@link OriginBandwidth})
 * @param zeroCopy which hits go to plain-HTTP clients as file regions ({@code sendfile(2)} /
 *     {@code splice(2)}) instead of copies ({@code serve.zero-copy}, {@link ZeroCopy}):
 *     {@code off}, {@code memory} (memory-tier hits, from the tier's memory files) or {@code all}
 *     (disk hits too, every block still checked against its CRC32C first); default {@code memory}
 *     (docs/SERVE.md, "Zero-copy disk hits" and "Zero-copy memory hits", for what each
 *     measured). Changes live on reload; while it is not {@code off} at start, {@code transport:
 *     auto} takes epoll ({@link dev.kura.net.NettyTransport#selectForFileRegions}).
 *
 * <p>Thread-safety: immutable.
 */
public record ServeConfig(String listen, Transport transport, int eventLoopThreads, DataSize maxUrlLength,
                          DataSize maxHeaderSize, Duration shutdownTimeout, Boolean accessLog,
                          @Nullable String adminToken, List<BucketConfig> buckets, @Nullable String baseDomain,
                          Duration listCacheTtl, List<ClientConfig> clients, @Nullable JwtConfig jwt, String opsListen,
                          Duration drainDelay, ListenerLimits limits, FillConfig fill,
                          AccessLogFormat accessLogFormat, RateLimits rateLimits, @Nullable TlsConfig tls,
                          String nodeId, TracingConfig tracing, OriginBandwidth originBandwidth,
                          ZeroCopy zeroCopy) {

    /** The response header carrying {@link #nodeId()}. */
    public static final String NODE_HEADER = "X-Kura-Node";

    /**
     * Default of {@code serve.ops-listen}: loopback, next to the default data port 8080 (the
     * convention of Dropwizard's admin connector), not 9090, which Prometheus itself listens on by default and
     * so is often taken on the very hosts that scrape kura.
     */
    public static final String DEFAULT_OPS_LISTEN = "127.0.0.1:8081";

    /** Paths kura answers itself; a bucket prefix may not shadow them. */
    public static final Set<String> RESERVED_PATHS = Set.of("/health", "/ready", "/metrics", "/admin");

    /** @throws IllegalArgumentException naming the key of a missing or nonsense value */
    public ServeConfig {
        if (listen == null || listen.isBlank()) {
            listen = "0.0.0.0:8080";
        }
        HostPort.parse(listen, "listen"); // refuses a malformed address here, naming the key
        if (opsListen == null || opsListen.isBlank()) {
            opsListen = DEFAULT_OPS_LISTEN;
        }
        HostPort.parse(opsListen, "ops-listen");
        if (drainDelay == null) {
            drainDelay = Duration.ZERO;
        }
        if (drainDelay.isNegative()) {
            throw new IllegalArgumentException("drain-delay must be >= 0, was " + drainDelay);
        }
        if (limits == null) {
            limits = ListenerLimits.defaults();
        }
        if (fill == null) {
            fill = FillConfig.defaults();
        }
        if (tracing == null) {
            tracing = TracingConfig.off();
        }
        if (rateLimits == null) {
            rateLimits = RateLimits.none();
        }
        if (originBandwidth == null) {
            originBandwidth = OriginBandwidth.off();
        }
        if (zeroCopy == null) {
            zeroCopy = ZeroCopy.MEMORY;
        }
        if (transport == null) {
            transport = Transport.AUTO;
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
        if (accessLogFormat == null) {
            accessLogFormat = AccessLogFormat.TEXT;
        }
        if (nodeId == null || nodeId.isBlank()) {
            nodeId = hostName();
        }
        if (!nodeId.matches("[A-Za-z0-9._:-]{1,64}")) {
            throw new IllegalArgumentException("node-id must be 1..64 of A-Z a-z 0-9 . _ : - (it is sent as a header), was '"
                    + nodeId + "'");
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
        if (baseDomain != null && baseDomain.isBlank()) {
            baseDomain = null;
        }
        if (baseDomain != null) {
            baseDomain = baseDomain.toLowerCase(java.util.Locale.ROOT);
        }
        if (listCacheTtl == null) {
            listCacheTtl = Duration.ofSeconds(5);
        }
        if (listCacheTtl.isNegative()) {
            throw new IllegalArgumentException("list-cache-ttl must be >= 0, was " + listCacheTtl);
        }
        clients = clients == null ? List.of() : List.copyOf(clients);
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
            if (RESERVED_PATHS.contains("/" + b.name())) {
                throw new IllegalArgumentException("buckets[" + i + "].name: '" + b.name()
                        + "' is reserved for kura (" + RESERVED_PATHS + "): path-style requests could not reach it");
            }
            for (String r : RESERVED_PATHS) {
                if (b.prefix().equals(r) || b.prefix().startsWith(r + "/")) {
                    throw new IllegalArgumentException("buckets[" + i + "].prefix: '" + b.prefix()
                            + "' is reserved for kura (" + RESERVED_PATHS + ")");
                }
            }
        }
        checkS3(buckets, baseDomain, clients, jwt);
        for (String w : originBandwidth.weights().keySet()) {
            if (!names.contains(w)) {
                throw new IllegalArgumentException("origin-bandwidth.weights: '" + w + "' names no bucket (names: "
                        + names + ")");
            }
        }
    }

    /** The host name, cut to a valid node id; {@code kura} if the system has none. */
    private static String hostName() {
        String h;
        try {
            h = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            h = "";
        }
        h = h.replaceAll("[^A-Za-z0-9._:-]", "");
        return h.isEmpty() ? "kura" : h.substring(0, Math.min(64, h.length()));
    }

    private static void checkS3(List<BucketConfig> buckets, @Nullable String baseDomain, List<ClientConfig> clients,
                                @Nullable JwtConfig jwt) {
        if (baseDomain != null && !baseDomain.matches("[A-Za-z0-9]([A-Za-z0-9.\\-]*[A-Za-z0-9])?(:[0-9]{1,5})?")) {
            throw new IllegalArgumentException("base-domain must be a host name such as s3.example.com, was '"
                    + baseDomain + "'");
        }
        Set<String> names = new HashSet<>();
        buckets.forEach(b -> names.add(b.name()));
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < clients.size(); i++) {
            ClientConfig c = clients.get(i);
            if (c == null) {
                throw new IllegalArgumentException("clients[" + i + "] is empty");
            }
            if (!keys.add(c.accessKeyId())) {
                throw new IllegalArgumentException("clients[" + i + "].access-key-id: '" + c.accessKeyId()
                        + "' is used twice");
            }
            for (String r : c.read()) {
                if (!r.equals("*") && !names.contains(ClientConfig.bucketOf(r))) {
                    throw new IllegalArgumentException("clients[" + i + "].read: '" + r
                            + "' names no bucket (names: " + names + ")");
                }
            }
        }
        for (int i = 0; i < buckets.size(); i++) {
            BucketConfig b = buckets.get(i);
            if (b.access() == BucketConfig.Access.PRIVATE && clients.isEmpty() && jwt == null) {
                throw new IllegalArgumentException("buckets[" + i + "] ('" + b.name() + "') is private (the default "
                        + "for a bucket read with origin credentials) but serve.clients is empty and serve.jwt unset, so nobody could "
                        + "read it: add clients, or set access: public to let anyone who reaches kura read it");
            }
        }
    }

    /** The host part of {@link #listen()}; {@code 0.0.0.0} for any interface. */
    public String host() {
        HostPort hp = HostPort.parse(listen, "listen");
        return hp.anyInterface() ? "0.0.0.0" : hp.host();
    }

    /** The host part of {@link #opsListen()}. */
    public String opsHost() {
        HostPort hp = HostPort.parse(opsListen, "ops-listen");
        return hp.anyInterface() ? "0.0.0.0" : hp.host();
    }

    /** The port part of {@link #opsListen()}, 0 for any free port. */
    public int opsPort() {
        return HostPort.parse(opsListen, "ops-listen").port();
    }

    /** A builder with every key unset (each takes its documented default at {@link Builder#build()}). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to make a copy that differs in a few keys. */
    public Builder toBuilder() {
        return new Builder().listen(listen).transport(transport).eventLoopThreads(eventLoopThreads)
                .maxUrlLength(maxUrlLength).maxHeaderSize(maxHeaderSize).shutdownTimeout(shutdownTimeout)
                .accessLog(accessLog).adminToken(adminToken).buckets(buckets).baseDomain(baseDomain)
                .listCacheTtl(listCacheTtl).clients(clients).jwt(jwt).opsListen(opsListen).drainDelay(drainDelay)
                .limits(limits).fill(fill).accessLogFormat(accessLogFormat).rateLimits(rateLimits).tls(tls).nodeId(nodeId)
                .tracing(tracing).originBandwidth(originBandwidth).zeroCopy(zeroCopy);
    }

    /** A copy with another {@link #opsListen()} (tests and the demo pick free ports with {@code :0}). */
    public ServeConfig withOpsListen(String hostPort) {
        return toBuilder().opsListen(hostPort).build();
    }

    /** A copy with other {@link #limits()}. */
    public ServeConfig withLimits(ListenerLimits l) {
        return toBuilder().limits(l).build();
    }

    /**
     * Settings with defaults for everything but the buckets (demo mode and tests).
     *
     * @param listen {@code host:port}
     */
    public static ServeConfig of(String listen, @Nullable String adminToken, java.util.List<BucketConfig> buckets) {
        return builder().listen(listen).adminToken(adminToken).buckets(buckets).build();
    }

    /**
     * Builds a {@link ServeConfig} by key name, for code (the demo, tests, other commands) that
     * makes one without YAML; the YAML binder uses the canonical constructor. A key left unset
     * takes its default, exactly as when the key is missing from {@code kura.yaml}.
     *
     * <p>Thread-safety: not thread-safe; use from one thread.
     */
    public static final class Builder {
        private @Nullable String listen;
        private @Nullable Transport transport;
        private int eventLoopThreads;
        private @Nullable DataSize maxUrlLength;
        private @Nullable DataSize maxHeaderSize;
        private @Nullable Duration shutdownTimeout;
        private @Nullable Boolean accessLog;
        private @Nullable String adminToken;
        private @Nullable List<BucketConfig> buckets;
        private @Nullable String baseDomain;
        private @Nullable Duration listCacheTtl;
        private @Nullable List<ClientConfig> clients;
        private @Nullable JwtConfig jwt;
        private @Nullable String opsListen;
        private @Nullable Duration drainDelay;
        private @Nullable ListenerLimits limits;
        private @Nullable FillConfig fill;
        private @Nullable AccessLogFormat accessLogFormat;
        private @Nullable RateLimits rateLimits;
        private @Nullable TlsConfig tls;
        private @Nullable String nodeId;
        private @Nullable TracingConfig tracing;
        private @Nullable OriginBandwidth originBandwidth;
        private @Nullable ZeroCopy zeroCopy;

        private Builder() {
        }

        /** @see ServeConfig#listen() */
        public Builder listen(@Nullable String v) { listen = v; return this; }
        /** @see ServeConfig#transport() */
        public Builder transport(@Nullable Transport v) { transport = v; return this; }
        /** @see ServeConfig#eventLoopThreads() */
        public Builder eventLoopThreads(int v) { eventLoopThreads = v; return this; }
        /** @see ServeConfig#maxUrlLength() */
        public Builder maxUrlLength(@Nullable DataSize v) { maxUrlLength = v; return this; }
        /** @see ServeConfig#maxHeaderSize() */
        public Builder maxHeaderSize(@Nullable DataSize v) { maxHeaderSize = v; return this; }
        /** @see ServeConfig#shutdownTimeout() */
        public Builder shutdownTimeout(@Nullable Duration v) { shutdownTimeout = v; return this; }
        /** @see ServeConfig#accessLog() */
        public Builder accessLog(@Nullable Boolean v) { accessLog = v; return this; }
        /** @see ServeConfig#adminToken() */
        public Builder adminToken(@Nullable String v) { adminToken = v; return this; }
        /** @see ServeConfig#buckets() */
        public Builder buckets(@Nullable List<BucketConfig> v) { buckets = v; return this; }
        /** @see ServeConfig#baseDomain() */
        public Builder baseDomain(@Nullable String v) { baseDomain = v; return this; }
        /** @see ServeConfig#listCacheTtl() */
        public Builder listCacheTtl(@Nullable Duration v) { listCacheTtl = v; return this; }
        /** @see ServeConfig#clients() */
        public Builder clients(@Nullable List<ClientConfig> v) { clients = v; return this; }
        /** @see ServeConfig#jwt() */
        public Builder jwt(@Nullable JwtConfig v) { jwt = v; return this; }
        /** @see ServeConfig#opsListen() */
        public Builder opsListen(@Nullable String v) { opsListen = v; return this; }
        /** @see ServeConfig#drainDelay() */
        public Builder drainDelay(@Nullable Duration v) { drainDelay = v; return this; }
        /** @see ServeConfig#limits() */
        public Builder limits(@Nullable ListenerLimits v) { limits = v; return this; }
        /** @see ServeConfig#fill() */
        public Builder fill(@Nullable FillConfig v) { fill = v; return this; }
        /** @see ServeConfig#accessLogFormat() */
        public Builder accessLogFormat(@Nullable AccessLogFormat v) { accessLogFormat = v; return this; }
        /** @see ServeConfig#rateLimits() */
        public Builder rateLimits(@Nullable RateLimits v) { rateLimits = v; return this; }
        /** @see ServeConfig#tls() */
        public Builder tls(@Nullable TlsConfig v) { tls = v; return this; }
        /** @see ServeConfig#nodeId() */
        public Builder nodeId(@Nullable String v) { nodeId = v; return this; }
        /** @see ServeConfig#tracing() */
        public Builder tracing(@Nullable TracingConfig v) { tracing = v; return this; }
        /** @see ServeConfig#originBandwidth() */
        public Builder originBandwidth(@Nullable OriginBandwidth v) { originBandwidth = v; return this; }
        /** @see ServeConfig#zeroCopy() */
        public Builder zeroCopy(@Nullable ZeroCopy v) { zeroCopy = v; return this; }

        /**
         * @return the config, validated and defaulted by the canonical constructor
         * @throws IllegalArgumentException naming the key of a missing or nonsense value
         */
        // A key left unset is null here, exactly as the YAML binder passes a key missing from kura.yaml;
        // the compact constructor replaces each null by its default (documented per component), so
        // the built record's defaulted components are never null. NullAway cannot see that a compact
        // constructor's parameter may be null while its component is not, hence the suppression.
        @SuppressWarnings("NullAway")
        public ServeConfig build() {
            return new ServeConfig(listen, transport, eventLoopThreads, maxUrlLength, maxHeaderSize, shutdownTimeout,
                    accessLog, adminToken, buckets, baseDomain, listCacheTtl, clients, jwt, opsListen, drainDelay,
                    limits, fill, accessLogFormat, rateLimits, tls, nodeId, tracing, originBandwidth, zeroCopy);
        }
    }

    /** The port part of {@link #listen()}, 0 for any free port. */
    public int port() {
        return HostPort.parse(listen, "listen").port();
    }
}
