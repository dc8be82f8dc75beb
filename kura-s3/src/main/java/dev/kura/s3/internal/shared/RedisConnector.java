package dev.kura.s3.internal.shared;

import dev.kura.s3.SharedCacheConfig;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One Lettuce connection to the shared tier's server or cluster, made in the background and made
 * again when it cannot be had, so that kura starts and serves whether or not the server is up.
 *
 * <p>Design. Lettuce multiplexes every command over one connection (Redis is single-threaded per
 * server; one pipelined connection is how Lettuce is meant to be used), reconnects by itself once
 * a connection was made (exponential back-off from 50 ms to 2 s, so a server back after a restart is
 * in use again within about 2 s), and, with {@code REJECT_COMMANDS}, fails commands at once while
 * disconnected instead of queueing them. The first connection is the one Lettuce does not retry:
 * {@link #commands()} starts another attempt, at most one every {@link #RETRY_NANOS}, and returns null
 * until one succeeds (the caller counts that as "unavailable").
 *
 * <p>Every command also has Lettuce's own timeout (the tier's {@code timeout}), so a hung server
 * does not pile up commands in the connection.
 *
 * <p>Thread-safety: safe for concurrent use; {@link #connect} runs at most once at a time
 * ({@code @GuardedBy("this")} for {@code attempt}).
 */
final class RedisConnector implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RedisConnector.class);
    /** Least time between two first-connection attempts (nanoseconds). */
    static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final SharedCacheConfig config;
    private final ClientResources resources;
    private final AbstractRedisClient client;
    private volatile @Nullable StatefulConnection<byte[], byte[]> connection;
    private volatile @Nullable RedisClusterAsyncCommands<byte[], byte[]> commands;
    /** The attempt in flight, if any. Guarded by this. */
    private @Nullable CompletableFuture<?> attempt;
    /** System.nanoTime of the last attempt's start. Guarded by this. */
    private long lastAttempt;
    private volatile boolean closed;

    RedisConnector(SharedCacheConfig config) {
        this.config = config;
        this.resources = ClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(1)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(2), 2, TimeUnit.MILLISECONDS))
                .build();
        SocketOptions socket = SocketOptions.builder()
                .connectTimeout(Duration.ofMillis(Math.max(1000, config.timeout().toMillis()))).build();
        TimeoutOptions timeouts = TimeoutOptions.enabled(config.timeout());
        if (config.mode() == SharedCacheConfig.Mode.CLUSTER) {
            RedisClusterClient c = RedisClusterClient.create(resources,
                    config.uris().stream().map(u -> RedisURI.create(u)).toList());
            c.setOptions(ClusterClientOptions.builder().autoReconnect(true).socketOptions(socket)
                    .timeoutOptions(timeouts).disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .build());
            this.client = c;
        } else {
            RedisClient c = RedisClient.create(resources);
            c.setOptions(ClientOptions.builder().autoReconnect(true).socketOptions(socket).timeoutOptions(timeouts)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS).build());
            this.client = c;
        }
        synchronized (this) {
            connect();
        }
    }

    /**
     * The commands of the connection, or null while there is none (a first-connection attempt is
     * then started, unless one ran less than {@link #RETRY_NANOS} ago).
     */
    @Nullable RedisClusterAsyncCommands<byte[], byte[]> commands() {
        RedisClusterAsyncCommands<byte[], byte[]> c = commands;
        if (c == null && !closed) {
            synchronized (this) {
                if (attempt == null && System.nanoTime() - lastAttempt >= RETRY_NANOS) {
                    connect();
                }
            }
        }
        return c;
    }

    /** True while a connection is made and open (Lettuce may be reconnecting it otherwise). */
    boolean connected() {
        StatefulConnection<byte[], byte[]> c = connection;
        return c != null && c.isOpen() && !closed;
    }

    // @GuardedBy("this")
    private void connect() {
        lastAttempt = System.nanoTime();
        CompletableFuture<? extends StatefulConnection<byte[], byte[]>> f;
        try {
            if (client instanceof RedisClusterClient cc) {
                f = cc.connectAsync(ByteArrayCodec.INSTANCE);
            } else {
                f = ((RedisClient) client).connectAsync(ByteArrayCodec.INSTANCE,
                        RedisURI.create(config.uris().getFirst())).toCompletableFuture();
            }
        } catch (RuntimeException e) {
            log.warn("shared tier: cannot connect to {}: {}", config.uris(), e.toString());
            return;
        }
        attempt = f;
        f.whenComplete((conn, err) -> {
            synchronized (this) {
                attempt = null;
            }
            if (err != null) {
                log.warn("shared tier: cannot connect to {} (retrying, the tier is skipped meanwhile): {}",
                        config.uris(), err.toString());
                return;
            }
            if (closed) {
                conn.closeAsync();
                return;
            }
            connection = conn;
            commands = conn instanceof io.lettuce.core.cluster.api.StatefulRedisClusterConnection<byte[], byte[]> cc
                    ? cc.async()
                    : ((io.lettuce.core.api.StatefulRedisConnection<byte[], byte[]>) conn).async();
            log.info("shared tier: connected to {} ({})", config.uris(),
                    config.mode().name().toLowerCase(java.util.Locale.ROOT));
        });
    }

    @Override
    public void close() {
        closed = true;
        StatefulConnection<byte[], byte[]> c = connection;
        commands = null;
        try {
            if (c != null) {
                c.close();
            }
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            resources.shutdown(0, 2, TimeUnit.SECONDS);
        } catch (RuntimeException e) {
            log.warn("shared tier: closing the client: {}", e.toString());
        }
    }
}
