package dev.kura.tftp.internal;

import io.netty.buffer.ByteBuf;

/**
 * Netascii to local text for WRQ (RFC 1350 / RFC 764): CR LF becomes LF, CR NUL becomes CR. A CR
 * at the end of one DATA packet waits for the first byte of the next. A CR followed by anything
 * else is kept as it came (lenient to clients that send bare CRs).
 */
final class NetasciiDecoder {

    private boolean pendingCr;

    void decode(ByteBuf in, ByteBuf out) {
        while (in.isReadable()) {
            byte b = in.readByte();
            if (pendingCr) {
                pendingCr = false;
                if (b == '\n') {
                    out.writeByte('\n');
                    continue;
                }
                if (b == 0) {
                    out.writeByte('\r');
                    continue;
                }
                out.writeByte('\r');
            }
            if (b == '\r') {
                pendingCr = true;
            } else {
                out.writeByte(b);
            }
        }
    }

    void finish(ByteBuf out) {
        if (pendingCr) {
            pendingCr = false;
            out.writeByte('\r');
        }
    }
}
