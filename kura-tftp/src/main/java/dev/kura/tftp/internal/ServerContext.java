package dev.kura.tftp.internal;

import dev.kura.io.FileIo;
import dev.kura.tftp.TftpConfig;
import dev.kura.tftp.TftpSource;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.function.Function;

/**
 * What every transfer shares: configuration, the file I/O backend, the jail, limits, meters, the
 * event loops and a way to open a transfer's own UDP socket.
 */
final class ServerContext {

    static final Logger LOG = LoggerFactory.getLogger("dev.kura.tftp");
    /** One line per finished transfer. */
    static final Logger TRANSFER_LOG = LoggerFactory.getLogger("dev.kura.tftp.transfer");

    final TftpConfig config;
    final FileIo io;
    /** The root's jail; null when RRQs are served from {@link #source}. */
    final @Nullable RootJail jail;
    /** Where RRQ bytes come from instead of the root (a cached bucket); null for the root. */
    final @Nullable TftpSource source;
    final Limits limits;
    final TftpMetrics metrics;
    final EventLoopGroup group;
    final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    /** Runs the blocking parts of request set-up (path resolution, open, rename) off the event loops. */
    final ExecutorService blocking;
    /**
     * Requests being served, by client endpoint: the hash of the request's bytes. A client whose
     * RRQ/WRQ went unanswered for a while sends it again; a second transfer for it would never be
     * acknowledged (the client follows the first TID to answer) and would hold a slot until it
     * timed out. So an identical request from an endpoint already being served is dropped.
     */
    final java.util.concurrent.ConcurrentHashMap<InetSocketAddress, Integer> requests = new java.util.concurrent.ConcurrentHashMap<>();
    private final Function<Boolean, ChannelFactory<? extends DatagramChannel>> channels;

    ServerContext(TftpConfig config, FileIo io, @Nullable RootJail jail, @Nullable TftpSource source, TftpMetrics metrics, EventLoopGroup group,
                  ExecutorService blocking, Function<Boolean, ChannelFactory<? extends DatagramChannel>> channels) {
        this.config = config;
        this.io = io;
        this.jail = jail;
        this.source = source;
        this.limits = new Limits(config.maxTransfers(), config.maxTransfersPerClient());
        this.metrics = metrics;
        this.group = group;
        this.blocking = blocking;
        this.channels = channels;
    }

    /**
     * Binds a new UDP socket on an ephemeral port (the transfer's TID, RFC 1350 sec. 4), of the
     * client's address family, and hands it to {@code transfer} on its event loop.
     */
    void openTransfer(Transfer transfer) {
        if (transfer.loop.isShuttingDown()) {
            transfer.setupFailed("server stopping");
            return;
        }
        boolean v6 = transfer.client.getAddress() instanceof Inet6Address;
        int recv = transfer.receiveBufferSize();
        new Bootstrap().group(transfer.loop)
                .channelFactory(channels.apply(v6))
                .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(recv))
                // Received ACKs from the same pooled allocator as the DATA blocks: one set of
                // arenas rather than a second (Netty 4.2's default adaptive allocator, whose
                // chunks grow to 8 MiB), measured ~5-25 MiB of RSS at 1,000 transfers.
                .option(ChannelOption.ALLOCATOR, alloc)
                .handler(transfer)
                .bind(new InetSocketAddress(v6 ? "::" : "0.0.0.0", 0))
                .addListener(f -> {
                    if (f.isSuccess()) {
                        transfer.start(((ChannelFuture) f).channel());
                    } else {
                        transfer.setupFailed("cannot bind a transfer socket: " + f.cause());
                    }
                });
    }
}
