package dev.kura.net.internal;

import dev.kura.net.Transport;
import io.netty.channel.ChannelFactory;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import org.jspecify.annotations.Nullable;

/**
 * The only class that names Netty's per-transport classes: availability probes and factories.
 * Touching {@code IoUring} or {@code Epoll} loads their native library once (Netty caches the
 * result and the cause of a failure).
 *
 * <p>Thread-safety: stateless.
 */
public final class Natives {

    private Natives() {
    }

    /** Null when {@code t} loads here, else Netty's reason why not. */
    public static @Nullable String unavailabilityCause(Transport t) {
        return switch (t) {
            case IO_URING -> IoUring.isAvailable() ? null : String.valueOf(IoUring.unavailabilityCause());
            case EPOLL -> Epoll.isAvailable() ? null : String.valueOf(Epoll.unavailabilityCause());
            case NIO -> null;
            case AUTO -> throw new IllegalArgumentException("AUTO is resolved first");
        };
    }

    public static IoHandlerFactory ioHandlerFactory(Transport t) {
        return switch (t) {
            case IO_URING -> IoUringIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
            case AUTO -> throw new IllegalArgumentException("AUTO is resolved first");
        };
    }

    public static Class<? extends ServerChannel> serverChannel(Transport t) {
        return switch (t) {
            case IO_URING -> IoUringServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            case NIO -> NioServerSocketChannel.class;
            case AUTO -> throw new IllegalArgumentException("AUTO is resolved first");
        };
    }

    public static ChannelFactory<DatagramChannel> datagramChannel(Transport t, @Nullable SocketProtocolFamily family) {
        return switch (t) {
            case IO_URING -> family == null ? IoUringDatagramChannel::new : () -> new IoUringDatagramChannel(family);
            case EPOLL -> family == null ? EpollDatagramChannel::new : () -> new EpollDatagramChannel(family);
            case NIO -> family == null ? NioDatagramChannel::new : () -> new NioDatagramChannel(family);
            case AUTO -> throw new IllegalArgumentException("AUTO is resolved first");
        };
    }
}
