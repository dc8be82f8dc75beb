package dev.kura.s3;

import dev.kura.testing.Requires;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} (Debian package redis-server; Valkey speaks the same protocol) run by
 * a test on an ephemeral loopback port, without persistence, in its own directory. The Debian
 * service, if it autostarted, is not used. Skips the test (fails it on CI) when the binary is absent.
 */
final class RedisProcess implements AutoCloseable {
    private final Path binary;
    private final Path dir;
    private final int port;
    private Process process;

    private RedisProcess(Path binary, Path dir, int port) {
        this.binary = binary;
        this.dir = dir;
        this.port = port;
    }

    /** Starts a server in {@code dir} on a free port and waits until it answers PING. */
    static RedisProcess start(Path dir) throws Exception {
        Path bin = Requires.tool("redis-server", "redis-server");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        java.nio.file.Files.createDirectories(dir);
        RedisProcess r = new RedisProcess(bin, dir, port);
        r.startAgain();
        return r;
    }

    /** Starts the server (again) on the same port, empty, and waits until it answers PING. */
    void startAgain() throws Exception {
        process = new ProcessBuilder(List.of(binary.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--daemonize", "no",
                "--logfile", dir.resolve("redis.log").toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("redis.out").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!ping()) {
            if (System.nanoTime() > deadline || !process.isAlive()) {
                throw new IllegalStateException("redis-server did not start on port " + port + ": "
                        + java.nio.file.Files.readString(dir.resolve("redis.out")));
            }
            Thread.sleep(20);
        }
    }

    /** Kills the server at once (SIGKILL), as a crash would. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    /** Stops (SIGSTOP) or resumes (SIGCONT) the server: a hung server keeps its connections open. */
    void pause(boolean stop) throws Exception {
        Process k = new ProcessBuilder("kill", stop ? "-STOP" : "-CONT", Long.toString(process.pid())).start();
        if (k.waitFor() != 0) {
            throw new IllegalStateException("kill " + (stop ? "-STOP" : "-CONT") + " failed");
        }
    }

    /** True when the server answers PING with PONG (RESP, over a plain socket). */
    boolean ping() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            s.setSoTimeout(500);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] b = new byte[7];
            int n = in.readNBytes(b, 0, 7);
            return n == 7 && new String(b, StandardCharsets.US_ASCII).equals("+PONG\r\n");
        } catch (IOException e) {
            return false;
        }
    }

    URI uri() {
        return URI.create("redis://127.0.0.1:" + port);
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            kill();
        }
    }
}
