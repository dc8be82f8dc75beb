package dev.kura.s3;

import dev.kura.config.DataSize;
import org.jspecify.annotations.Nullable;

import java.time.Duration;

/**
 * The {@code serve.limits:} section: what one client, or many, may hold of the data listener.
 * Without these a client can keep connections, file descriptors and memory without bound (idle
 * and slowloris connections, pipelined requests whose answers it never reads, request bodies
 * on GET). Every key is documented in {@code docs/CONFIG.md}.
 *
 * @param maxConnections open client connections at most ({@code max-connections}); a connection
 *     beyond it is accepted and closed at once (refused fast, one log line per 10 s). Also capped
 *     at start to the process's open-files limit minus a reserve for cache files and origin
 *     connections. Default 16384
 * @param idleTimeout a connection with no request in progress and no byte read or written for
 *     this long is closed ({@code idle-timeout}); default 60 s
 * @param requestHeaderTimeout the header block of a request must be complete this long after its
 *     first byte arrived, otherwise the connection is closed (slowloris; {@code
 *     request-header-timeout}); default 10 s
 * @param maxRequestBody largest request body in bytes ({@code max-request-body}); bodies are
 *     discarded unread (GET and HEAD have no use for one), a larger one gets 413 and a close.
 *     Default 8 KiB
 * @param maxPipelined requests one connection may have waiting behind the one being answered
 *     (HTTP/1.1 pipelining, RFC 9112 section 9.3.2; {@code max-pipelined}); at the bound kura stops
 *     reading from the connection until answers drain. Default 16
 *
 * <p>Thread-safety: immutable.
 */
public record ListenerLimits(int maxConnections, Duration idleTimeout, Duration requestHeaderTimeout,
                             DataSize maxRequestBody, int maxPipelined) {

    /**
     * The canonical constructor; a null or 0 argument is a key left unset and takes its default.
     *
     * @throws IllegalArgumentException naming the key of a nonsense value
     */
    public ListenerLimits(int maxConnections, @Nullable Duration idleTimeout, @Nullable Duration requestHeaderTimeout,
                          @Nullable DataSize maxRequestBody, int maxPipelined) {
        if (maxConnections == 0) {
            maxConnections = 16384;
        }
        if (maxConnections < 1 || maxConnections > 1_000_000) {
            throw new IllegalArgumentException("limits.max-connections must be 1..1000000, was " + maxConnections);
        }
        if (idleTimeout == null) {
            idleTimeout = Duration.ofSeconds(60);
        }
        if (idleTimeout.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("limits.idle-timeout must be >= 100ms, was " + idleTimeout);
        }
        if (requestHeaderTimeout == null) {
            requestHeaderTimeout = Duration.ofSeconds(10);
        }
        if (requestHeaderTimeout.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("limits.request-header-timeout must be >= 100ms, was "
                    + requestHeaderTimeout);
        }
        if (maxRequestBody == null) {
            maxRequestBody = DataSize.ofBytes(8192);
        }
        if (maxRequestBody.bytes() < 0 || maxRequestBody.bytes() > 1 << 20) {
            throw new IllegalArgumentException("limits.max-request-body must be 0B..1MiB, was " + maxRequestBody);
        }
        if (maxPipelined == 0) {
            maxPipelined = 16;
        }
        if (maxPipelined < 1 || maxPipelined > 1024) {
            throw new IllegalArgumentException("limits.max-pipelined must be 1..1024, was " + maxPipelined);
        }
        this.maxConnections = maxConnections;
        this.idleTimeout = idleTimeout;
        this.requestHeaderTimeout = requestHeaderTimeout;
        this.maxRequestBody = maxRequestBody;
        this.maxPipelined = maxPipelined;
    }

    /** Every limit at its default. */
    public static ListenerLimits defaults() {
        return new ListenerLimits(0, null, null, null, 0);
    }
}
