package dev.kura.tftp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A TFTP client for tests, written from RFC 1350/2347/7440, that can lose and duplicate packets on
 * purpose: each packet received is dropped with probability {@code drop}, each ACK sent goes twice
 * with probability {@code dup}. It follows the client rules: ACK after every window, ACK the last
 * in-order block on a gap, re-send the last ACK on its own timeout.
 */
final class TestClient implements AutoCloseable {

    final DatagramSocket socket;
    private final InetSocketAddress server;
    private final double drop;
    private final double dup;
    private final Random random;
    int dataPacketsReceived;
    int duplicateDataReceived;

    record Result(byte[] data, Map<String, String> oack, int errorCode, String errorMessage) {
        boolean ok() {
            return errorCode < 0;
        }
    }

    TestClient(InetSocketAddress server) throws IOException {
        this(server, 0, 0, 1);
    }

    TestClient(InetSocketAddress server, double drop, double dup, long seed) throws IOException {
        this.socket = new DatagramSocket(new InetSocketAddress(server.getAddress(), 0));
        this.server = server;
        this.drop = drop;
        this.dup = dup;
        this.random = new Random(seed);
        // Long enough for a cold server on a busy machine; tests that expect silence stay under the server timeouts.
        socket.setSoTimeout(1000);
    }

    static byte[] request(int opcode, String file, String mode, Map<String, String> options) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0);
        b.write(opcode);
        b.writeBytes(file.getBytes(StandardCharsets.US_ASCII));
        b.write(0);
        b.writeBytes(mode.getBytes(StandardCharsets.US_ASCII));
        b.write(0);
        options.forEach((k, v) -> {
            b.writeBytes(k.getBytes(StandardCharsets.US_ASCII));
            b.write(0);
            b.writeBytes(v.getBytes(StandardCharsets.US_ASCII));
            b.write(0);
        });
        return b.toByteArray();
    }

    static byte[] ack(int block) {
        return new byte[]{0, 4, (byte) (block >> 8), (byte) block};
    }

    static byte[] data(int block, byte[] payload, int off, int len) {
        byte[] p = new byte[4 + len];
        p[1] = 3;
        p[2] = (byte) (block >> 8);
        p[3] = (byte) block;
        System.arraycopy(payload, off, p, 4, len);
        return p;
    }

    void sendTo(byte[] packet, InetSocketAddress to) throws IOException {
        socket.send(new DatagramPacket(packet, packet.length, to));
    }

    /** Receives one datagram (any sender), or null after the socket timeout. */
    DatagramPacket receive() throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[65536], 65536);
        try {
            socket.receive(p);
            return p;
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    static int opcode(DatagramPacket p) {
        return p.getLength() < 2 ? -1 : ((p.getData()[0] & 0xff) << 8) | (p.getData()[1] & 0xff);
    }

    static int block(DatagramPacket p) {
        return ((p.getData()[2] & 0xff) << 8) | (p.getData()[3] & 0xff);
    }

    static String errorText(DatagramPacket p) {
        int end = 4;
        while (end < p.getLength() && p.getData()[end] != 0) {
            end++;
        }
        return new String(p.getData(), 4, end - 4, StandardCharsets.US_ASCII);
    }

    static Map<String, String> parseOack(DatagramPacket p) {
        Map<String, String> m = new LinkedHashMap<>();
        String[] f = new String(p.getData(), 2, p.getLength() - 2, StandardCharsets.US_ASCII).split("\0");
        for (int i = 0; i + 1 < f.length; i += 2) {
            m.put(f[i], f[i + 1]);
        }
        return m;
    }

    private void sendAck(int block, InetSocketAddress tid) throws IOException {
        sendTo(ack(block), tid);
        if (random.nextDouble() < dup) {
            sendTo(ack(block), tid);
        }
    }

    /** Downloads a file; an ERROR from the server ends it with the code. */
    Result get(String file, String mode, Map<String, String> options) throws IOException {
        byte[] rrq = request(1, file, mode, options);
        sendTo(rrq, server);
        InetSocketAddress tid = null;
        int blksize = 512;
        int window = 1;
        Map<String, String> oack = Map.of();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int expected = 1;
        int inWindow = 0;
        int lastAck = 0;
        int idle = 0;
        boolean gapAcked = false;
        while (true) {
            DatagramPacket p = receive();
            if (p != null && random.nextDouble() < drop) {
                p = null;
            }
            if (p == null) {
                if (++idle > 40) {
                    return new Result(out.toByteArray(), oack, 0, "client gave up: no packet from server");
                }
                if (tid == null) {
                    sendTo(rrq, server);
                } else {
                    sendAck(lastAck, tid);
                }
                inWindow = 0;
                continue;
            }
            InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
            if (tid == null) {
                tid = from;
            } else if (!tid.equals(from)) {
                continue;
            }
            idle = 0;
            int op = opcode(p);
            if (op == 5) {
                return new Result(out.toByteArray(), oack, block(p), errorText(p));
            }
            if (op == 6 && expected == 1) {
                oack = parseOack(p);
                blksize = Integer.parseInt(oack.getOrDefault("blksize", "512"));
                window = Integer.parseInt(oack.getOrDefault("windowsize", "1"));
                sendAck(0, tid);
                continue;
            }
            if (op != 3) {
                continue;
            }
            dataPacketsReceived++;
            int n = block(p);
            if (n != (expected & 0xFFFF)) {
                duplicateDataReceived++;
                if (!gapAcked) {
                    sendAck(lastAck, tid);
                    gapAcked = true;
                    inWindow = 0;
                }
                continue;
            }
            gapAcked = false;
            int len = p.getLength() - 4;
            out.write(p.getData(), 4, len);
            expected++;
            inWindow++;
            lastAck = n;
            if (len < blksize) {
                sendAck(n, tid);
                return new Result(out.toByteArray(), oack, -1, null);
            }
            if (inWindow >= window) {
                inWindow = 0;
                sendAck(n, tid);
            }
        }
    }

    /** Uploads {@code content} lockstep (windowsize 1). */
    Result put(String file, String mode, Map<String, String> options, byte[] content) throws IOException {
        byte[] wrq = request(2, file, mode, options);
        sendTo(wrq, server);
        InetSocketAddress tid = null;
        int blksize = 512;
        Map<String, String> oack = Map.of();
        int block = 0;
        byte[] last = null;
        int idle = 0;
        while (true) {
            DatagramPacket p = receive();
            if (p == null) {
                if (++idle > 40) {
                    return new Result(null, oack, 0, "client gave up");
                }
                if (tid == null) {
                    sendTo(wrq, server);
                } else {
                    sendTo(last, tid);
                }
                continue;
            }
            InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
            if (tid == null) {
                tid = from;
            } else if (!tid.equals(from)) {
                continue;
            }
            idle = 0;
            int op = opcode(p);
            if (op == 5) {
                return new Result(null, oack, block(p), errorText(p));
            }
            if (op == 6 && block == 0) {
                oack = parseOack(p);
                blksize = Integer.parseInt(oack.getOrDefault("blksize", "512"));
            } else if (op != 4 || block(p) != (block & 0xFFFF)) {
                continue;
            }
            long off = (long) block * blksize;
            if (last != null && last.length - 4 < blksize) {
                return new Result(null, oack, -1, null);
            }
            int len = (int) Math.min(blksize, content.length - off);
            block++;
            last = data(block, content, (int) off, len);
            sendTo(last, tid);
        }
    }

    @Override
    public void close() {
        socket.close();
    }

}
