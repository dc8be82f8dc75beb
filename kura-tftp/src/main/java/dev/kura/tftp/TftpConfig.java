package dev.kura.tftp;

import dev.kura.config.DataSize;
import dev.kura.net.Transport;
import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.List;

/**
 * Settings of the TFTP server: the {@code tftp:} section of {@code kura.yaml} (see
 * {@code docs/CONFIG.md}). A missing key binds to null / 0 / false and gets the default below.
 *
 * @param listen addresses to bind, {@code host:port} ({@code [v6]:port} for IPv6); default
 *     {@code ["[::]:69"]}, one dual-stack socket taking IPv4 and IPv6. Port 69 needs root or
 *     {@code CAP_NET_BIND_SERVICE}
 * @param root the directory served; every name is resolved inside it ({@code --root} overrides)
 * @param blksizeMax largest blksize granted, 8..65464 (RFC 2348); default 1468, an Ethernet
 *     frame's payload; a client asking for more gets this much
 * @param windowsizeMax largest windowsize granted, 1..65535 (RFC 7440); default 16
 * @param timeout initial retransmission timeout when the client does not ask for one
 *     (RFC 2349 {@code timeout} overrides it per transfer); default 1s
 * @param maxTimeout cap of the exponential back-off; default 8s
 * @param retries retransmissions of one packet before the transfer is abandoned; default 5
 * @param maxTransfers transfers at once, over all clients; default 2000
 * @param maxTransfersPerClient transfers at once from one client IP address; default 1000
 * @param readChunk bytes read from the file at a time, per read-ahead buffer (two per transfer);
 *     4 KiB..1 MiB, default 16 KiB (so the two take 32 KiB; larger chunks mean fewer reads)
 * @param metricsListen {@code host:port} of an HTTP listener serving Prometheus metrics at
 *     {@code /metrics}, or null for none
 * @param write WRQ settings; off by default
 * @param transport Netty transport of the UDP sockets: {@code auto} (epoll, then NIO; see
 *     {@link dev.kura.net.NettyTransport#selectForDatagramPerPeer}), {@code io_uring}, {@code epoll}
 *     or {@code nio}; default {@code auto}
 * @param source an S3 bucket to serve instead of {@code root} (read through kura's cache); null
 *     to serve {@code root}
 *
 * <p>Thread-safety: immutable.
 */
public record TftpConfig(List<String> listen, @Nullable String root, int blksizeMax, int windowsizeMax,
                         Duration timeout, Duration maxTimeout, int retries, int maxTransfers,
                         int maxTransfersPerClient, DataSize readChunk, @Nullable String metricsListen, Write write,
                         Transport transport, @Nullable Source source) {

    /** Smallest and largest blksize of RFC 2348. */
    public static final int BLKSIZE_MIN = 8;
    public static final int BLKSIZE_MAX = 65464;

    /** @throws IllegalArgumentException naming the key of a value out of range */
    public TftpConfig {
        listen = listen == null || listen.isEmpty() ? List.of("[::]:69") : List.copyOf(listen);
        for (String l : listen) {
            parseHostPort(l, "tftp.listen");
        }
        if (blksizeMax == 0) {
            blksizeMax = 1468;
        }
        if (blksizeMax < BLKSIZE_MIN || blksizeMax > BLKSIZE_MAX) {
            throw new IllegalArgumentException("tftp.blksize-max must be 8..65464, was " + blksizeMax);
        }
        if (windowsizeMax == 0) {
            windowsizeMax = 16;
        }
        if (windowsizeMax < 1 || windowsizeMax > 65535) {
            throw new IllegalArgumentException("tftp.windowsize-max must be 1..65535, was " + windowsizeMax);
        }
        if (timeout == null) {
            timeout = Duration.ofSeconds(1);
        }
        if (maxTimeout == null) {
            maxTimeout = Duration.ofSeconds(8);
        }
        if (timeout.toMillis() < 10 || timeout.compareTo(Duration.ofSeconds(255)) > 0) {
            throw new IllegalArgumentException("tftp.timeout must be 10ms..255s, was " + timeout);
        }
        if (maxTimeout.compareTo(timeout) < 0 || maxTimeout.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new IllegalArgumentException("tftp.max-timeout must be tftp.timeout..10m, was " + maxTimeout);
        }
        if (retries == 0) {
            retries = 5;
        }
        if (retries < 1 || retries > 100) {
            throw new IllegalArgumentException("tftp.retries must be 1..100, was " + retries);
        }
        if (maxTransfers == 0) {
            maxTransfers = 2000;
        }
        if (maxTransfers < 1 || maxTransfers > 1_000_000) {
            throw new IllegalArgumentException("tftp.max-transfers must be 1..1000000, was " + maxTransfers);
        }
        if (maxTransfersPerClient == 0) {
            maxTransfersPerClient = 1000;
        }
        if (maxTransfersPerClient < 1) {
            throw new IllegalArgumentException("tftp.max-transfers-per-client must be >= 1, was " + maxTransfersPerClient);
        }
        if (readChunk == null) {
            // 16 KiB: the chunks are most of a transfer's memory (2 x 16 KiB beside a 16-block window of
            // 23 KiB), and since they are copied from the page cache on the event loop a read costs
            // microseconds, so halving them from 32 KiB costs little CPU (docs/TFTP.md).
            readChunk = DataSize.ofBytes(16 * 1024);
        }
        if (readChunk.bytes() < 4096 || readChunk.bytes() > 1 << 20) {
            throw new IllegalArgumentException("tftp.read-chunk must be 4KiB..1MiB, was " + readChunk);
        }
        if (metricsListen != null) {
            parseHostPort(metricsListen, "tftp.metrics-listen");
        }
        if (write == null) {
            write = Write.off();
        }
        if (transport == null) {
            transport = Transport.AUTO;
        }
    }

    /** Defaults for everything, serving {@code root}. */
    @SuppressWarnings("NullAway") // a null component means "the default": the canonical constructor fills it in
    public static TftpConfig defaults(@Nullable String root) {
        return new TftpConfig(null, root, 0, 0, null, null, 0, 0, 0, null, null, null, null, null);
    }

    /** A copy serving {@code r} (what {@code --root} does). */
    public TftpConfig withRoot(@Nullable String r) {
        return new TftpConfig(listen, r, blksizeMax, windowsizeMax, timeout, maxTimeout, retries, maxTransfers,
                maxTransfersPerClient, readChunk, metricsListen, write, transport, source);
    }

    /** A copy listening on {@code l} ({@code host:port} each; what {@code --listen} does). */
    public TftpConfig withListen(List<String> l) {
        return new TftpConfig(l, root, blksizeMax, windowsizeMax, timeout, maxTimeout, retries, maxTransfers,
                maxTransfersPerClient, readChunk, metricsListen, write, transport, source);
    }

    /** A copy with {@code tftp.max-transfers} and {@code tftp.max-transfers-per-client} set. */
    public TftpConfig withLimits(int total, int perClient) {
        return new TftpConfig(listen, root, blksizeMax, windowsizeMax, timeout, maxTimeout, retries, total,
                perClient, readChunk, metricsListen, write, transport, source);
    }

    /** A copy with {@code tftp.timeout}, {@code tftp.max-timeout} and {@code tftp.retries} set. */
    public TftpConfig withTimeouts(Duration t, Duration max, int r) {
        return new TftpConfig(listen, root, blksizeMax, windowsizeMax, t, max, r, maxTransfers,
                maxTransfersPerClient, readChunk, metricsListen, write, transport, source);
    }

    /** A copy with {@code tftp.blksize-max} and {@code tftp.windowsize-max} set. */
    public TftpConfig withMaxima(int blksize, int windowsize) {
        return new TftpConfig(listen, root, blksize, windowsize, timeout, maxTimeout, retries, maxTransfers,
                maxTransfersPerClient, readChunk, metricsListen, write, transport, source);
    }

    /** A copy on the Netty transport {@code t}. */
    public TftpConfig withTransport(Transport t) {
        return new TftpConfig(listen, root, blksizeMax, windowsizeMax, timeout, maxTimeout, retries, maxTransfers,
                maxTransfersPerClient, readChunk, metricsListen, write, t, source);
    }

    /** A copy serving the bucket {@code s} instead of the root. */
    public TftpConfig withSource(@Nullable Source s) {
        return new TftpConfig(listen, root, blksizeMax, windowsizeMax, timeout, maxTimeout, retries, maxTransfers,
                maxTransfersPerClient, readChunk, metricsListen, write, transport, s);
    }

    /**
     * {@code tftp.source}: an S3 bucket whose objects are served by name, through kura's cache
     * (disk and memory tiers, one origin request per object however many clients ask at once).
     * The keys are those of a {@code serve.buckets[]} entry without {@code prefix}; {@code kura tftp}
     * validates them as such (kura-tftp itself knows nothing of S3).
     *
     * @param bucket the S3 bucket name (required)
     * @param name label in logs and cache keys; default the bucket
     * @param endpoint origin URL for S3-compatible servers; null for AWS
     * @param region SigV4 signing region; default {@code us-east-1}
     * @param pathStyle path-style addressing
     * @param credentials how origin requests are signed; default the AWS default chain
     * @param defaultTtl how long a cached object is served before it is revalidated; default 1 h
     * @param staleIfError how long past that an object may still be served while the origin is down; default 1 d
     * @param connectTimeout TCP connect timeout to the origin; default 5 s
     * @param readTimeout socket read timeout to the origin; default 30 s
     * @param maxConnections pooled connections to the origin; default 128
     */
    public record Source(String bucket, @Nullable String name, java.net.@Nullable URI endpoint, @Nullable String region,
                         boolean pathStyle, @Nullable Credentials credentials, @Nullable Duration defaultTtl,
                         @Nullable Duration staleIfError, @Nullable Duration connectTimeout,
                         @Nullable Duration readTimeout, int maxConnections) {
        public Source {
            if (bucket == null || bucket.isBlank()) {
                throw new IllegalArgumentException("tftp.source.bucket must be set");
            }
        }
    }

    /** {@code tftp.source.credentials}: the keys of {@code serve.buckets[].credentials}. */
    public record Credentials(@Nullable String type, @Nullable String accessKeyId, @Nullable String secretAccessKey,
                              @Nullable String sessionToken) {
    }

    /** A copy with the {@code tftp.write} settings {@code w}. */
    public TftpConfig withWrite(Write w) {
        return new TftpConfig(listen, root, blksizeMax, windowsizeMax, timeout, maxTimeout, retries, maxTransfers,
                maxTransfersPerClient, readChunk, metricsListen, w, transport, source);
    }

    /**
     * WRQ settings: the {@code tftp.write} keys.
     *
     * @param enabled accept WRQ at all; default false (every WRQ gets ERROR 2)
     * @param allow glob patterns ({@link java.nio.file.FileSystem#getPathMatcher} "glob:" syntax)
     *     matched against the name relative to the root, e.g. {@code uploads/*.log}; a WRQ whose
     *     name matches none gets ERROR 2. Empty: nothing is allowed
     * @param overwrite replace an existing file; default false (ERROR 6)
     * @param maxSize largest file accepted in bytes; checked against the client's tsize before
     *     anything is accepted, and against the bytes received (ERROR 3); default 64 MiB
     */
    public record Write(boolean enabled, List<String> allow, boolean overwrite, DataSize maxSize) {

        /** WRQ off, the other keys at their defaults. */
        @SuppressWarnings("NullAway") // a null component means "the default": the canonical constructor fills it in
        static Write off() {
            return new Write(false, null, false, null);
        }

        public Write {
            allow = allow == null ? List.of() : List.copyOf(allow);
            if (maxSize == null) {
                maxSize = DataSize.ofMebibytes(64);
            }
            if (enabled && allow.isEmpty()) {
                throw new IllegalArgumentException("tftp.write.allow must list at least one pattern when tftp.write.enabled is true");
            }
            for (String a : allow) {
                if (a.startsWith("/") || a.contains("..")) {
                    throw new IllegalArgumentException("tftp.write.allow pattern must be relative to the root without '..': " + a);
                }
            }
        }
    }

    /**
     * Parses {@code host:port}, {@code [v6]:port} or {@code :port} (wildcard) with kura-config's
     * {@link dev.kura.config.HostPort}; the host is left unresolved.
     *
     * @throws IllegalArgumentException naming {@code key} when malformed
     */
    public static java.net.InetSocketAddress parseHostPort(String s, String key) {
        return dev.kura.config.HostPort.parse(s, key).unresolved();
    }
}
