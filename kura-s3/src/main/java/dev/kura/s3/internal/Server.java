package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.net.NettyTransport;
import dev.kura.s3.ServeConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The Netty server: one boss thread accepting, event-loop threads running the HTTP codec and
 * {@link HttpHandler}. Graceful stop (SIGTERM): close the listening socket, wait for requests in
 * flight up to {@code serve.shutdown-timeout}, then close every connection and the loops.
 */
public final class Server {
    private static final Logger log = LoggerFactory.getLogger(Server.class);

    private final ProxyCore core;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Channel listener;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final NettyTransport transport;

    private Server(ProxyCore core, EventLoopGroup boss, EventLoopGroup workers, Channel listener, NettyTransport t) {
        this.core = core;
        this.boss = boss;
        this.workers = workers;
        this.listener = listener;
        this.transport = t;
    }

    /** Binds and starts serving. */
    public static Server start(ServeConfig config, Cache cache) throws InterruptedException {
        return start(config, cache, new ProxyCore(config, cache));
    }

    /** Binds and starts serving with origins from {@code origins} (a seam for tests: a fake origin). */
    static Server start(ServeConfig config, Cache cache, java.util.function.Function<dev.kura.s3.BucketConfig, Origin> origins,
                        long sliceSize) throws InterruptedException {
        return start(config, cache, new ProxyCore(config, cache, origins, sliceSize));
    }

    private static Server start(ServeConfig config, Cache cache, ProxyCore core) throws InterruptedException {
        NettyTransport t = NettyTransport.select(config.transport());
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, t.ioHandlerFactory());
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(config.eventLoopThreads(), t.ioHandlerFactory());
        ChannelGroup[] group = new ChannelGroup[1];
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(t.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // Above Netty's 64 KiB default: a whole 256 KiB chunk fits, so the next cache read
                // overlaps the socket draining the previous one; still bounded per connection.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(512 * 1024, 1024 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        group[0].add(ch);
                        ch.pipeline()
                                .addLast(new HttpServerCodec((int) config.maxUrlLength().bytes(),
                                        (int) config.maxHeaderSize().bytes(), 65536))
                                .addLast(new HttpServerKeepAliveHandler())
                                .addLast(new HttpObjectAggregator(65536))
                                .addLast(new HttpHandler(core));
                    }
                });
        Channel ch;
        try {
            ch = b.bind(new InetSocketAddress(config.host(), config.port())).sync().channel();
        } catch (RuntimeException | InterruptedException e) {
            boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            core.close(0);
            throw e;
        }
        Server s = new Server(core, boss, workers, ch, t);
        group[0] = s.connections;
        log.info("kura serve listening on {} (transport {}: {})", ch.localAddress(), t.name(), t.why());
        return s;
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    public String transport() {
        return transport.name();
    }

    public ProxyCore core() {
        return core;
    }

    /** Stops accepting, waits for requests in flight up to {@code timeoutMillis}, closes everything. */
    public void stop(long timeoutMillis) {
        listener.close().awaitUninterruptibly();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (core.inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int left = core.inFlight.get();
        if (left > 0) {
            log.warn("shutdown: {} requests still in flight after {} ms, closing them", left, timeoutMillis);
        }
        connections.close().awaitUninterruptibly();
        core.close(Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
