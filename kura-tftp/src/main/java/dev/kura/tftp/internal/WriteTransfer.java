package dev.kura.tftp.internal;

import dev.kura.io.IoFile;
import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A WRQ: the client sends DATA, the server acknowledges.
 *
 * <h2>Design</h2>
 * Data goes to a temporary file next to the target ({@code .NAME.kura-tftp-RANDOM.part}, created
 * with O_EXCL) through kura-io. Received blocks gather in a buffer that is written out a chunk at
 * a time; while a write is in flight and another chunk has gathered, the next ACK waits for the
 * write, which slows the client to the disk's pace and bounds memory to two chunks plus one
 * window. On the last block (shorter than blksize) the file is written, fsynced and closed, then
 * moved into place (a hard link when overwriting is off, so an existing file is never replaced,
 * else a rename), and only then is the final ACK sent. Failure, timeout or an ERROR from the client
 * deletes the temporary file: nothing is left behind.
 *
 * <p>After the final ACK the transfer dallies (RFC 1350 sec. 6): it keeps its socket for one
 * retransmission timeout and re-sends the final ACK if the last DATA comes again (its ACK was lost).
 *
 * <p>The size cap is checked twice: against the client's tsize before the WRQ is accepted
 * ({@link Negotiation}), and against the bytes received (ERROR 3): a client's tsize never makes the
 * server allocate anything.
 */
final class WriteTransfer extends Transfer {

    private final Path target;
    private final Path temp;
    private final IoFile file;
    private final boolean overwrite;
    private final @Nullable NetasciiDecoder decoder;
    private final int chunk;
    private final long maxSize;
    private @Nullable ByteBuf pending;
    /** Next block expected, as a long index from 1 (wire number is modulo 2^16). */
    private long expected = 1;
    private int sinceAck;
    private long fileOffset;
    private boolean writing;
    private boolean ackDeferred;
    private boolean gapAcked;
    private boolean finalizing;
    private boolean dally;
    private boolean resourcesReleased;
    private boolean deleteOnRelease = true;

    WriteTransfer(ServerContext ctx, InetSocketAddress client, String filename, Negotiation opts, Path target,
                  Path temp, IoFile file, boolean overwrite, boolean netascii) {
        super(ctx, client, filename, opts, "WRQ", ctx.group.next());
        this.target = target;
        this.temp = temp;
        this.file = file;
        this.overwrite = overwrite;
        this.decoder = netascii ? new NetasciiDecoder() : null;
        this.chunk = (int) ctx.config.readChunk().bytes();
        this.maxSize = ctx.config.write().maxSize().bytes();
    }

    @Override
    int receiveBufferSize() {
        // One byte more than a full DATA packet, to detect an oversized one.
        return 4 + opts.blksize() + 1;
    }

    @Override
    void begin() {
        pending = ctx.alloc.directBuffer(chunk + 2 * opts.blksize());
        sendAckOrOack();
        armTimer();
    }

    private void sendAckOrOack() {
        if (expected == 1 && !opts.oack().isEmpty()) {
            send(Packets.oack(ctx.alloc, opts.oack()));
        } else {
            send(Packets.ack(ctx.alloc, (int) ((expected - 1) & 0xFFFF)));
        }
    }

    @Override
    boolean dallying() {
        return dally;
    }

    @Override
    void handle(int opcode, ByteBuf p) {
        if (opcode != Packets.DATA || p.readableBytes() < 4) {
            if (!dally) {
                fail(Packets.ERR_ILLEGAL_OPERATION, "expected DATA, got opcode " + opcode);
            }
            return;
        }
        int n = p.getUnsignedShort(p.readerIndex() + 2);
        int len = p.readableBytes() - 4;
        if (dally) {
            if (n == (int) ((expected - 1) & 0xFFFF)) {
                send(Packets.ack(ctx.alloc, n));
            }
            return;
        }
        if (finalizing) {
            return;
        }
        int d = (n - (int) (expected & 0xFFFF)) & 0xFFFF;
        if (d != 0) {
            // Out of order. A repeat of the block last acknowledged means our ACK was lost: ACK it
            // again. A gap (a later block) means a loss in the window: ACK the last block in order
            // once, so the client restarts the window there (RFC 7440 sec. 4). Anything else is stale.
            boolean repeatOfLast = n == (int) ((expected - 1) & 0xFFFF);
            boolean gap = d < 0x8000;
            if (!ackDeferred && (repeatOfLast || (gap && !gapAcked))) {
                gapAcked |= gap;
                sinceAck = 0;
                sendAckOrOack();
            }
            return;
        }
        if (len > opts.blksize()) {
            fail(Packets.ERR_ILLEGAL_OPERATION, "DATA block of " + len + " bytes exceeds blksize " + opts.blksize());
            return;
        }
        if (bytes + len > maxSize) {
            fail(Packets.ERR_DISK_FULL, "file too large: more than " + maxSize + " bytes (tftp.write.max-size)");
            return;
        }
        ByteBuf payload = p.slice(p.readerIndex() + 4, len);
        ByteBuf buf = Objects.requireNonNull(pending, "DATA while finalizing returned above");
        if (decoder != null) {
            decoder.decode(payload, buf);
        } else {
            buf.writeBytes(payload);
        }
        bytes += len;
        expected++;
        sinceAck++;
        gapAcked = false;
        held(buf.capacity() + (writing ? chunk : 0));
        if (len < opts.blksize()) {
            finish();
            return;
        }
        if (pending.readableBytes() >= chunk && !writing) {
            startWrite();
        }
        if (sinceAck >= opts.windowsize()) {
            sinceAck = 0;
            if (writing && pending.readableBytes() >= chunk) {
                ackDeferred = true;
            } else {
                send(Packets.ack(ctx.alloc, (int) ((expected - 1) & 0xFFFF)));
            }
        }
        progress();
    }

    private CompletableFuture<Void> writeOut(ByteBuf data) {
        long at = fileOffset;
        fileOffset += data.readableBytes();
        MemorySegment seg = MemorySegment.ofBuffer(data.nioBuffer());
        return file.writeFullyAsync(seg, at).whenComplete((v, e) -> data.release());
    }

    private void startWrite() {
        ByteBuf data = Objects.requireNonNull(pending, "not finalizing");
        pending = ctx.alloc.directBuffer(chunk + 2 * opts.blksize());
        writing = true;
        writeOut(data).whenComplete((v, e) -> ch.eventLoop().execute(() -> writeDone(e)));
    }

    private void writeDone(Throwable e) {
        writing = false;
        if (finished()) {
            cleanUp();
            return;
        }
        if (e != null) {
            ServerContext.LOG.warn("WRQ {} {}: write failed: {}", client, filename, e.getMessage());
            fail(Packets.ERR_DISK_FULL, "write failed: " + e.getMessage());
            return;
        }
        if (finalizing) {
            return;
        }
        if (pending != null && pending.readableBytes() >= chunk) {
            startWrite();
        }
        if (ackDeferred) {
            ackDeferred = false;
            send(Packets.ack(ctx.alloc, (int) ((expected - 1) & 0xFFFF)));
            progress();
        }
    }

    /** The last block is in: write the rest, fsync, close, move into place, then the final ACK. */
    private void finish() {
        finalizing = true;
        cancelTimer();
        if (decoder != null) {
            decoder.finish(Objects.requireNonNull(pending, "finish() runs once"));
        }
        if (writing) {
            // writeDone returns early while finalizing; chain after it by polling once it ends.
            ch.eventLoop().schedule(this::finish2, 1, java.util.concurrent.TimeUnit.MILLISECONDS);
            return;
        }
        finish2();
    }

    private void finish2() {
        if (finished()) {
            return;
        }
        if (writing) {
            ch.eventLoop().schedule(this::finish2, 1, java.util.concurrent.TimeUnit.MILLISECONDS);
            return;
        }
        ByteBuf data = Objects.requireNonNull(pending, "finish2() passes here once");
        pending = null;
        writing = true;
        writeOut(data)
                .thenCompose(v -> file.fsyncAsync())
                .thenRunAsync(this::closeAndMove, ctx.blocking)
                .whenComplete((v, e) -> ch.eventLoop().execute(() -> stored(e)));
    }

    private void closeAndMove() {
        try {
            file.close();
            if (overwrite) {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } else {
                // link(2) fails when the target exists: a file created meanwhile is never replaced.
                Files.createLink(target, temp);
                Files.delete(temp);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void stored(Throwable e) {
        writing = false;
        if (finished()) {
            // Failed meanwhile (an ERROR from the client): release what is left.
            cleanUp();
            return;
        }
        if (e != null) {
            Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            if (c instanceof java.io.UncheckedIOException u) {
                c = Objects.requireNonNull(u.getCause()); // UncheckedIOException requires its cause
            }
            if (c instanceof FileAlreadyExistsException) {
                fail(Packets.ERR_FILE_EXISTS, "file already exists: " + filename);
            } else {
                ServerContext.LOG.warn("WRQ {} {}: storing failed: {}", client, filename, c.toString());
                fail(Packets.ERR_DISK_FULL, "storing the file failed: " + c.getMessage());
            }
            cleanUp();
            return;
        }
        deleteOnRelease = false;
        send(Packets.ack(ctx.alloc, (int) ((expected - 1) & 0xFFFF)));
        dally = true;
        succeed();
        armTimer();
    }

    @Override
    void retransmit() {
        if (!finalizing && !ackDeferred) {
            sendAckOrOack();
        }
    }

    @Override
    void releaseResources() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
        if (!writing) {
            cleanUp();
        }
        // else: writeDone / stored run cleanUp once the write in flight has let go of the file.
    }

    private void cleanUp() {
        if (resourcesReleased) {
            return;
        }
        resourcesReleased = true;
        boolean delete = deleteOnRelease;
        Runnable task = () -> {
            try {
                file.close();
            } catch (IOException ignored) {
                // The temporary file is deleted below; a failed close loses nothing kept.
            }
            if (delete) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException e) {
                    ServerContext.LOG.warn("WRQ: cannot delete temporary file {}: {}", temp, e.getMessage());
                }
            }
        };
        try {
            ctx.blocking.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The server is shutting down: clean up here rather than leave the file behind.
            task.run();
        }
    }

    @Override
    void dallyEnded() {
        dally = false;
        ch.close();
    }
}
