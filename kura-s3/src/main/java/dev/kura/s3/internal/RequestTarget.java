package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;

/**
 * The HTTP/1.1 request-target and Host rules a server must apply before routing (RFC 9112).
 *
 * <ul>
 *   <li>Section 3.2: a request must carry exactly one Host header when it is HTTP/1.1; none or
 *       several get 400. (HTTP/1.0 may omit it.)</li>
 *   <li>Section 3.2.2: a server MUST accept the absolute-form ({@code GET http://host:port/path
 *       HTTP/1.1}); the target's authority then replaces Host. kura is not a forward proxy, so it
 *       serves an absolute-form target only when the authority names kura itself: the address
 *       and port the client connected to, a loopback name, or this host's name; any other
 *       authority gets 421 Misdirected Request (RFC 9110 section 15.5.20).</li>
 * </ul>
 *
 * <p>Thread-safety: stateless.
 */
final class RequestTarget {
    private RequestTarget() {
    }

    /** What to do with a request: route {@code originForm}, or answer {@code status} with {@code reason}. */
    record Decision(@Nullable String originForm, int status, @Nullable String reason) {
        static Decision route(String originForm) {
            return new Decision(originForm, 0, null);
        }

        static Decision reject(int status, String reason) {
            return new Decision(null, status, reason);
        }

        boolean routed() {
            return originForm != null;
        }
    }

    /**
     * @param uri the request-target as received
     * @param http11 whether the request line said HTTP/1.1 (or later)
     * @param hosts every Host header value of the request
     * @param local the address the client connected to (the listener's side of the socket)
     */
    static Decision decide(String uri, boolean http11, List<String> hosts, InetSocketAddress local) {
        if (hosts.size() > 1) {
            return Decision.reject(400, "more than one Host header (RFC 9112 section 3.2)");
        }
        if (hosts.isEmpty() && http11) {
            return Decision.reject(400, "no Host header (RFC 9112 section 3.2)");
        }
        if (!hosts.isEmpty() && !validAuthority(hosts.getFirst())) {
            return Decision.reject(400, "malformed Host header");
        }
        if (!isAbsoluteForm(uri)) {
            return Decision.route(uri);
        }
        int schemeEnd = uri.indexOf("://");
        String scheme = uri.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
        int authStart = schemeEnd + 3;
        int pathStart = authStart;
        while (pathStart < uri.length() && "/?#".indexOf(uri.charAt(pathStart)) < 0) {
            pathStart++;
        }
        String authority = uri.substring(authStart, pathStart);
        if (authority.isEmpty() || authority.indexOf('@') >= 0 || !validAuthority(authority)) {
            return Decision.reject(400, "malformed authority in the absolute-form request target");
        }
        if (!scheme.equals("http")) {
            return Decision.reject(421, "kura serves http:// here, not " + scheme + "://");
        }
        if (!isOwn(authority, local)) {
            return Decision.reject(421, "kura is not a forward proxy: the target names another host");
        }
        String rest = uri.substring(pathStart);
        if (rest.isEmpty() || rest.charAt(0) != '/') {
            rest = "/" + rest;
        }
        return Decision.route(rest);
    }

    static boolean isAbsoluteForm(String uri) {
        return uri.regionMatches(true, 0, "http://", 0, 7) || uri.regionMatches(true, 0, "https://", 0, 8);
    }

    /** {@code host[:port]} with a reg-name, IPv4 or bracketed IPv6 host and no control or space characters. */
    private static boolean validAuthority(String a) {
        if (a.isEmpty() || a.length() > 255) {
            return false;
        }
        for (int i = 0; i < a.length(); i++) {
            char c = a.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "-._~%!$&'()*+,;=:[]@".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static boolean isOwn(String authority, InetSocketAddress local) {
        String host;
        int port = 80;
        if (authority.startsWith("[")) {
            int end = authority.indexOf(']');
            if (end < 0) {
                return false;
            }
            host = authority.substring(1, end);
            if (end + 1 < authority.length()) {
                if (authority.charAt(end + 1) != ':') {
                    return false;
                }
                port = parsePort(authority.substring(end + 2));
            }
        } else {
            int colon = authority.lastIndexOf(':');
            host = colon < 0 ? authority : authority.substring(0, colon);
            if (colon >= 0) {
                port = parsePort(authority.substring(colon + 1));
            }
        }
        if (local == null || port != local.getPort()) {
            return false;
        }
        host = host.toLowerCase(Locale.ROOT);
        if (host.equals("localhost") || host.equals("localhost.")) {
            return true;
        }
        InetAddress la = local.getAddress();
        if (la != null && (host.equals(la.getHostAddress().toLowerCase(Locale.ROOT))
                || (la.isLoopbackAddress() && (host.equals("127.0.0.1") || host.equals("::1"))))) {
            return true;
        }
        return host.equals(LocalName.NAME);
    }

    private static int parsePort(String p) {
        if (p.isEmpty() || p.length() > 5) {
            return -1;
        }
        for (int i = 0; i < p.length(); i++) {
            if (p.charAt(i) < '0' || p.charAt(i) > '9') {
                return -1;
            }
        }
        return Integer.parseInt(p);
    }

    /** This host's name, looked up once (a lookup per request could block the event loop). */
    private static final class LocalName {
        static final String NAME = lookup();

        private static String lookup() {
            try {
                return InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT);
            } catch (java.io.IOException e) {
                return "localhost";
            }
        }
    }
}
