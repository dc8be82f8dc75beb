package dev.kura.net;

import dev.kura.net.internal.Natives;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketProtocolFamily;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Each transport, where it loads, carries a UDP datagram both ways and accepts a TCP connection. */
class NettyTransportTest {

    @Test
    void autoResolvesToAnAvailableTransportAndSaysWhy() {
        NettyTransport t = NettyTransport.select(Transport.AUTO);
        assertThat(t.kind()).isNotEqualTo(Transport.AUTO);
        assertThat(Natives.unavailabilityCause(t.kind())).isNull();
        assertThat(t.why()).startsWith("auto: ");
        assertThat(NettyTransport.select(null).kind()).isEqualTo(t.kind());
    }

    @Test
    void fileRegionServersPreferEpollAndTakeWhatIsAskedFor() {
        NettyTransport t = NettyTransport.selectForFileRegions(Transport.AUTO);
        if (Natives.unavailabilityCause(Transport.EPOLL) == null) {
            assertThat(t.kind()).isEqualTo(Transport.EPOLL);
        } else {
            assertThat(t.kind()).isEqualTo(NettyTransport.select(Transport.AUTO).kind());
        }
        assertThat(t.why()).startsWith("auto: ");
        assertThat(NettyTransport.selectForFileRegions(null).kind()).isEqualTo(t.kind());
        assertThat(NettyTransport.selectForFileRegions(Transport.NIO).kind()).isEqualTo(Transport.NIO);
        if (Natives.unavailabilityCause(Transport.IO_URING) == null) {
            assertThat(NettyTransport.selectForFileRegions(Transport.IO_URING).kind()).isEqualTo(Transport.IO_URING);
        }
    }

    @Test
    void perPeerDatagramsPreferEpollAndTakeIoUringOnlyByName() {
        NettyTransport t = NettyTransport.selectForDatagramPerPeer(Transport.AUTO);
        assertThat(t.kind()).isEqualTo(Natives.unavailabilityCause(Transport.EPOLL) == null ? Transport.EPOLL : Transport.NIO);
        assertThat(t.why()).startsWith("auto: ");
        assertThat(NettyTransport.selectForDatagramPerPeer(Transport.NIO).kind()).isEqualTo(Transport.NIO);
        if (Natives.unavailabilityCause(Transport.IO_URING) == null) {
            assertThat(NettyTransport.selectForDatagramPerPeer(Transport.IO_URING).kind()).isEqualTo(Transport.IO_URING);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IO_URING", "EPOLL"})
    void askingForAnUnavailableNativeTransportFailsWithTheReason(Transport t) {
        String cause = Natives.unavailabilityCause(t);
        assumeTrue(cause != null, t + " is available here, nothing to refuse");
        assertThatThrownBy(() -> NettyTransport.select(t)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(t.configName()).hasMessageContaining("not available");
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IO_URING", "EPOLL", "NIO"})
    void datagramEchoAndTcpAccept(Transport kind) throws Exception {
        String cause = Natives.unavailabilityCause(kind);
        assumeTrue(cause == null, () -> kind + " unavailable here: " + cause);
        NettyTransport t = NettyTransport.select(kind);
        assertThat(t.kind()).isEqualTo(kind);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, t.ioHandlerFactory());
        try {
            Channel udp = new Bootstrap().group(group).channelFactory(t.datagramChannel(SocketProtocolFamily.INET))
                    .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext c, DatagramPacket p) {
                            c.writeAndFlush(new DatagramPacket(p.content().retain(), p.sender()));
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            try (DatagramSocket s = new DatagramSocket()) {
                s.setSoTimeout(5000);
                byte[] out = ("hello over " + kind).getBytes(StandardCharsets.US_ASCII);
                s.send(new java.net.DatagramPacket(out, out.length, udp.localAddress()));
                java.net.DatagramPacket in = new java.net.DatagramPacket(new byte[100], 100);
                s.receive(in);
                assertThat(new String(in.getData(), 0, in.getLength(), StandardCharsets.US_ASCII))
                        .isEqualTo("hello over " + kind);
            }
            udp.close().sync();

            Channel tcp = new ServerBootstrap().group(group).channel(t.serverChannel())
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext c) {
                            c.writeAndFlush(Unpooled.copiedBuffer("hi", StandardCharsets.US_ASCII))
                                    .addListener(f -> c.close());
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            try (Socket s = new Socket()) {
                s.connect(tcp.localAddress(), 5000);
                s.setSoTimeout(5000);
                InputStream in = s.getInputStream();
                assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("hi");
            }
            tcp.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
