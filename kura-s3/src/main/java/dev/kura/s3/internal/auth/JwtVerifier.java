package dev.kura.s3.internal.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.kura.s3.JwtConfig;
import dev.kura.s3.internal.api.S3ErrorCode;
import dev.kura.s3.internal.api.S3Exception;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Verifies {@code Authorization: Bearer <JWT>} (RFC 6750 section 2.1, RFC 7519) with
 * nimbus-jose-jwt: the JWS signature (RS256 or ES256 with a key of the configured JWK Set, HS256
 * with the configured secret), {@code iss}, {@code aud} and {@code exp} (required), then the claim
 * that lists what the bearer may read.
 *
 * <p>Why keys are refreshed in the background: fetching a JWK Set while a request waits would put
 * the identity provider's latency and failures on the data path, and let a burst of requests with
 * unknown {@code kid}s hammer it. A scheduled thread fetches the set at start and every
 * {@code serve.jwt.refresh}; a failed fetch keeps the previous keys and is logged. Until the first
 * fetch succeeds, RS256/ES256 tokens are refused (AccessDenied).
 *
 * <p>Thread-safety: safe for concurrent use; the processor is swapped atomically on each refresh.
 */
public final class JwtVerifier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JwtVerifier.class);
    private static final int JWKS_TIMEOUT_MS = 5_000;
    private static final int JWKS_MAX_BYTES = 256 * 1024;

    private final JwtConfig config;
    /** Replaced by each refresh of the JWK Set; readers take whichever is current. */
    private volatile DefaultJWTProcessor<SecurityContext> processor;
    /** Null without {@code jwks-url} (HS256 only: nothing to refresh). */
    private final @Nullable ScheduledExecutorService refresher;

    public JwtVerifier(JwtConfig config) {
        this.config = config;
        this.processor = processor(new JWKSet());
        URI jwks = config.jwksUrl();
        if (jwks != null) {
            refresher = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "kura-jwks-refresh");
                t.setDaemon(true);
                return t;
            });
            long every = config.refresh().toMillis();
            refresher.scheduleWithFixedDelay(() -> refresh(jwks), 0, every, TimeUnit.MILLISECONDS);
        } else {
            refresher = null;
        }
    }

    private void refresh(URI jwks) {
        try {
            JWKSet set = JWKSet.load(jwks.toURL(), JWKS_TIMEOUT_MS, JWKS_TIMEOUT_MS, JWKS_MAX_BYTES);
            processor = processor(set.toPublicJWKSet());
            log.debug("JWK Set from {}: {} keys", jwks, set.getKeys().size());
        } catch (java.io.IOException | ParseException | RuntimeException e) {
            log.warn("JWK Set from {} could not be fetched, keeping the previous keys: {}", jwks,
                    e.toString());
        }
    }

    private DefaultJWTProcessor<SecurityContext> processor(JWKSet publicKeys) {
        List<JWK> keys = new ArrayList<>(publicKeys.getKeys());
        if (config.hmacSecret() != null) {
            keys.add(new OctetSequenceKey.Builder(config.hmacSecret().getBytes(StandardCharsets.UTF_8)).build());
        }
        DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
        // Each algorithm only selects keys of its own type: an RSA public key can never be used as
        // an HMAC secret (the "alg confusion" attack).
        p.setJWSKeySelector(new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256,
                JWSAlgorithm.HS256), new ImmutableJWKSet<>(new JWKSet(keys))));
        p.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(config.audience(),
                new JWTClaimsSet.Builder().issuer(config.issuer()).build(), Set.of("exp")));
        return p;
    }

    /**
     * Verifies a bearer token.
     *
     * @return the principal, named {@code jwt:<sub>}, reading what the claim lists
     * @throws S3Exception ExpiredToken for an expired token, AccessDenied for any other failure
     *     (the message never holds the token)
     */
    public Principal verify(String token) throws S3Exception {
        JWTClaimsSet claims;
        try {
            claims = processor.process(token, null);
        } catch (BadJWTException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("Expired JWT")) {
                throw new S3Exception(S3ErrorCode.EXPIRED_TOKEN, "The provided token has expired.");
            }
            throw new S3Exception(S3ErrorCode.ACCESS_DENIED, "invalid bearer token: " + e.getMessage());
        } catch (ParseException | BadJOSEException | JOSEException e) {
            throw new S3Exception(S3ErrorCode.ACCESS_DENIED, "invalid bearer token");
        }
        List<String> read;
        try {
            read = claims.getStringListClaim(config.claim());
        } catch (ParseException e) {
            throw new S3Exception(S3ErrorCode.ACCESS_DENIED, "claim " + config.claim() + " must be a list of strings");
        }
        String sub = claims.getSubject();
        return new Principal("jwt:" + (sub == null ? "-" : sub), read == null ? List.of() : read);
    }

    @Override
    public void close() {
        if (refresher != null) {
            refresher.shutdownNow();
        }
    }
}
