package dev.kura.s3.internal;

import io.netty.handler.codec.http.HttpHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Keeps response headers well-formed whatever the origin stored. An S3 object's user metadata is
 * whatever its writer sent; an origin that lets a CR or LF through (the issue stored
 * {@code x-amz-meta-note: a\rSet-Cookie: injected=cr} in S3Proxy) would otherwise let a bucket
 * writer split kura's responses (CWE-113). A header whose name is not a token or whose value holds
 * a control character is dropped, never repaired (a repaired value would be a different value),
 * and logged at most once per minute.
 *
 * <p>Rules (RFC 9110 section 5.1 and 5.5): a field name is a {@code token}: visible US-ASCII
 * without delimiters; a field value is {@code VCHAR}, {@code obs-text}, SP and HTAB only, so CR,
 * LF, NUL, the other C0 controls and DEL never reach a response.
 *
 * <p>Thread-safety: stateless apart from the rate-limited logger; safe for concurrent use.
 */
public final class HeaderHygiene {
    private static final RateLimitedLog DROPPED =
            new RateLimitedLog(LoggerFactory.getLogger(HeaderHygiene.class), 60, TimeUnit.SECONDS);

    private HeaderHygiene() {
    }

    /** True when {@code name} is an RFC 9110 token (section 5.6.2). */
    public static boolean validName(CharSequence name) {
        if (name == null || name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!tchar) {
                return false;
            }
        }
        return true;
    }

    /** True when {@code value} has only VCHAR, obs-text (0x80-0xFF), SP and HTAB (section 5.5). */
    public static boolean validValue(CharSequence value) {
        if (value == null) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
                return false;
            }
        }
        return true;
    }

    /**
     * The headers of {@code in} that are safe to send, in order; each dropped one is logged
     * (rate-limited) with {@code source}.
     *
     * @param in header name to value; not modified
     * @param source where the headers came from, for the log line (an object key, a request id)
     * @return a new map, or {@code in} itself when nothing was dropped
     */
    public static Map<String, String> clean(Map<String, String> in, String source) {
        Map<String, String> out = null;
        for (Map.Entry<String, String> e : in.entrySet()) {
            if (!validName(e.getKey()) || !validValue(e.getValue())) {
                if (out == null) {
                    out = new LinkedHashMap<>(in);
                }
                out.remove(e.getKey());
                dropped(e.getKey(), source);
            }
        }
        return out == null ? in : out;
    }

    /** Removes every unsafe header of {@code h} in place (the last line of defence before a write). */
    static void scrub(HttpHeaders h, String requestId) {
        List<String> bad = null;
        for (Map.Entry<String, String> e : h) {
            if (!validName(e.getKey()) || !validValue(e.getValue())) {
                if (bad == null) {
                    bad = new ArrayList<>(2);
                }
                bad.add(e.getKey());
            }
        }
        if (bad != null) {
            for (String name : bad) {
                h.remove(name);
                dropped(name, "request " + requestId);
            }
        }
    }

    private static void dropped(String name, String source) {
        DROPPED.warn("dropped response header {} with a control character or an invalid name ({})",
                printable(name), source);
    }

    /** The name with control characters shown as {@code \xNN}, so the log line itself stays one line. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 64) + 8);
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
