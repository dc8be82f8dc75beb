package dev.kura.tftp.internal;

import io.netty.buffer.ByteBuf;

import java.io.IOException;

/**
 * The bytes of an RRQ, produced in order, a block at a time. Runs on one transfer's event loop.
 */
interface BlockSource {

    /**
     * Appends bytes to {@code dst} until it holds {@code want} readable bytes or the data ends.
     *
     * @return true when the block is complete (full, or short because the data ended); false when
     *     it waits for a file read: {@code dst} keeps what it got, the callback given to
     *     {@link #onReady} runs on the event loop when more can be had, and the caller calls again
     *     with the same {@code dst}
     * @throws IOException when a file read failed
     */
    boolean fill(ByteBuf dst, int want) throws IOException;

    /** The callback run (on the event loop) when a read that {@link #fill} waited for completes. */
    void onReady(Runnable r);

    /** Bytes of buffers held now, for the memory bound. */
    long heldBytes();

    /** Releases the buffers (a buffer with a read in flight is released when the read completes) and closes the file. */
    void close();
}
