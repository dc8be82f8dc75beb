package dev.kura.tftp.internal;

import dev.kura.config.LogRateLimiter;
import dev.kura.io.IoFile;
import dev.kura.tftp.TftpSource;
import dev.kura.io.OpenFlag;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The listener (port 69 by default): takes RRQ and WRQ, answers everything else.
 *
 * <ul>
 *   <li>RRQ / WRQ: parsed, checked (mode, limits, jail, options), then handed to a new
 *       {@link Transfer} on its own socket. A refused request gets its ERROR from this port.</li>
 *   <li>DATA / ACK: not part of any transfer here: ERROR 5.</li>
 *   <li>OACK and unknown opcodes: ERROR 4. ERROR and packets under 2 bytes: dropped.</li>
 * </ul>
 * Nothing a client sends can throw out of here: the listener keeps serving.
 *
 * <p>The blocking part of a request (resolving the path, opening the file) runs on
 * {@link ServerContext#blocking} so that a slow disk never holds up the listener.
 */
@ChannelHandler.Sharable
final class RequestHandler extends SimpleChannelInboundHandler<DatagramPacket> {

    private final ServerContext ctx;
    /** Refusals (traversal, writes not allowed) are logged, but at most 20 lines a second. */
    private final LogRateLimiter refusalLog = new LogRateLimiter(20, java.time.Duration.ofSeconds(1));

    RequestHandler(ServerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext c, DatagramPacket p) {
        InetSocketAddress sender = p.sender();
        ByteBuf content = p.content();
        int op = Packets.opcode(content);
        try {
            switch (op) {
                case -1, Packets.ERROR -> {
                    // Nothing to answer: a runt, or an ERROR for no transfer.
                }
                case Packets.RRQ, Packets.WRQ -> request(c.channel(), sender, content);
                case Packets.DATA, Packets.ACK -> reply(c.channel(), sender, Packets.ERR_UNKNOWN_TID, "unknown transfer ID");
                default -> reply(c.channel(), sender, Packets.ERR_ILLEGAL_OPERATION, "illegal TFTP operation: opcode " + op);
            }
        } catch (RuntimeException e) {
            ServerContext.LOG.error("request from {}: internal error", sender, e);
        }
    }

    /** A socket error on the listener (e.g. an ICMP error for a reply): logged, the listener keeps serving. */
    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
        ServerContext.LOG.debug("listener {}: socket error: {}", c.channel().localAddress(), cause.toString());
    }

    private void reply(Channel listener, InetSocketAddress to, int code, @Nullable String message) {
        listener.writeAndFlush(new DatagramPacket(Packets.error(ctx.alloc, code, message == null ? "" : message), to), listener.voidPromise());
    }

    private void request(Channel listener, InetSocketAddress sender, ByteBuf content) {
        Packets.Request req;
        try {
            req = Packets.parseRequest(content);
        } catch (Packets.MalformedPacketException e) {
            ctx.metrics.refused("malformed");
            ServerContext.LOG.debug("malformed request from {}: {}", sender, e.getMessage());
            reply(listener, sender, e.errorCode(), e.getMessage());
            return;
        }
        boolean netascii;
        switch (req.mode()) {
            case "octet" -> netascii = false;
            case "netascii" -> netascii = true;
            case "mail" -> {
                ctx.metrics.refused("mode");
                reply(listener, sender, Packets.ERR_ILLEGAL_OPERATION, "mail mode is not supported");
                return;
            }
            default -> {
                ctx.metrics.refused("mode");
                reply(listener, sender, Packets.ERR_ILLEGAL_OPERATION, "unknown transfer mode: " + req.mode());
                return;
            }
        }
        if (req.opcode() == Packets.WRQ && !ctx.config.write().enabled()) {
            ctx.metrics.refused("write-disabled");
            reply(listener, sender, Packets.ERR_ACCESS_VIOLATION, "writing is disabled on this server");
            return;
        }
        int hash = content.hashCode();
        Integer previous = ctx.requests.put(sender, hash);
        if (previous != null && previous == hash) {
            ctx.metrics.refused("duplicate");
            ServerContext.LOG.debug("dropped a repeated request from {} (a transfer for it is under way)", sender);
            return;
        }
        String busy = ctx.limits.tryAcquire(sender.getAddress());
        if (busy != null) {
            ctx.requests.remove(sender, hash);
            ctx.metrics.refused("busy");
            ServerContext.LOG.debug("refused {} from {}: {}", req.filename(), sender, busy);
            reply(listener, sender, Packets.ERR_NOT_DEFINED, busy);
            return;
        }
        ctx.blocking.execute(() -> setUp(listener, sender, req, netascii, hash));
    }

    private void setUp(Channel listener, InetSocketAddress sender, Packets.Request req, boolean netascii, int hash) {
        Transfer t;
        try {
            t = req.opcode() == Packets.RRQ ? setUpRead(sender, req, netascii) : setUpWrite(sender, req, netascii);
            t.requestHash = hash;
        } catch (RootJail.Refused e) {
            ctx.limits.release(sender.getAddress());
            ctx.requests.remove(sender, hash);
            ctx.metrics.refused(switch (e.code()) {
                case Packets.ERR_ACCESS_VIOLATION -> "access";
                case Packets.ERR_FILE_NOT_FOUND -> "not-found";
                default -> "unavailable";
            });
            long dropped;
            if (e.code() == Packets.ERR_ACCESS_VIOLATION && (dropped = refusalLog.admit()) >= 0) {
                ServerContext.LOG.warn("refused {} \"{}\" from {}: {}{}", req.opcode() == Packets.RRQ ? "RRQ" : "WRQ",
                        req.filename(), sender, e.getMessage(),
                        dropped > 0 ? " (" + dropped + " similar lines suppressed)" : "");
            } else {
                ServerContext.LOG.debug("{} from {}: {}", req.filename(), sender, e.getMessage());
            }
            reply(listener, sender, e.code(), e.getMessage());
            return;
        } catch (Packets.MalformedPacketException e) {
            ctx.limits.release(sender.getAddress());
            ctx.requests.remove(sender, hash);
            ctx.metrics.refused("option");
            reply(listener, sender, e.errorCode(), e.getMessage());
            return;
        } catch (IOException | RuntimeException e) {
            ctx.limits.release(sender.getAddress());
            ctx.requests.remove(sender, hash);
            ctx.metrics.refused("io");
            ServerContext.LOG.warn("{} from {}: cannot open: {}", req.filename(), sender, e.toString());
            reply(listener, sender, Packets.ERR_ACCESS_VIOLATION, "cannot open " + req.filename());
            return;
        }
        ctx.openTransfer(t);
    }

    private Transfer setUpRead(InetSocketAddress sender, Packets.Request req, boolean netascii)
            throws RootJail.Refused, IOException, Packets.MalformedPacketException {
        TftpSource.OpenObject file;
        if (ctx.source != null) {
            String key = RootJail.objectKey(req.filename());
            try {
                file = ctx.source.open(key);
            } catch (NoSuchFileException e) {
                throw new RootJail.Refused(Packets.ERR_FILE_NOT_FOUND, "file not found: " + req.filename());
            } catch (AccessDeniedException e) {
                throw new RootJail.Refused(Packets.ERR_ACCESS_VIOLATION, "access denied: " + req.filename());
            } catch (IOException e) {
                throw new RootJail.Refused(Packets.ERR_NOT_DEFINED, "cannot read " + req.filename() + ": " + e.getMessage());
            }
        } else {
            Path path = Objects.requireNonNull(ctx.jail, "no source, so a root").resolveRead(req.filename());
            IoFile f = ctx.io.open(path, OpenFlag.READ);
            try {
                file = new IoFileObject(f, f.size());
            } catch (IOException | RuntimeException e) {
                f.close();
                throw e;
            }
        }
        try {
            long size = file.size();
            Negotiation n = Negotiation.negotiate(req, ctx.config, netascii ? -1 : size);
            // The source starts reading at once: the first window is read while the socket binds.
            io.netty.channel.EventLoop loop = ctx.group.next();
            FileBlockReader raw = new FileBlockReader(file, loop, ctx.alloc, (int) ctx.config.readChunk().bytes());
            BlockSource source = netascii ? new NetasciiEncoder(raw) : raw;
            return new ReadTransfer(ctx, sender, req.filename(), n, source, loop);
        } catch (Packets.MalformedPacketException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private Transfer setUpWrite(InetSocketAddress sender, Packets.Request req, boolean netascii)
            throws RootJail.Refused, IOException, Packets.MalformedPacketException {
        boolean overwrite = ctx.config.write().overwrite();
        RootJail jail = ctx.jail;
        if (jail == null) {
            // tftp.source is read-only: without this a WRQ met a null jail (found by NullAway)
            throw new RootJail.Refused(Packets.ERR_ACCESS_VIOLATION, "writing is not possible when serving tftp.source");
        }
        Path target = jail.resolveWrite(req.filename(), overwrite);
        Negotiation n = Negotiation.negotiate(req, ctx.config, -1);
        Path temp = target.resolveSibling("." + target.getFileName() + ".kura-tftp-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".part");
        IoFile file = ctx.io.open(temp, OpenFlag.WRITE, OpenFlag.CREATE_NEW);
        return new WriteTransfer(ctx, sender, req.filename(), n, target, temp, file, overwrite, netascii);
    }
}
