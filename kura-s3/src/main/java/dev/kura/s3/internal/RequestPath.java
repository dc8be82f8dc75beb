package dev.kura.s3.internal;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes and checks the path of a request URL before it becomes an object key.
 *
 * <p>Why this is strict: the object key must stay inside its bucket whatever the client sends.
 * The path is percent-decoded once (RFC 3986 section 2.1), strictly: a bad escape or bytes that
 * are not UTF-8 are refused. The decoded path must hold no NUL and no {@code .} or {@code ..}
 * segment (with {@code /} or {@code \} as separators); and since some component downstream might
 * decode again, a path that shows such a segment after a second decoding (double encoding, e.g.
 * {@code %252e%252e}) is refused too. Refusal is a 400, never an object.
 */
public final class RequestPath {

    /** Thrown for a path kura refuses; the message is safe to send to the client. */
    public static final class BadPathException extends Exception {
        private static final long serialVersionUID = 1L;

        BadPathException(String message) {
            super(message, null, false, false);
        }
    }

    private RequestPath() {
    }

    /** The raw path of a request-target: origin-form up to {@code ?} or {@code #}. */
    public static String rawPath(String uri) throws BadPathException {
        if (uri.isEmpty() || uri.charAt(0) != '/') {
            throw new BadPathException("request target must be a path starting with '/'");
        }
        int q = uri.indexOf('?');
        int h = uri.indexOf('#');
        int end = uri.length();
        if (q >= 0) {
            end = q;
        }
        if (h >= 0 && h < end) {
            end = h;
        }
        return uri.substring(0, end);
    }

    /** Decodes {@code raw} and checks it as described above. */
    public static String decode(String raw) throws BadPathException {
        String once = percentDecode(raw);
        check(once);
        if (once.indexOf('%') >= 0) {
            String twice;
            try {
                twice = percentDecode(once);
            } catch (BadPathException e) {
                twice = null; // not an encoding: a literal '%' in the key
            }
            if (twice != null) {
                try {
                    check(twice);
                } catch (BadPathException e) {
                    throw new BadPathException("path is double-encoded and leaves its bucket");
                }
            }
        }
        return once;
    }

    private static void check(String p) throws BadPathException {
        if (p.indexOf('\0') >= 0) {
            throw new BadPathException("path holds a NUL byte");
        }
        int start = 0;
        int n = p.length();
        for (int i = 0; i <= n; i++) {
            if (i == n || p.charAt(i) == '/' || p.charAt(i) == '\\') {
                String seg = p.substring(start, i);
                if (seg.equals(".") || seg.equals("..")) {
                    throw new BadPathException("path holds a '" + seg + "' segment");
                }
                start = i + 1;
            }
        }
    }

    private static String percentDecode(String s) throws BadPathException {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        byte[] in = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < in.length; i++) {
            byte b = in[i];
            if (b == '%') {
                if (i + 2 >= in.length) {
                    throw new BadPathException("bad percent-encoding in path");
                }
                int hi = Character.digit(in[i + 1], 16);
                int lo = Character.digit(in[i + 2], 16);
                if (hi < 0 || lo < 0) {
                    throw new BadPathException("bad percent-encoding in path");
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                out.write(b);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(out.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new BadPathException("path is not UTF-8 after percent-decoding");
        }
    }
}
