package dev.kura.net;

/**
 * Netty transports kura can run on: the value of {@code serve.transport} and {@code tftp.transport}
 * (written {@code auto}, {@code io_uring}, {@code epoll}, {@code nio} in {@code kura.yaml}; the
 * config binder matches enum names case-insensitively).
 *
 * <p>Thread-safety: immutable.
 */
public enum Transport {
    /** io_uring where it loads, else epoll, else NIO; the choice says why ({@link NettyTransport#why()}). */
    AUTO,
    /** Netty's io_uring transport (Linux 5.x with io_uring enabled; {@code netty-transport-native-io_uring}). */
    IO_URING,
    /** Netty's native epoll transport (Linux; {@code netty-transport-native-epoll}). */
    EPOLL,
    /** The JDK's NIO selector: portable, one more copy and more garbage per packet. */
    NIO;

    /** The name as written in {@code kura.yaml} and printed in logs: {@code io_uring}, {@code epoll}, ... */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
