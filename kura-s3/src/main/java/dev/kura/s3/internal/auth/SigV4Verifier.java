package dev.kura.s3.internal.auth;

import dev.kura.s3.ClientConfig;
import dev.kura.s3.internal.api.S3ErrorCode;
import dev.kura.s3.internal.api.S3Exception;
import org.jspecify.annotations.Nullable;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Verifies AWS Signature Version 4 on a request kura received: in the {@code Authorization}
 * header, or in the query of a presigned URL.
 *
 * <p>Source: AWS's "Signature Version 4 signing process" and the S3 API reference,
 * "Authenticating Requests (AWS Signature Version 4)": "Signature calculations for the
 * Authorization header", "Query string parameters (presigned URLs)". The verifier recomputes the
 * signature the client must have computed, over the request as it arrived (method, path, query,
 * the headers the client named in SignedHeaders, the payload hash it declared), with the secret of
 * the claimed access key, and compares the two in constant time ({@link MessageDigest#isEqual}).
 *
 * <p>Why not the AWS SDK's signer: the SDK signs a request it builds itself (it normalizes the
 * path and query, adds {@code host}, {@code x-amz-date} and {@code x-amz-content-sha256} from its
 * own model); a verifier must canonicalize exactly what the client sent, so the canonical request
 * is built here from the received bytes with the S3 rules (no double encoding of the path, no
 * path normalization). The cryptography is the JDK's HMAC-SHA256 and SHA-256. Tests check it
 * against signatures made by the Java SDK, awscli and boto3.
 *
 * <p>Rules enforced: the date ({@code X-Amz-Date} or {@code Date}) within 15 minutes of kura's
 * clock (RequestTimeTooSkewed); a presigned URL not past {@code X-Amz-Date + X-Amz-Expires}
 * (AccessDenied "Request has expired") with {@code X-Amz-Expires} at most 7 days; the credential
 * scope's date equal to the request date and its service {@code s3}; {@code host} among the
 * signed headers. The region of the scope is whatever the client signed with (kura has no
 * region of its own). Errors never hold the secret or the expected signature.
 *
 * <p>Thread-safety: immutable, safe for concurrent use.
 */
public final class SigV4Verifier {
    /** The only algorithm S3 accepts for SigV4. */
    public static final String ALGORITHM = "AWS4-HMAC-SHA256";
    static final Duration MAX_SKEW = Duration.ofMinutes(15);
    static final long MAX_EXPIRES_SECONDS = 7 * 24 * 3600;
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);
    private static final String UNSIGNED = "UNSIGNED-PAYLOAD";

    private final Map<String, ClientConfig> clients = new HashMap<>();
    private final Clock clock;

    /**
     * @param clients the accepted access keys
     * @param clock kura's clock (tests move it)
     */
    public SigV4Verifier(List<ClientConfig> clients, Clock clock) {
        for (ClientConfig c : clients) {
            this.clients.put(c.accessKeyId(), c);
        }
        this.clock = clock;
    }

    /** The received request, as the verifier needs it. */
    public record SignedRequest(String method, String rawPath, @Nullable String rawQuery,
                                Function<String, @Nullable List<String>> headers) {
        @Nullable String header(String name) {
            List<String> v = headers.apply(name);
            return v == null || v.isEmpty() ? null : v.getFirst();
        }
    }

    /**
     * Verifies the request's signature.
     *
     * @return the principal of the access key that signed it, or {@link Principal#ANONYMOUS} when the
     *     request carries no AWS signature at all
     * @throws S3Exception SignatureDoesNotMatch, InvalidAccessKeyId, RequestTimeTooSkewed,
     *     AccessDenied (expired presigned URL), AuthorizationHeaderMalformed,
     *     AuthorizationQueryParametersError or InvalidRequest (another signing scheme)
     */
    public Principal verify(SignedRequest r) throws S3Exception {
        String auth = r.header("authorization");
        List<String[]> query = parseQuery(r.rawQuery());
        if (auth != null) {
            if (auth.startsWith("Bearer ")) {
                throw new S3Exception(S3ErrorCode.INVALID_REQUEST, "Bearer tokens are not accepted (serve.jwt is not set)");
            }
            if (!auth.startsWith(ALGORITHM + " ")) {
                throw new S3Exception(S3ErrorCode.INVALID_REQUEST,
                        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
            }
            return verifyHeader(r, auth.substring(ALGORITHM.length() + 1), query);
        }
        String algorithm = first(query, "X-Amz-Algorithm");
        if (algorithm != null || first(query, "X-Amz-Signature") != null) {
            if (!ALGORITHM.equals(algorithm)) {
                throw new S3Exception(S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
                        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
            }
            return verifyPresigned(r, query);
        }
        if (first(query, "Signature") != null || first(query, "AWSAccessKeyId") != null) {
            throw new S3Exception(S3ErrorCode.INVALID_REQUEST,
                    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
        }
        return Principal.ANONYMOUS;
    }

    private Principal verifyHeader(SignedRequest r, String params, List<String[]> query) throws S3Exception {
        Map<String, String> p = new HashMap<>();
        for (String part : params.split(",")) {
            String t = part.trim();
            int eq = t.indexOf('=');
            if (eq > 0) {
                p.put(t.substring(0, eq), t.substring(eq + 1));
            }
        }
        String credential = p.get("Credential");
        String signedHeaders = p.get("SignedHeaders");
        String signature = p.get("Signature");
        if (credential == null || signedHeaders == null || signature == null) {
            throw new S3Exception(S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED,
                    "The authorization header is malformed; it needs Credential, SignedHeaders and Signature");
        }
        String amzDate = r.header("x-amz-date");
        Instant date;
        if (amzDate != null) {
            date = parseAmzDate(amzDate, S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED);
        } else {
            String d = r.header("date");
            Instant parsed = d == null ? null : parseHttpDate(d);
            if (parsed == null) {
                throw new S3Exception(S3ErrorCode.ACCESS_DENIED,
                        "AWS authentication requires a valid Date or x-amz-date header");
            }
            date = parsed;
            amzDate = AMZ_DATE.format(date);
        }
        Instant now = clock.instant();
        if (Duration.between(date, now).abs().compareTo(MAX_SKEW) > 0) {
            throw new S3Exception(S3ErrorCode.REQUEST_TIME_TOO_SKEWED,
                    "The difference between the request time and the current time is too large.");
        }
        Scope scope = scope(credential, amzDate, S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED);
        ClientConfig client = client(scope.accessKeyId);
        String payload = r.header("x-amz-content-sha256");
        if (payload == null) {
            throw new S3Exception(S3ErrorCode.INVALID_REQUEST,
                    "Missing required header for this request: x-amz-content-sha256");
        }
        String canonical = canonicalRequest(r, query, signedHeaders, payload, false);
        check(client, scope, amzDate, canonical, signature);
        return new Principal(client.accessKeyId(), client.read());
    }

    private Principal verifyPresigned(SignedRequest r, List<String[]> query) throws S3Exception {
        String credential = first(query, "X-Amz-Credential");
        String amzDate = first(query, "X-Amz-Date");
        String expires = first(query, "X-Amz-Expires");
        String signedHeaders = first(query, "X-Amz-SignedHeaders");
        String signature = first(query, "X-Amz-Signature");
        if (credential == null || amzDate == null || expires == null || signedHeaders == null || signature == null) {
            throw new S3Exception(S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR, "Query-string authentication "
                    + "version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                    + "X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
        }
        Instant date = parseAmzDate(amzDate, S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR);
        long seconds;
        try {
            seconds = Long.parseLong(expires);
        } catch (NumberFormatException e) {
            seconds = -1;
        }
        if (seconds < 0 || seconds > MAX_EXPIRES_SECONDS) {
            throw new S3Exception(S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
                    "X-Amz-Expires must be a number of seconds from 0 to 604800 (7 days)");
        }
        Instant now = clock.instant();
        if (date.minus(MAX_SKEW).isAfter(now)) {
            throw new S3Exception(S3ErrorCode.REQUEST_TIME_TOO_SKEWED,
                    "The difference between the request time and the current time is too large.");
        }
        Scope scope = scope(credential, amzDate, S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR);
        ClientConfig client = client(scope.accessKeyId);
        String payload = first(query, "X-Amz-Content-Sha256");
        String canonical = canonicalRequest(r, query, signedHeaders, payload != null ? payload : UNSIGNED, true);
        check(client, scope, amzDate, canonical, signature);
        // Expiry after the signature: an expired URL that was never valid is a bad signature.
        if (now.isAfter(date.plusSeconds(seconds))) {
            throw new S3Exception(S3ErrorCode.ACCESS_DENIED, "Request has expired");
        }
        return new Principal(client.accessKeyId(), client.read());
    }

    private ClientConfig client(String accessKeyId) throws S3Exception {
        ClientConfig c = clients.get(accessKeyId);
        if (c == null) {
            throw new S3Exception(S3ErrorCode.INVALID_ACCESS_KEY_ID,
                    "The AWS Access Key Id you provided does not exist in our records.");
        }
        return c;
    }

    private record Scope(String accessKeyId, String date, String region, String service) {
        String value() {
            return date + "/" + region + "/" + service + "/aws4_request";
        }
    }

    private static Scope scope(String credential, String amzDate, S3ErrorCode malformed) throws S3Exception {
        String[] c = credential.split("/", -1);
        if (c.length != 5 || !c[4].equals("aws4_request") || c[0].isEmpty()) {
            throw new S3Exception(malformed, "Credential must be <access key id>/<date>/<region>/s3/aws4_request");
        }
        if (!c[1].equals(amzDate.substring(0, 8))) {
            throw new S3Exception(malformed, "The credential scope's date does not match the request date");
        }
        if (!c[3].equals("s3")) {
            throw new S3Exception(malformed, "The credential scope's service must be s3");
        }
        return new Scope(c[0], c[1], c[2], c[3]);
    }

    private static void check(ClientConfig client, Scope scope, String amzDate, String canonical, String signature)
            throws S3Exception {
        String stringToSign = ALGORITHM + "\n" + amzDate + "\n" + scope.value() + "\n"
                + HexFormat.of().formatHex(sha256(canonical.getBytes(StandardCharsets.UTF_8)));
        byte[] key = hmac(("AWS4" + client.secretAccessKey()).getBytes(StandardCharsets.UTF_8), scope.date);
        key = hmac(key, scope.region);
        key = hmac(key, scope.service);
        key = hmac(key, "aws4_request");
        byte[] expected = HexFormat.of().formatHex(hmac(key, stringToSign)).getBytes(StandardCharsets.US_ASCII);
        byte[] given = signature.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, given)) {
            throw new S3Exception(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, "The request signature we calculated does "
                    + "not match the signature you provided. Check your key and signing method.");
        }
    }

    /** The canonical request (SigV4 task 1) over what was received. */
    static String canonicalRequest(SignedRequest r, List<String[]> query, String signedHeaders, String payload,
                                   boolean presigned) throws S3Exception {
        StringBuilder sb = new StringBuilder(256);
        sb.append(r.method()).append('\n');
        sb.append(encode(decode(r.rawPath()), false)).append('\n');
        List<String[]> q = new ArrayList<>();
        for (String[] kv : query) {
            if (presigned && kv[0].equals("X-Amz-Signature")) {
                continue;
            }
            q.add(new String[] {encode(kv[0], true), encode(kv[1], true)});
        }
        q.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
        for (int i = 0; i < q.size(); i++) {
            sb.append(i == 0 ? "" : "&").append(q.get(i)[0]).append('=').append(q.get(i)[1]);
        }
        sb.append('\n');
        boolean host = false;
        for (String name : signedHeaders.split(";")) {
            if (name.isEmpty() || !name.equals(name.toLowerCase(Locale.ROOT))) {
                throw new S3Exception(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, "SignedHeaders must be lower-case names");
            }
            host |= name.equals("host");
            List<String> values = r.headers().apply(name);
            sb.append(name).append(':');
            if (values != null) {
                for (int i = 0; i < values.size(); i++) {
                    sb.append(i == 0 ? "" : ",").append(values.get(i).strip().replaceAll(" +", " "));
                }
            }
            sb.append('\n');
        }
        if (!host) {
            throw new S3Exception(S3ErrorCode.ACCESS_DENIED, "host must be a signed header");
        }
        sb.append('\n').append(signedHeaders).append('\n').append(payload);
        return sb.toString();
    }

    /** Query parameters, percent-decoded ('+' is a plain character, as SigV4 clients encode a space as %20). */
    static List<String[]> parseQuery(@Nullable String raw) {
        List<String[]> out = new ArrayList<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String part : raw.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            out.add(new String[] {decode(k), decode(v)});
        }
        return out;
    }

    private static @Nullable String first(List<String[]> q, String name) {
        for (String[] kv : q) {
            if (kv[0].equals(name)) {
                return kv[1];
            }
        }
        return null;
    }

    /** SigV4's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (and '/' kept in a path). */
    static String encode(String s, boolean encodeSlash) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(b.length + 16);
        for (byte x : b) {
            int c = x & 0xff;
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                    || c == '_' || c == '~' || c == '/' && !encodeSlash) {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    /** Percent-decodes {@code s}; a '%' not followed by two hex digits stays as it is. */
    private static String decode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length() && Character.digit(s.charAt(i + 1), 16) >= 0
                    && Character.digit(s.charAt(i + 2), 16) >= 0) {
                out.write(Character.digit(s.charAt(i + 1), 16) << 4 | Character.digit(s.charAt(i + 2), 16));
                i += 2;
            } else if (c < 0x80) {
                out.write(c);
            } else {
                byte[] u = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(u, 0, u.length);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static Instant parseAmzDate(String s, S3ErrorCode malformed) throws S3Exception {
        try {
            return Instant.from(AMZ_DATE.parse(s));
        } catch (DateTimeParseException e) {
            throw new S3Exception(malformed, "X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'");
        }
    }

    private static @Nullable Instant parseHttpDate(String s) {
        try {
            return Instant.from(DateTimeFormatter.RFC_1123_DATE_TIME.parse(s.trim()));
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from the JDK", e);
        }
    }
}
