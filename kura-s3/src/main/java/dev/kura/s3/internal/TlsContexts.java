package dev.kura.s3.internal;

import dev.kura.s3.TlsConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLException;

/**
 * Builds the data listener's TLS context from {@code serve.tls} PEM files.
 *
 * <p>Which engine: BoringSSL through netty-tcnative-boringssl-static where its native library
 * loads (linux-x86_64 and linux-aarch_64 jars ship with kura), since it does the record
 * encryption with less CPU and garbage than the JDK's engine; the JDK's TLS otherwise. The choice
 * and, for the JDK, why BoringSSL did not load, are logged at start ({@link #describe()}).
 *
 * <p>Only HTTP/1.1 is served, so no ALPN is offered. Protocol versions and cipher suites are the
 * engine's defaults (TLS 1.2 and 1.3).
 *
 * <p>Thread-safety: stateless.
 */
final class TlsContexts {
    private TlsContexts() {
    }

    /** The engine {@link #build} uses. */
    static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /** One line for the log: which engine, and why not BoringSSL when it is the JDK's. */
    static String describe() {
        if (provider() == SslProvider.OPENSSL) {
            return "BoringSSL via netty-tcnative (" + OpenSsl.versionString() + ")";
        }
        Throwable why = OpenSsl.unavailabilityCause();
        return "JDK TLS (BoringSSL unavailable: " + (why == null ? "unknown" : why.toString()) + ")";
    }

    /** The short name of the engine: {@code BoringSSL} or {@code JDK}. */
    static String name() {
        return provider() == SslProvider.OPENSSL ? "BoringSSL" : "JDK";
    }

    /**
     * Reads the PEM files of {@code tls} and makes a server context.
     *
     * @throws IllegalArgumentException naming {@code serve.tls} and the files when they do not load
     *     (not PEM, key not matching the certificate, unsupported key type)
     */
    static SslContext build(TlsConfig tls) {
        try {
            SslContextBuilder b = SslContextBuilder.forServer(tls.cert().toFile(), tls.key().toFile())
                    .sslProvider(provider());
            if (tls.clientCa() != null) {
                b.trustManager(tls.clientCa().toFile()).clientAuth(ClientAuth.REQUIRE);
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("serve.tls: cannot load cert " + tls.cert() + " / key " + tls.key()
                    + (tls.clientCa() == null ? "" : " / client-ca " + tls.clientCa()) + ": " + rootMessage(e), e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t + ")";
    }
}
