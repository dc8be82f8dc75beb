package dev.kura.tftp.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.kura.io.FileIo;
import dev.kura.net.NettyTransport;
import dev.kura.tftp.TftpConfig;
import dev.kura.tftp.TftpSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/** Wiring behind {@link dev.kura.tftp.TftpServer}: event loops, listeners, context. */
public final class ServerInternals {

    private final EventLoopGroup group;
    private final ExecutorService blocking;
    private final List<Channel> listeners;
    private final List<InetSocketAddress> addresses;
    private final ServerContext ctx;
    private final NettyTransport transport;
    @GuardedBy("this")
    private boolean closed;

    private ServerInternals(EventLoopGroup group, ExecutorService blocking, List<Channel> listeners,
                            List<InetSocketAddress> addresses, ServerContext ctx, NettyTransport transport) {
        this.transport = transport;
        this.group = group;
        this.blocking = blocking;
        this.listeners = listeners;
        this.addresses = addresses;
        this.ctx = ctx;
    }

    public static ServerInternals start(TftpConfig config, FileIo io, MeterRegistry registry, @Nullable TftpSource source)
            throws IOException {
        RootJail jail = source == null ? new RootJail(Path.of(Objects.requireNonNull(config.root(), "tftp.root or tftp.source")), config.write().allow()) : null;
        NettyTransport transport = NettyTransport.selectForDatagramPerPeer(config.transport());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(Math.max(2, Runtime.getRuntime().availableProcessors()),
                transport.ioHandlerFactory());
        ExecutorService blocking = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("kura-tftp-setup-", 0).factory());
        ServerContext ctx = new ServerContext(config, io, jail, source, new TftpMetrics(registry), group, blocking,
                v6 -> transport.datagramChannel(v6 ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET));
        RequestHandler handler = new RequestHandler(ctx);
        List<Channel> listeners = new ArrayList<>();
        List<InetSocketAddress> addresses = new ArrayList<>();
        try {
            for (String l : config.listen()) {
                InetSocketAddress spec = TftpConfig.parseHostPort(l, "tftp.listen");
                InetSocketAddress bindTo;
                ChannelFactory<DatagramChannel> factory;
                if (spec.isUnresolved()) {
                    InetAddress a = InetAddress.getByName(spec.getHostString());
                    bindTo = new InetSocketAddress(a, spec.getPort());
                    factory = transport.datagramChannel(a instanceof Inet4Address ? SocketProtocolFamily.INET : null);
                } else {
                    bindTo = spec;
                    factory = transport.datagramChannel(null);
                }
                Channel ch = new Bootstrap().group(group).channelFactory(factory)
                        .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(2048))
                        .option(ChannelOption.SO_RCVBUF, 4 << 20)
                        .option(ChannelOption.ALLOCATOR, ctx.alloc)
                        .handler(handler)
                        .bind(bindTo).syncUninterruptibly().channel();
                listeners.add(ch);
                addresses.add((InetSocketAddress) ch.localAddress());
                ServerContext.LOG.info("tftp listening on {} root={} transport={} blksize-max={} windowsize-max={} write={}",
                        ch.localAddress(), jail != null ? jail.realRoot() : "(source " + source + ")", transport, config.blksizeMax(), config.windowsizeMax(),
                        config.write().enabled() ? config.write().allow() : "off");
            }
        } catch (RuntimeException e) {
            listeners.forEach(Channel::close);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            blocking.shutdown();
            throw new IOException("cannot bind tftp listener: " + e.getMessage(), e);
        }
        return new ServerInternals(group, blocking, listeners, List.copyOf(addresses), ctx, transport);
    }

    public List<InetSocketAddress> addresses() {
        return addresses;
    }

    /** See {@link dev.kura.tftp.TftpServer#warmUp()}. */
    public boolean warmUp() {
        return Warmup.run(addresses.getFirst(), ctx.jail != null ? ctx.jail.realRoot() : null);
    }

    public NettyTransport transport() {
        return transport;
    }

    public int activeTransfers() {
        return ctx.metrics.active.get();
    }

    public long bufferBytes() {
        return ctx.metrics.bufferBytes.get();
    }

    public long peakTransferBufferBytes() {
        return ctx.metrics.peakTransferBytes.get();
    }

    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        listeners.forEach(c -> c.close().syncUninterruptibly());
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        blocking.shutdown();
        try {
            blocking.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
