package dev.kura.tftp;

import dev.kura.io.FileIo;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/** Starts kura's TFTP server in-process on 127.0.0.1 and a random port, over a temporary root. */
abstract class ServerFixture {

    @TempDir
    Path root;
    FileIo io;
    TftpServer server;
    SimpleMeterRegistry registry;

    TftpServer start(TftpConfig config) throws IOException {
        io = FileIo.create();
        registry = new SimpleMeterRegistry();
        server = TftpServer.start(config.withRoot(root.toString()).withListen(List.of("127.0.0.1:0")), io, registry);
        return server;
    }

    TftpConfig defaults() {
        return TftpConfig.defaults(root.toString());
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (io != null) {
            io.close();
        }
    }

    byte[] randomFile(String name, int size, long seed) throws IOException {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        Path p = root.resolve(name);
        Files.createDirectories(p.getParent());
        Files.write(p, b);
        return b;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static String sha256(Path p) throws IOException {
        return sha256(Files.readAllBytes(p));
    }

    double counter(String name) {
        return registry.find(name).counters().stream().mapToDouble(c -> c.count()).sum();
    }
}
