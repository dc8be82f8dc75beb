package dev.kura.tftp.internal;

import io.netty.buffer.ByteBuf;

import java.io.IOException;

/**
 * Netascii-mode {@link BlockSource}: converts the file on the fly as RFC 1350 (mode "netascii",
 * after RFC 764) asks: a newline (LF) goes on the wire as CR LF and a bare CR as CR NUL.
 *
 * <p>The converted stream is longer than the file, so block boundaries do not map to file offsets;
 * the transfer only ever asks for the next block in order (retransmissions come from the blocks
 * it keeps), which is all this needs. A CR or LF whose second byte does not fit in the block is
 * carried over to the next one. tsize is not offered in netascii mode: knowing the converted
 * size would mean reading the whole file before the first block.
 */
final class NetasciiEncoder implements BlockSource {

    private final FileBlockReader raw;
    private int carry = -1;

    NetasciiEncoder(FileBlockReader raw) {
        this.raw = raw;
    }

    @Override
    public boolean fill(ByteBuf dst, int want) throws IOException {
        while (dst.readableBytes() < want) {
            if (carry >= 0) {
                dst.writeByte(carry);
                carry = -1;
                continue;
            }
            int b = raw.nextByte();
            if (b == -2) {
                return false;
            }
            if (b == -1) {
                return true;
            }
            if (b == '\n') {
                dst.writeByte('\r');
                carry = '\n';
            } else if (b == '\r') {
                dst.writeByte('\r');
                carry = 0;
            } else {
                dst.writeByte(b);
            }
        }
        return true;
    }

    @Override
    public void onReady(Runnable r) {
        raw.onReady(r);
    }

    @Override
    public long heldBytes() {
        return raw.heldBytes();
    }

    @Override
    public void close() {
        raw.close();
    }
}
