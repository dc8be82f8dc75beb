package dev.kura.tftp;

import dev.kura.io.FileIo;
import dev.kura.tftp.internal.ServerInternals;
import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * kura's TFTP server: RFC 1350 (RRQ, WRQ, octet and netascii), RFC 2347 option negotiation,
 * RFC 2348 blksize, RFC 2349 timeout and tsize, RFC 7440 windowsize.
 *
 * <h2>Design</h2>
 * <p><b>Sockets.</b> Netty UDP on the transport {@code tftp.transport} selects (epoll, then NIO;
 * {@link dev.kura.net.NettyTransport#selectForDatagramPerPeer}): one listener socket per {@code tftp.listen}
 * address takes requests; each transfer then gets its own socket on an ephemeral port (its TID,
 * RFC 1350 sec. 4), registered on one of a few event loops (one per core). A socket per
 * transfer is what the RFC's TID demands and what clients check; 1,000 concurrent transfers are
 * 1,000 file descriptors multiplexed by {@code epoll} under the JDK's selector, cheap next to a
 * thread or a 2 MB stack per transfer. Every transfer's state is confined to its event loop, so
 * there are no locks on the data path.
 *
 * <p><b>Files.</b> Reads go through kura-io ({@link FileIo}: io_uring where the kernel has it,
 * NIO otherwise) into pooled direct buffers, two read-ahead chunks per transfer, so the next
 * window's bytes are read while the current one is on the wire. A transfer holds at most
 * {@code windowsize * (blksize + 4) + 2 * read-chunk} bytes of buffers, whatever the file size;
 * {@link #peakTransferBufferBytes()} reports the largest seen.
 *
 * <p><b>Timers.</b> Retransmission timers run on the transfer's event loop: a re-send happens only
 * when a timer fires (exponential back-off, retry limit), never on a duplicate ACK.
 *
 * <p><b>Safety.</b> Names resolve inside the root only ({@code ..}, absolute paths elsewhere and
 * symlinks escaping it get ERROR 2, logged); WRQ is off unless configured; limits on transfers
 * overall and per client answer the excess with ERROR 0; malformed packets get an ERROR or are
 * dropped, and nothing a client sends stops the server.
 *
 * <p>Thread-safety: {@link #start} and {@link #close} may be called from any thread; the
 * accessors are safe for concurrent use.
 */
public final class TftpServer implements AutoCloseable {

    private final ServerInternals internals;

    private TftpServer(ServerInternals internals) {
        this.internals = internals;
    }

    /**
     * Binds the listeners and starts serving.
     *
     * @param config the {@code tftp:} settings; {@link TftpConfig#root()} must be set
     * @param io the file I/O backend the server reads and writes through; the caller keeps
     *     ownership (the server does not close it)
     * @param registry where the meters go (e.g. a Prometheus registry)
     * @throws IOException when the root is missing or a listen address cannot be bound
     *     (port 69 needs root or {@code CAP_NET_BIND_SERVICE})
     */
    public static TftpServer start(TftpConfig config, FileIo io, MeterRegistry registry) throws IOException {
        if (config.root() == null || config.root().isBlank()) {
            throw new IllegalArgumentException("tftp.root must be set (or --root given)");
        }
        return new TftpServer(ServerInternals.start(config, io, registry, null));
    }

    /**
     * Binds the listeners and serves RRQs from {@code source} instead of a root directory (e.g. an
     * S3 bucket through kura's cache, {@code tftp.source}). Names pass the jail's lexical rules
     * first (see {@link TftpSource}); WRQ is refused (there is no directory to write to).
     *
     * @param source where the bytes come from; the caller keeps ownership
     * @throws IllegalArgumentException when {@code tftp.write.enabled} is set
     * @throws IOException when a listen address cannot be bound
     */
    public static TftpServer start(TftpConfig config, FileIo io, MeterRegistry registry, @Nullable TftpSource source)
            throws IOException {
        java.util.Objects.requireNonNull(source, "source");
        if (config.write().enabled()) {
            throw new IllegalArgumentException("tftp.write.enabled cannot be combined with tftp.source: uploads need tftp.root");
        }
        return new TftpServer(ServerInternals.start(config, io, registry, source));
    }

    /** The addresses the listeners are bound to (with the real port when 0 was configured). */
    public List<InetSocketAddress> addresses() {
        return internals.addresses();
    }

    /** The port of the first listener. */
    public int port() {
        return internals.addresses().getFirst().getPort();
    }

    /** The Netty transport the sockets run on, and why it was chosen ({@code tftp.transport}). */
    public dev.kura.net.NettyTransport transport() {
        return internals.transport();
    }

    /**
     * Asks the server, over loopback, for a missing name and for the first block of the smallest
     * file in the root, so that class loading and first-use costs are paid before a real client's
     * first RRQ (see {@code Warmup}). Both requests count in the metrics and the transfer log.
     * Blocks for at most about a second; never throws.
     *
     * @return true when the server answered both requests
     */
    public boolean warmUp() {
        return internals.warmUp();
    }

    /** Transfers in progress now. */
    public int activeTransfers() {
        return internals.activeTransfers();
    }

    /** Bytes of buffers held by all transfers now. */
    public long bufferBytes() {
        return internals.bufferBytes();
    }

    /** The most buffer bytes one transfer has held at once since the server started. */
    public long peakTransferBufferBytes() {
        return internals.peakTransferBufferBytes();
    }

    /** Stops listening, ends the transfers in progress and waits for the event loops to stop. Idempotent. */
    @Override
    public void close() {
        internals.close();
    }
}
