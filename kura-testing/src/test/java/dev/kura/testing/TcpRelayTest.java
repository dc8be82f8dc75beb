package dev.kura.testing;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The relay over real loopback sockets, in front of an origin that answers each line with a fixed answer. */
class TcpRelayTest {
    private static final byte[] ANSWER = new byte[100_000];

    static {
        for (int i = 0; i < ANSWER.length; i++) {
            ANSWER[i] = (byte) ('a' + i % 26);
        }
        System.arraycopy("X-Note: a Set-Cookie\r\n".getBytes(StandardCharsets.ISO_8859_1), 0, ANSWER, 0, 22);
    }

    private ServerSocket origin;

    @BeforeEach
    void startOrigin() throws IOException {
        origin = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().start(() -> {
            while (!origin.isClosed()) {
                try {
                    Socket s = origin.accept();
                    Thread.ofPlatform().daemon().start(() -> {
                        try (s) {
                            s.getInputStream().read(); // one byte asks for the answer
                            s.getOutputStream().write(ANSWER);
                        } catch (IOException ignored) {
                            // the test closed it
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    @AfterEach
    void stopOrigin() throws IOException {
        origin.close();
    }

    private static byte[] ask(TcpRelay relay, int n) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write('?');
            return s.getInputStream().readNBytes(n);
        }
    }

    @Test
    void passesBytesUnchangedByDefault() throws IOException {
        try (TcpRelay relay = TcpRelay.to(origin.getLocalPort()).start()) {
            assertThat(ask(relay, ANSWER.length)).isEqualTo(ANSWER);
            assertThat(relay.endpoint().toString()).isEqualTo("http://127.0.0.1:" + relay.port());
        }
    }

    @Test
    void holdsEachAnswerAfterItsHeadUntilReleased() throws Exception {
        try (TcpRelay relay = TcpRelay.to(origin.getLocalPort()).holdAnswersAfter(1000).start();
             Socket s = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            s.getOutputStream().write('?');
            InputStream in = s.getInputStream();
            assertThat(in.readNBytes(1000)).isEqualTo(Arrays.copyOf(ANSWER, 1000));
            s.setSoTimeout(300);
            assertThatThrownBy(in::read).as("held after the head").isInstanceOf(SocketTimeoutException.class);
            relay.release();
            s.setSoTimeout(10_000);
            assertThat(in.readNBytes(ANSWER.length - 1000)).isEqualTo(Arrays.copyOfRange(ANSWER, 1000, ANSWER.length));
        }
    }

    @Test
    void rewritesAPatternOfTheSameLength() throws IOException {
        try (TcpRelay relay = TcpRelay.to(origin.getLocalPort()).rewriteAnswers("a Set-Cookie", "a\rSet-Cookie").start()) {
            byte[] got = ask(relay, ANSWER.length);
            assertThat(new String(got, 0, 22, StandardCharsets.ISO_8859_1)).isEqualTo("X-Note: a\rSet-Cookie\r\n");
            assertThat(Arrays.copyOfRange(got, 22, got.length)).isEqualTo(Arrays.copyOfRange(ANSWER, 22, ANSWER.length));
        }
        assertThatThrownBy(() -> TcpRelay.to(1).rewriteAnswers("ab", "a")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aHandlerTakesTheWholeConnection() throws IOException {
        try (TcpRelay relay = TcpRelay.to(origin.getLocalPort()).handler((client, r) -> {
            client.getInputStream().read();
            OutputStream out = client.getOutputStream();
            out.write("from the handler".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }).start()) {
            assertThat(new String(ask(relay, 16), StandardCharsets.US_ASCII)).isEqualTo("from the handler");
        }
    }
}
