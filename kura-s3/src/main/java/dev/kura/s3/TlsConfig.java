package dev.kura.s3;

import org.jspecify.annotations.Nullable;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The {@code serve.tls:} section: HTTPS on the data listener (docs/CONFIG.md, docs/OPERATIONS.md).
 * The files are read at start and again on every hot reload, so a renewed certificate takes
 * effect for new connections without a restart.
 *
 * @param cert PEM certificate chain, the server's certificate first ({@code cert})
 * @param key PEM private key of that certificate, PKCS#8 ({@code BEGIN PRIVATE KEY}) ({@code key})
 * @param clientCa PEM certificates of the CAs whose client certificates are accepted; when set,
 *     every client must present a certificate that one of them signed, or the TLS handshake fails
 *     ({@code client-ca}, optional; RFC 8446 section 4.3.2)
 *
 * <p>Thread-safety: immutable.
 */
public record TlsConfig(Path cert, Path key, @Nullable Path clientCa) {

    /** @throws IllegalArgumentException naming the key of a missing or unreadable file */
    public TlsConfig {
        readable(cert, "cert");
        readable(key, "key");
        if (clientCa != null) {
            readable(clientCa, "client-ca");
        }
    }

    private static void readable(@Nullable Path p, String name) {
        if (p == null) {
            throw new IllegalArgumentException(name + " must be set (a PEM file)");
        }
        if (!Files.isReadable(p)) {
            throw new IllegalArgumentException(name + ": cannot read " + p.toAbsolutePath());
        }
    }
}
