package dev.kura.tftp.internal;

import dev.kura.tftp.TftpConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Option negotiation of RFC 2347: the options kura knows are granted (possibly lowered) and
 * acknowledged in the OACK; unknown ones are ignored; an OACK is sent only when at least one option
 * is acknowledged, and only options the client asked for appear in it.
 *
 * <ul>
 *   <li>{@code blksize} (RFC 2348): 8..65464; more is lowered to {@code tftp.blksize-max};
 *       less than 8 or not a number: ERROR 8.</li>
 *   <li>{@code timeout} (RFC 2349): 1..255 seconds, the initial retransmission timeout; out of
 *       range or not a number: ERROR 8.</li>
 *   <li>{@code tsize} (RFC 2349): on RRQ the client sends 0 and gets the file size (octet mode
 *       only; netascii does not acknowledge it, see {@link NetasciiEncoder}); on WRQ the client's
 *       size is checked against {@code tftp.write.max-size} (ERROR 3) before anything is accepted.</li>
 *   <li>{@code windowsize} (RFC 7440): 1..65535, lowered to {@code tftp.windowsize-max}.</li>
 * </ul>
 *
 * @param blksize data bytes per DATA packet
 * @param windowsize DATA packets sent before an ACK is awaited
 * @param timeoutNanos initial retransmission timeout in nanoseconds
 * @param tsize the size the client announced on a WRQ, or -1
 * @param oack the options to acknowledge, empty when no OACK is to be sent
 */
record Negotiation(int blksize, int windowsize, long timeoutNanos, long tsize, Map<String, String> oack) {

    /**
     * @param fileSize size of the file of an RRQ in octet mode, or -1 (WRQ, netascii)
     * @throws Packets.MalformedPacketException ERROR 8 for a bad option value, ERROR 3 for a WRQ
     *     tsize over the limit
     */
    static Negotiation negotiate(Packets.Request req, TftpConfig cfg, long fileSize) throws Packets.MalformedPacketException {
        int blksize = 512;
        int windowsize = 1;
        long timeoutNanos = cfg.timeout().toNanos();
        long tsize = -1;
        Map<String, String> oack = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : req.options().entrySet()) {
            String name = e.getKey();
            String value = e.getValue();
            switch (name) {
                case "blksize" -> {
                    long v = number(name, value);
                    if (v < TftpConfig.BLKSIZE_MIN) {
                        throw refused(name, value);
                    }
                    blksize = (int) Math.min(v, cfg.blksizeMax());
                    oack.put(name, Integer.toString(blksize));
                }
                case "timeout" -> {
                    long v = number(name, value);
                    if (v < 1 || v > 255) {
                        throw refused(name, value);
                    }
                    timeoutNanos = v * 1_000_000_000L;
                    oack.put(name, Long.toString(v));
                }
                case "tsize" -> {
                    long v = number(name, value);
                    if (req.opcode() == Packets.WRQ) {
                        if (v > cfg.write().maxSize().bytes()) {
                            throw new Packets.MalformedPacketException(Packets.ERR_DISK_FULL,
                                    "file too large: tsize " + v + " exceeds the limit of " + cfg.write().maxSize().bytes() + " bytes");
                        }
                        tsize = v;
                        oack.put(name, Long.toString(v));
                    } else if (fileSize >= 0) {
                        oack.put(name, Long.toString(fileSize));
                    }
                }
                case "windowsize" -> {
                    long v = number(name, value);
                    if (v < 1 || v > 65535) {
                        throw refused(name, value);
                    }
                    windowsize = (int) Math.min(v, cfg.windowsizeMax());
                    oack.put(name, Integer.toString(windowsize));
                }
                default -> {
                    // RFC 2347: options the server does not support are ignored.
                }
            }
        }
        return new Negotiation(blksize, windowsize, timeoutNanos, tsize, oack);
    }

    private static long number(String name, String value) throws Packets.MalformedPacketException {
        if (value.isEmpty() || value.length() > 12) {
            throw refused(name, value);
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                throw refused(name, value);
            }
        }
        return Long.parseLong(value);
    }

    private static Packets.MalformedPacketException refused(String name, String value) {
        return new Packets.MalformedPacketException(Packets.ERR_OPTION_REFUSED, "bad value for option " + name + ": '" + value + "'");
    }
}
