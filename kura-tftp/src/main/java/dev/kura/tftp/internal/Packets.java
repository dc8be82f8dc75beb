package dev.kura.tftp.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * TFTP packet layout: parsing of requests and encoding of DATA, ACK, ERROR and OACK.
 *
 * <p>Wire formats (all integers big-endian, strings NUL-terminated netascii):
 * <pre>
 *  RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...   RFC 1350 sec. 5, RFC 2347
 *  DATA     | 03 | block# | data (0..blksize bytes)                            RFC 1350
 *  ACK      | 04 | block# |                                                   RFC 1350
 *  ERROR    | 05 | code | message | 0 |                                        RFC 1350
 *  OACK     | 06 | opt1 | 0 | value1 | 0 | ...                                 RFC 2347
 * </pre>
 * Parsing never throws on hostile input except {@link MalformedPacketException}, whose message
 * goes back to the client in an ERROR packet.
 */
public final class Packets {

    public static final int RRQ = 1;
    public static final int WRQ = 2;
    public static final int DATA = 3;
    public static final int ACK = 4;
    public static final int ERROR = 5;
    public static final int OACK = 6;

    /** Error codes of RFC 1350 (0..7) and RFC 2347 (8). */
    public static final int ERR_NOT_DEFINED = 0;
    public static final int ERR_FILE_NOT_FOUND = 1;
    public static final int ERR_ACCESS_VIOLATION = 2;
    public static final int ERR_DISK_FULL = 3;
    public static final int ERR_ILLEGAL_OPERATION = 4;
    public static final int ERR_UNKNOWN_TID = 5;
    public static final int ERR_FILE_EXISTS = 6;
    public static final int ERR_NO_SUCH_USER = 7;
    public static final int ERR_OPTION_REFUSED = 8;

    /**
     * Largest request accepted, in bytes. RFC 2347 sec. "Packet Format": the request packet,
     * options included, must not exceed 512 octets.
     */
    public static final int MAX_REQUEST = 512;

    private Packets() {
    }

    /** A parsed RRQ or WRQ: option names lower-cased, values as sent, in the client's order, first occurrence wins. */
    public record Request(int opcode, String filename, String mode, Map<String, String> options) {
    }

    /** A request the server cannot understand; the message says why. */
    public static final class MalformedPacketException extends Exception {
        private final int errorCode;

        public MalformedPacketException(int errorCode, String message) {
            super(message, null, false, false);
            this.errorCode = errorCode;
        }

        public int errorCode() {
            return errorCode;
        }
    }

    /** The opcode of a packet, or -1 when it is shorter than 2 bytes. */
    public static int opcode(ByteBuf p) {
        return p.readableBytes() < 2 ? -1 : p.getUnsignedShort(p.readerIndex());
    }

    /**
     * Parses an RRQ or WRQ.
     *
     * @throws MalformedPacketException with ERROR 4 for a packet too long, a missing NUL, an empty
     *     filename or mode, a non-ASCII string, or an option without a value
     */
    public static Request parseRequest(ByteBuf p) throws MalformedPacketException {
        int len = p.readableBytes();
        if (len > MAX_REQUEST) {
            throw new MalformedPacketException(ERR_ILLEGAL_OPERATION, "request longer than " + MAX_REQUEST + " bytes");
        }
        int op = opcode(p);
        if (op != RRQ && op != WRQ) {
            throw new MalformedPacketException(ERR_ILLEGAL_OPERATION, "not a request");
        }
        int pos = p.readerIndex() + 2;
        int end = p.writerIndex();
        String[] fields = new String[MAX_REQUEST / 2 + 1];
        int n = 0;
        while (pos < end) {
            int nul = p.indexOf(pos, end, (byte) 0);
            if (nul < 0) {
                throw new MalformedPacketException(ERR_ILLEGAL_OPERATION, "malformed request: string without terminating NUL");
            }
            for (int i = pos; i < nul; i++) {
                byte b = p.getByte(i);
                if (b < 0x20 || b == 0x7f) {
                    throw new MalformedPacketException(ERR_ILLEGAL_OPERATION, "malformed request: control or non-ASCII byte in a string");
                }
            }
            fields[n++] = p.toString(pos, nul - pos, StandardCharsets.US_ASCII);
            pos = nul + 1;
        }
        if (n < 2) {
            throw new MalformedPacketException(ERR_ILLEGAL_OPERATION, "malformed request: filename and mode required");
        }
        if (fields[0].isEmpty()) {
            throw new MalformedPacketException(ERR_ILLEGAL_OPERATION, "malformed request: empty filename");
        }
        if (fields[1].isEmpty()) {
            throw new MalformedPacketException(ERR_ILLEGAL_OPERATION, "malformed request: empty mode");
        }
        if ((n - 2) % 2 != 0) {
            throw new MalformedPacketException(ERR_OPTION_REFUSED, "malformed options: option '" + fields[n - 1] + "' without a value");
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 2; i < n; i += 2) {
            String name = fields[i].toLowerCase(Locale.ROOT);
            if (name.isEmpty()) {
                throw new MalformedPacketException(ERR_OPTION_REFUSED, "malformed options: empty option name");
            }
            options.putIfAbsent(name, fields[i + 1]);
        }
        return new Request(op, fields[0], fields[1].toLowerCase(Locale.ROOT), options);
    }

    public static ByteBuf ack(ByteBufAllocator alloc, int block) {
        ByteBuf b = alloc.buffer(4);
        b.writeShort(ACK).writeShort(block & 0xFFFF);
        return b;
    }

    public static ByteBuf error(ByteBufAllocator alloc, int code, String message) {
        byte[] m = ascii(message);
        ByteBuf b = alloc.buffer(5 + m.length);
        b.writeShort(ERROR).writeShort(code).writeBytes(m).writeByte(0);
        return b;
    }

    public static ByteBuf oack(ByteBufAllocator alloc, Map<String, String> options) {
        ByteBuf b = alloc.buffer(64);
        b.writeShort(OACK);
        for (Map.Entry<String, String> e : options.entrySet()) {
            b.writeBytes(ascii(e.getKey())).writeByte(0).writeBytes(ascii(e.getValue())).writeByte(0);
        }
        return b;
    }

    /** Parses the message of an ERROR packet, for logs; never throws. */
    public static String errorMessage(ByteBuf p) {
        if (p.readableBytes() < 4) {
            return "(short ERROR packet)";
        }
        int code = p.getUnsignedShort(p.readerIndex() + 2);
        int start = p.readerIndex() + 4;
        int nul = p.indexOf(start, p.writerIndex(), (byte) 0);
        int end = nul < 0 ? p.writerIndex() : nul;
        String msg = p.toString(start, Math.min(end - start, 200), StandardCharsets.US_ASCII);
        return code + " " + msg.replaceAll("[^\\x20-\\x7e]", "?");
    }

    private static byte[] ascii(String s) {
        // Messages carry file names, which may hold anything the client sent: keep them printable.
        return s.replaceAll("[^\\x20-\\x7e]", "?").getBytes(StandardCharsets.US_ASCII);
    }
}
