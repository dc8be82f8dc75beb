package dev.kura.s3;

import org.jspecify.annotations.Nullable;

import java.net.URI;
import java.time.Duration;

/**
 * {@code serve.jwt}: Bearer JSON Web Tokens as client credentials, beside SigV4 keys. A client
 * sends {@code Authorization: Bearer <JWT>}; kura verifies the signature (RS256 or ES256 with a
 * key from {@code jwks-url}, or HS256 with {@code hmac-secret}), the issuer, the audience and the
 * expiry (RFC 7519 sections 4.1.1, 4.1.3, 4.1.4), and reads what the client may read from
 * {@code claim}: a list of {@code name}, {@code name/prefix} or {@code *}, as in
 * {@code serve.clients[].read}.
 *
 * @param jwksUrl where the public keys are (a JWK Set, RFC 7517 section 5); fetched at start and
 *     every {@code refresh} on a background thread, never while a request waits; null for HS256 only
 * @param issuer the required {@code iss}
 * @param audience the required {@code aud}
 * @param claim the claim listing readable buckets and prefixes; default {@code kura_read}
 * @param refresh how often the JWK Set is fetched again; default 5 min
 * @param hmacSecret the HS256 secret (at least 32 bytes), usually {@code ${ENV}}; null for none
 *
 * <p>Thread-safety: immutable. {@link #toString()} hides the secret.
 */
public record JwtConfig(@Nullable URI jwksUrl, String issuer, String audience, String claim, Duration refresh,
                        @Nullable String hmacSecret) {

    /** @throws IllegalArgumentException naming the key of a missing or nonsense value */
    public JwtConfig {
        if (jwksUrl == null && (hmacSecret == null || hmacSecret.isEmpty())) {
            throw new IllegalArgumentException("jwt needs jwks-url or hmac-secret");
        }
        if (jwksUrl != null && !("http".equals(jwksUrl.getScheme()) || "https".equals(jwksUrl.getScheme()))) {
            throw new IllegalArgumentException("jwt.jwks-url must be an http:// or https:// URL");
        }
        if (issuer == null || issuer.isBlank()) {
            throw new IllegalArgumentException("jwt.issuer must be set");
        }
        if (audience == null || audience.isBlank()) {
            throw new IllegalArgumentException("jwt.audience must be set");
        }
        if (claim == null || claim.isBlank()) {
            claim = "kura_read";
        }
        if (refresh == null) {
            refresh = Duration.ofMinutes(5);
        }
        if (refresh.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("jwt.refresh must be at least 1s");
        }
        if (hmacSecret != null && hmacSecret.isEmpty()) {
            hmacSecret = null;
        }
        if (hmacSecret != null && hmacSecret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 32) {
            throw new IllegalArgumentException("jwt.hmac-secret must be at least 32 bytes (HS256, RFC 7518 3.2)");
        }
    }

    @Override
    public String toString() {
        return "JwtConfig[jwksUrl=" + jwksUrl + ", issuer=" + issuer + ", audience=" + audience + ", claim=" + claim
                + ", refresh=" + refresh + (hmacSecret != null ? ", hmacSecret=(set)" : "") + "]";
    }
}
