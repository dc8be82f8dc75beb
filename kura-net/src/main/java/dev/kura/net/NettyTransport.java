package dev.kura.net;

import dev.kura.net.internal.Natives;
import io.netty.channel.ChannelFactory;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import org.jspecify.annotations.Nullable;

import java.util.Objects;

/**
 * One resolved Netty transport: the event loops' I/O handler, the TCP server channel and the UDP
 * channel of the same kind, and why it was chosen. The one place kura serve (HTTP over TCP) and
 * kura tftp (UDP) pick a transport, so both run on the same one and say so the same way.
 *
 * <h2>Why native transports</h2>
 * Netty's epoll and io_uring transports skip the JDK selector's per-key bookkeeping and the copy
 * through a heap buffer for datagrams, and produce less garbage per packet; for TFTP's lock-step
 * mode (one 1.5 KB datagram out, one 4-byte ACK in, per block) that per-packet cost is most of the
 * server's work. {@link Transport#AUTO} prefers io_uring, then epoll, then NIO, and records the
 * reason a faster one was unavailable ({@code IoUring.unavailabilityCause()}) in {@link #why()}.
 *
 * <p>Tried and reverted (2026-12-01): epoll before io_uring for kura serve. Short side-by-side runs
 * on a machine shared with builds favoured epoll (a Zipf mix's p99 at 256 connections 452 ms
 * against 1.05 s), but the full bench/serve.sh on a quiet machine did not: the Zipf p99 was no
 * better (653 ms at 256 connections, io_uring's last run 681 ms), 1 MiB hits at 256 connections had
 * a p99 of 378 ms (io_uring: 0.86x nginx's), and 64 MiB responses at 64 connections had a p99 of
 * 39.7 s with a p50 of 2.0 s: some connections starved for most of the run.
 *
 * <p>Thread-safety: immutable; the factories it returns may be used from any thread.
 *
 * @param kind the transport actually used (never {@link Transport#AUTO})
 * @param why one line: "asked for", or what auto found unavailable
 */
public record NettyTransport(Transport kind, String why) {

    public NettyTransport {
        Objects.requireNonNull(kind, "kind");
        if (kind == Transport.AUTO) {
            throw new IllegalArgumentException("a resolved transport is never AUTO");
        }
    }

    /**
     * Resolves {@code wanted} to a transport available on this machine.
     *
     * @param wanted the configured value; null means {@link Transport#AUTO}
     * @return the transport to use; with {@code AUTO} always one (NIO at worst)
     * @throws IllegalStateException when {@code IO_URING} or {@code EPOLL} is asked for and its
     *     native library does not load here; the message carries Netty's reason
     */
    public static NettyTransport select(Transport wanted) {
        Transport w = wanted == null ? Transport.AUTO : wanted;
        return switch (w) {
            case IO_URING, EPOLL -> {
                String cause = Natives.unavailabilityCause(w);
                if (cause != null) {
                    throw new IllegalStateException("transport " + w.configName() + " is not available: " + cause);
                }
                yield new NettyTransport(w, "asked for");
            }
            case NIO -> new NettyTransport(Transport.NIO, "asked for");
            case AUTO -> {
                String uring = Natives.unavailabilityCause(Transport.IO_URING);
                if (uring == null) {
                    yield new NettyTransport(Transport.IO_URING, "auto: io_uring available");
                }
                String epoll = Natives.unavailabilityCause(Transport.EPOLL);
                if (epoll == null) {
                    yield new NettyTransport(Transport.EPOLL, "auto: io_uring unavailable (" + uring + ")");
                }
                yield new NettyTransport(Transport.NIO, "auto: io_uring and epoll unavailable (" + epoll + ")");
            }
        };
    }

    /**
     * Like {@link #select}, for a server that sends much of its output as file regions (kura
     * serve with {@code serve.zero-copy} on): {@link Transport#AUTO} takes epoll, then io_uring,
     * then NIO.
     *
     * <p>Why epoll first: epoll sends a file region with one {@code sendfile(2)}; Netty 4.2's io_uring
     * transport splices it into a pipe and from the pipe into the socket, two submissions per
     * region. Measured on 1 MiB memory-tier hits sent as regions at 256 connections, kura / nginx
     * req/s in one run each: 1.23x on epoll, 0.86x on io_uring (docs/SERVE.md, "Zero-copy memory
     * hits").
     *
     * @throws IllegalStateException as {@link #select}
     */
    public static NettyTransport selectForFileRegions(Transport wanted) {
        if (wanted != null && wanted != Transport.AUTO) {
            return select(wanted);
        }
        String epoll = Natives.unavailabilityCause(Transport.EPOLL);
        if (epoll == null) {
            return new NettyTransport(Transport.EPOLL, "auto: epoll (zero-copy sends: io_uring splices each file region through a pipe)");
        }
        NettyTransport other = select(Transport.AUTO);
        return new NettyTransport(other.kind, "auto: epoll unavailable (" + epoll + "); " + other.why);
    }

    /**
     * Like {@link #select}, for a server that opens a UDP socket per conversation (kura tftp: one
     * per transfer, RFC 1350's TID): {@link Transport#AUTO} takes epoll, then NIO, and io_uring only
     * when asked for by name.
     *
     * <p>Why not io_uring by default: Netty 4.2's {@code IoUringDatagramChannel} preallocates
     * batches of {@code msghdr} structures per channel for its {@code recvmsg}/{@code sendmsg}
     * submissions (256 {@code MsgHdrMemory} objects, each with its direct buffers). Measured with
     * 1,000 concurrent TFTP transfers: about 200,000 {@code MsgHdrMemory} and 800,000
     * {@code DirectByteBuffer} objects, some 65 MiB of heap for the sockets alone, and an
     * {@code OutOfMemoryError} in a heap sized for the transfers. An epoll datagram channel holds a
     * file descriptor and a few objects.
     *
     * @throws IllegalStateException as {@link #select}
     */
    public static NettyTransport selectForDatagramPerPeer(Transport wanted) {
        if (wanted != null && wanted != Transport.AUTO) {
            return select(wanted);
        }
        String epoll = Natives.unavailabilityCause(Transport.EPOLL);
        if (epoll == null) {
            return new NettyTransport(Transport.EPOLL, "auto: epoll (io_uring datagram channels cost ~80 KiB of heap each)");
        }
        return new NettyTransport(Transport.NIO, "auto: epoll unavailable (" + epoll + ")");
    }

    /** The name as printed: {@code io_uring}, {@code epoll} or {@code nio}. */
    public String name() {
        return kind.configName();
    }

    /** The I/O handler factory for {@code new MultiThreadIoEventLoopGroup(n, factory)}. */
    public IoHandlerFactory ioHandlerFactory() {
        return Natives.ioHandlerFactory(kind);
    }

    /** The TCP listening channel class for a {@code ServerBootstrap}. */
    public Class<? extends ServerChannel> serverChannel() {
        return Natives.serverChannel(kind);
    }

    /**
     * A factory of UDP channels of this transport.
     *
     * @param family {@code INET} or {@code INET6} for a socket of that family; null for the
     *     transport's default (a dual-stack IPv6 socket where the host has IPv6, which also takes
     *     IPv4 traffic as mapped addresses)
     */
    public ChannelFactory<DatagramChannel> datagramChannel(@Nullable SocketProtocolFamily family) {
        return Natives.datagramChannel(kind, family);
    }

    /**
     * Sets or clears {@code TCP_CORK} on a socket channel of the epoll or io_uring transport
     * ({@code tcp(7)}): while set, the kernel sends only full segments and holds a partial one
     * until the cork is cleared (or 200 ms have passed), which is how nginx's {@code tcp_nopush}
     * keeps a response's {@code sendfile(2)} calls from each ending in a small segment.
     *
     * @return true when the option was applied; false on a transport without it (NIO: the JDK has
     *     no {@code TCP_CORK}), where nothing changes
     */
    public static boolean setCork(io.netty.channel.Channel ch, boolean on) {
        // instanceof loads the classes without initialising them: safe where a native library is missing
        if (ch instanceof io.netty.channel.epoll.EpollSocketChannel) {
            return ch.config().setOption(io.netty.channel.epoll.EpollChannelOption.TCP_CORK, on);
        }
        if (ch instanceof io.netty.channel.uring.IoUringSocketChannel) {
            return ch.config().setOption(io.netty.channel.uring.IoUringChannelOption.TCP_CORK, on);
        }
        return false;
    }

    @Override
    public String toString() {
        return name() + " (" + why + ")";
    }
}
