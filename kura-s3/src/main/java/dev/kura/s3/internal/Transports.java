package dev.kura.s3.internal;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;

/**
 * Picks Netty's transport: io_uring, then epoll, then NIO ({@code serve.transport: auto}), or the
 * one asked for. Netty's native transports need their {@code linux-x86_64} jars, which kura-s3
 * ships; on another machine or a kernel without io_uring, auto falls back and says why.
 */
final class Transports {

    /** The chosen transport. */
    record Choice(String name, IoHandlerFactory factory, Class<? extends ServerChannel> serverChannel, String why) {
    }

    private Transports() {
    }

    static Choice choose(String wanted) {
        return switch (wanted) {
            case "io_uring" -> {
                if (!IoUring.isAvailable()) {
                    throw new IllegalStateException("serve.transport io_uring is not available: "
                            + IoUring.unavailabilityCause());
                }
                yield ioUring("asked for");
            }
            case "epoll" -> {
                if (!Epoll.isAvailable()) {
                    throw new IllegalStateException("serve.transport epoll is not available: " + Epoll.unavailabilityCause());
                }
                yield epoll("asked for");
            }
            case "nio" -> nio("asked for");
            default -> {
                if (IoUring.isAvailable()) {
                    yield ioUring("auto: io_uring available");
                }
                if (Epoll.isAvailable()) {
                    yield epoll("auto: io_uring unavailable (" + IoUring.unavailabilityCause() + ")");
                }
                yield nio("auto: io_uring and epoll unavailable (" + Epoll.unavailabilityCause() + ")");
            }
        };
    }

    private static Choice ioUring(String why) {
        return new Choice("io_uring", IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class, why);
    }

    private static Choice epoll(String why) {
        return new Choice("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class, why);
    }

    private static Choice nio(String why) {
        return new Choice("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, why);
    }
}
