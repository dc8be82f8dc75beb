package dev.kura.s3;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bearer JWT client authentication ({@code serve.jwt}) over real HTTP: keys from a JWK Set served
 * by a local HTTP server and fetched in the background (never on the request path), RS256, ES256
 * and HS256 tokens, and the refusals (wrong audience or issuer, expired, unknown key, a claim that
 * does not grant the bucket).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JwtTest {
    static final String HMAC = "an-hs256-secret-of-at-least-32-bytes!";
    @TempDir
    static Path tmp;
    Fixture f;
    HttpServer jwks;
    final AtomicInteger jwksFetches = new AtomicInteger();
    RSAKey rsa;
    ECKey ec;
    final byte[] body = "jwt-protected\n".getBytes(StandardCharsets.UTF_8);

    @BeforeAll
    void start() throws Exception {
        rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
        byte[] set = new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())).toString()
                .getBytes(StandardCharsets.UTF_8);
        jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        jwks.createContext("/jwks.json", x -> {
            jwksFetches.incrementAndGet();
            x.getResponseHeaders().set("Content-Type", "application/json");
            x.sendResponseHeaders(200, set.length);
            x.getResponseBody().write(set);
            x.close();
        });
        jwks.start();
        f = new Fixture(tmp).startOrigin();
        f.origin.put(Fixture.BUCKET, "secret.txt", body, "text/plain", null);
        f.testAccess = BucketConfig.Access.PRIVATE;
        f.jwt = new JwtConfig(URI.create("http://127.0.0.1:" + jwks.getAddress().getPort() + "/jwks.json"),
                "https://idp.example", "kura", null, Duration.ofMinutes(10), HMAC);
        f.startProxy();
    }

    @AfterAll
    void stop() throws Exception {
        f.close();
        jwks.stop(0);
    }

    String token(JWSSigner signer, JWSAlgorithm alg, String kid, String iss, String aud, Instant exp, List<String> read)
            throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).build(), new JWTClaimsSet.Builder()
                .issuer(iss).audience(aud).subject("alice").expirationTime(Date.from(exp))
                .claim("kura_read", read).build());
        jwt.sign(signer);
        return jwt.serialize();
    }

    HttpResponse<byte[]> get(String token) throws Exception {
        return f.get("/test/secret.txt", "Authorization", "Bearer " + token);
    }

    @Test
    void validTokensReadAndEveryFlawIsRefused() throws Exception {
        Instant later = Instant.now().plusSeconds(600);
        String rs = token(new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-1", "https://idp.example", "kura", later,
                List.of("test"));
        // The keys arrive in the background; wait for them, then count fetches.
        HttpResponse<byte[]> first = get(rs);
        for (int i = 0; i < 100 && first.statusCode() != 200; i++) {
            Thread.sleep(100);
            first = get(rs);
        }
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.body()).isEqualTo(body);
        int fetches = jwksFetches.get();

        String es = token(new ECDSASigner(ec), JWSAlgorithm.ES256, "ec-1", "https://idp.example", "kura", later,
                List.of("test/"));
        assertThat(get(es).body()).isEqualTo(body);
        String hs = token(new MACSigner(HMAC), JWSAlgorithm.HS256, null, "https://idp.example", "kura", later,
                List.of("*"));
        assertThat(get(hs).body()).isEqualTo(body);

        assertDenied(get(token(new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-1", "https://idp.example", "other",
                later, List.of("test"))), 403, "AccessDenied");
        assertDenied(get(token(new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-1", "https://evil.example", "kura",
                later, List.of("test"))), 403, "AccessDenied");
        assertDenied(get(token(new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-1", "https://idp.example", "kura",
                Instant.now().minusSeconds(600), List.of("test"))), 400, "ExpiredToken");
        RSAKey stranger = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        assertDenied(get(token(new RSASSASigner(stranger), JWSAlgorithm.RS256, "rsa-1", "https://idp.example", "kura",
                later, List.of("test"))), 403, "AccessDenied");
        assertDenied(get(token(new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-1", "https://idp.example", "kura",
                later, List.of("test/other-prefix/"))), 403, "AccessDenied");
        assertDenied(get("not.a.jwt"), 403, "AccessDenied");
        assertDenied(f.get("/test/secret.txt"), 403, "AccessDenied");
        // Requests never fetch keys.
        assertThat(jwksFetches.get()).isEqualTo(fetches);
    }

    private static void assertDenied(HttpResponse<byte[]> r, int status, String code) {
        assertThat(r.statusCode()).isEqualTo(status);
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("<Code>" + code + "</Code>")
                .doesNotContain("jwt-protected");
    }
}
