package dev.kura.config;

import java.net.InetSocketAddress;

/**
 * A listen address as written in kura.yaml and on the command line: {@code host:port},
 * {@code [ipv6]:port}, or {@code :port} for every interface. The one parser of that syntax, used by
 * {@code listen} (kura serve) and {@code tftp.listen} / {@code tftp.metrics-listen} (kura tftp).
 *
 * <p>The host is kept as written (a name is resolved only when bound); brackets around an IPv6
 * literal are removed. Port 0 means any free port.
 *
 * <p>Thread-safety: immutable.
 *
 * @param host the host name or literal address without brackets, or "" for every interface
 * @param port the port, 0..65535
 */
public record HostPort(String host, int port) {

    /** @throws IllegalArgumentException when the port is outside 0..65535 */
    public HostPort {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, was " + port);
        }
    }

    /**
     * Parses {@code text}.
     *
     * @param text {@code host:port}, {@code [ipv6]:port} or {@code :port}
     * @param key the configuration key or option the text came from, named in the error
     * @return the host and port
     * @throws IllegalArgumentException naming {@code key} and the text when there is no port, the
     *     port is not a number or not in 0..65535, or an IPv6 literal lacks its brackets
     */
    public static HostPort parse(String text, String key) {
        int colon = text.lastIndexOf(':');
        if (colon < 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException(key + " must be host:port, [ipv6]:port or :port, was '" + text + "'");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException(key + ": an IPv6 address needs brackets, as in [::1]:8080, was '" + text + "'");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": the port is not a number in '" + text + "'", e);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(key + ": the port must be 0..65535, was " + port);
        }
        return new HostPort(host, port);
    }

    /** Whether this means every interface ({@code :port}). */
    public boolean anyInterface() {
        return host.isEmpty();
    }

    /**
     * The address to bind: the wildcard address for {@code :port}, otherwise the host, not yet
     * resolved (resolving is the binder's business, and may fail there).
     */
    public InetSocketAddress unresolved() {
        return anyInterface() ? new InetSocketAddress(port) : InetSocketAddress.createUnresolved(host, port);
    }

    /** Back in the syntax {@link #parse} reads: {@code host:port}, {@code [v6]:port} or {@code :port}. */
    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
