package dev.kura.tftp.internal;

import dev.kura.tftp.TftpSource;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.EventExecutor;
import org.jspecify.annotations.Nullable;

import java.io.IOException;

/**
 * Octet-mode {@link BlockSource} over an open object, with read-ahead: a file under the root read
 * through kura-io ({@link IoFileObject}) or an object of a {@link TftpSource} (a cached bucket).
 *
 * <p>Two chunk buffers of {@code chunk} bytes take turns: while blocks are cut from one, the
 * next chunk of the file is already being read into the other ({@link TftpSource.OpenObject#read}), so
 * the network side finds the following window's bytes in memory when the current window is
 * acknowledged. Memory held: two chunks (default 2 x 16 KiB), whatever the file size.
 *
 * <p>A chunk is first copied from the page cache on the event loop where it is there
 * ({@link TftpSource.OpenObject#readNow}, {@code preadv2} with {@code RWF_NOWAIT}): a lock-step
 * profile (2026-12-01, docs/TFTP.md) had ~16 % of kura's CPU in the asynchronous read's round trip
 * (waking kura-io's ring thread, and the completion waking the event loop) for a 32 KiB copy that
 * takes microseconds. Only what is not cached goes through kura-io's asynchronous read.
 *
 * <p>Invariant: a buffer with a read in flight is never touched nor released until the read's
 * future completes (kura-io's buffer contract); {@link #close} defers the release of such a buffer
 * to the completion.
 *
 * <p>Thread-safety: confined to the transfer's event loop; read completions hop back onto it.
 */
final class FileBlockReader implements BlockSource {

    private final TftpSource.OpenObject file;
    private final EventExecutor loop;
    private final int chunk;
    private final Slot[] slots = new Slot[2];
    private int current;
    private long nextOffset;
    private boolean endSeen;
    private boolean closed;
    /** Set by {@link #readNow} when the object ended within the bytes it copied. */
    private boolean cachedEnd;
    private @Nullable Runnable readyCallback;
    private @Nullable IOException failure;

    private static final class Slot {
        final ByteBuf buf;
        boolean reading;
        boolean filled;
        boolean last;

        Slot(ByteBuf buf) {
            this.buf = buf;
        }
    }

    FileBlockReader(TftpSource.OpenObject file, EventExecutor loop, ByteBufAllocator alloc, int chunk) {
        this.file = file;
        this.loop = loop;
        this.chunk = chunk;
        slots[0] = new Slot(alloc.directBuffer(chunk, chunk));
        slots[1] = new Slot(alloc.directBuffer(chunk, chunk));
        startRead(slots[0]);
        startRead(slots[1]);
    }

    private void startRead(Slot s) {
        if (endSeen) {
            return;
        }
        s.buf.clear();
        s.filled = false;
        long offset = nextOffset;
        nextOffset += chunk;
        int now = readNow(s, offset);
        if (now == chunk || cachedEnd) {
            // All of it from the page cache, on this thread: no ring round trip, no hop back.
            s.reading = false;
            land(s, now);
            return;
        }
        s.reading = true;
        int from = now;
        file.read(s.buf.nioBuffer(from, chunk - from), offset + from).whenComplete((n, err) -> {
            try {
                loop.execute(() -> completed(s, n == null ? from : from + n, err));
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // The server stopped while the read was in flight: nobody will take the bytes.
                s.buf.release();
            }
        });
    }

    /**
     * Copies what the page cache holds of the chunk at {@code offset} into {@code s} on this thread
     * ({@link TftpSource.OpenObject#readNow}); sets {@link #cachedEnd} when the object ended.
     *
     * @return bytes copied, 0 when none (the rest is read asynchronously)
     */
    private int readNow(Slot s, long offset) {
        cachedEnd = false;
        int got = 0;
        while (got < chunk) {
            int n;
            try {
                n = file.readNow(s.buf.nioBuffer(got, chunk - got), offset + got);
            } catch (IOException e) {
                return got; // the asynchronous read of the rest meets the error again and reports it
            }
            if (n < 0) {
                return got;
            }
            if (n == 0) {
                cachedEnd = true;
                return got;
            }
            got += n;
        }
        return got;
    }

    /** A slot's read is done with {@code n} bytes: shorter than a chunk means the end of the data. */
    private void land(Slot s, int n) {
        s.buf.writerIndex(n);
        s.filled = true;
        if (n < chunk) {
            s.last = true;
            endSeen = true;
        }
    }

    private void completed(Slot s, Integer n, @Nullable Throwable err) {
        s.reading = false;
        if (closed) {
            s.buf.release();
            return;
        }
        if (err != null) {
            Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                    ? err.getCause() : err;
            failure = cause instanceof IOException io ? io : new IOException(cause.getMessage(), cause);
        } else {
            land(s, n);
        }
        Runnable r = readyCallback;
        readyCallback = null;
        if (r != null) {
            r.run();
        }
    }

    @Override
    public boolean fill(ByteBuf dst, int want) throws IOException {
        while (dst.readableBytes() < want) {
            if (failure != null) {
                throw failure;
            }
            Slot s = slots[current];
            if (s.reading) {
                return false;
            }
            if (!s.filled) {
                // Not read because the end of the file came in the other slot: no more data.
                return true;
            }
            int n = Math.min(want - dst.readableBytes(), s.buf.readableBytes());
            dst.writeBytes(s.buf, n);
            if (!s.buf.isReadable()) {
                if (s.last) {
                    return true;
                }
                s.filled = false;
                current ^= 1;
                startRead(s);
            }
        }
        return true;
    }

    /** One byte, -1 at the end of the data, -2 while waiting for a read; for the netascii encoder. */
    int nextByte() throws IOException {
        while (true) {
            if (failure != null) {
                throw failure;
            }
            Slot s = slots[current];
            if (s.reading) {
                return -2;
            }
            if (!s.filled) {
                return -1;
            }
            if (s.buf.isReadable()) {
                int b = s.buf.readUnsignedByte();
                if (!s.buf.isReadable() && !s.last) {
                    s.filled = false;
                    current ^= 1;
                    startRead(s);
                }
                return b;
            }
            if (s.last) {
                return -1;
            }
            s.filled = false;
            current ^= 1;
            startRead(s);
        }
    }

    @Override
    public void onReady(Runnable r) {
        readyCallback = r;
    }

    @Override
    public long heldBytes() {
        return closed ? 0 : 2L * chunk;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Slot s : slots) {
            if (!s.reading) {
                s.buf.release();
            }
        }
        file.close();
    }
}
