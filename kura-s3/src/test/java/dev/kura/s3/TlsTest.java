package dev.kura.s3;

import dev.kura.testing.Requires;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * HTTPS on the data listener ({@code serve.tls}) with a test CA and certificates made here by
 * Debian's openssl: curl with {@code --cacert}, the AWS SDK for Java v2, client certificates
 * required and refused when missing, certificate files re-read on reload.
 */
class TlsTest {
    @TempDir
    Path tmp;

    private Path openssl;

    private void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(openssl.toString());
        cmd.addAll(List.of(args));
        ExternalTool.Result r = ExternalTool.run(cmd, Map.of(), tmp);
        assertThat(r.exit()).as("openssl " + String.join(" ", args) + ": " + r.err()).isZero();
    }

    /** A CA ({@code <name>-ca.pem/.key}). */
    private void ca(String name) throws Exception {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", tmp.resolve(name + "-ca.key").toString(), "-out", tmp.resolve(name + "-ca.pem").toString(),
                "-days", "2", "-subj", "/CN=" + name + " test CA");
    }

    /** A certificate {@code <name>.pem/.key} with {@code cn}, signed by CA {@code caName}, for {@code usage}. */
    private void cert(String name, String cn, String caName, String usage) throws Exception {
        Path ext = tmp.resolve(name + ".ext");
        Files.writeString(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=" + usage + "\n");
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", tmp.resolve(name + ".key").toString(), "-out", tmp.resolve(name + ".csr").toString(),
                "-subj", "/CN=" + cn);
        openssl("x509", "-req", "-in", tmp.resolve(name + ".csr").toString(),
                "-CA", tmp.resolve(caName + "-ca.pem").toString(), "-CAkey", tmp.resolve(caName + "-ca.key").toString(),
                "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", tmp.resolve(name + ".pem").toString());
    }

    private Fixture start(boolean clientCerts) throws Exception {
        return start(clientCerts, f -> { });
    }

    /** Starts kura on TLS; {@code configure} sets fixture keys first. */
    private Fixture start(boolean clientCerts, java.util.function.Consumer<Fixture> configure) throws Exception {
        openssl = Requires.tool("openssl", "openssl");
        ca("server");
        cert("server", "kura-first", "server", "serverAuth");
        if (clientCerts) {
            ca("client");
            cert("client", "kura-client", "client", "clientAuth");
        }
        Fixture f = new Fixture(tmp).startOrigin();
        f.origin.put(Fixture.BUCKET, "a.txt", "hello over TLS".getBytes(StandardCharsets.UTF_8), "text/plain", null);
        f.tls = new TlsConfig(tmp.resolve("server.pem"), tmp.resolve("server.key"),
                clientCerts ? tmp.resolve("client-ca.pem") : null);
        f.adminToken = ProxyTest.TOKEN;
        configure.accept(f);
        f.startProxy();
        assertThat(f.proxy.tls()).isIn("BoringSSL", "JDK");
        return f;
    }

    private ExternalTool.Result curl(Fixture f, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ExternalTool.require("curl", "curl"), "-sS", "--max-time", "20",
                "--cacert", tmp.resolve("server-ca.pem").toString()));
        cmd.addAll(List.of(extra));
        cmd.add("https://127.0.0.1:" + f.proxy.port() + "/test/a.txt");
        return ExternalTool.run(cmd, Map.of(), tmp);
    }

    @Test
    void curlAndTheAwsSdkOverHttps() throws Exception {
        try (Fixture f = start(false)) {
            ExternalTool.Result r = curl(f);
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).isEqualTo("hello over TLS");
            // Plain HTTP to the TLS port is not answered as HTTP.
            assertThat(ExternalTool.run(List.of(ExternalTool.require("curl", "curl"), "-sS", "--max-time", "10",
                    "http://127.0.0.1:" + f.proxy.port() + "/test/a.txt"), Map.of(), tmp).out())
                    .doesNotContain("hello over TLS");

            try (S3Client s3 = S3Client.builder().endpointOverride(URI.create("https://localhost:" + f.proxy.port()))
                    .region(Region.US_EAST_1).forcePathStyle(true)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                    .credentialsProvider(StaticCredentialsProvider.create(
                            AwsBasicCredentials.create(Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET)))
                    .httpClient(ApacheHttpClient.builder()
                            .tlsTrustManagersProvider(() -> trust(tmp.resolve("server-ca.pem")).getTrustManagers())
                            .build())
                    .build()) {
                ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket(Fixture.BUCKET).key("a.txt"));
                assertThat(got.asUtf8String()).isEqualTo("hello over TLS");
                assertThat(s3.listObjectsV2(b -> b.bucket(Fixture.BUCKET)).contents()).hasSize(1);
            }
        }
    }

    /**
     * {@code serve.zero-copy} on a TLS listener: a file region cannot pass through the TLS handler
     * (the bytes must be encrypted in user space), so disk hits are copied as without the key, and
     * arrive intact.
     */
    @Test
    void zeroCopyFallsBackToCopiesOverTls() throws Exception {
        byte[] big = ProxyTest.random(2 * 1024 * 1024 + 5, 61);
        try (Fixture f = start(false, x -> {
            x.zeroCopy = ZeroCopy.ALL;
            x.memoryTierBytes = 0; // every hit a disk hit
        })) {
            f.origin.put(Fixture.BUCKET, "big.bin", big, "application/octet-stream", null);
            Path out = tmp.resolve("big.out");
            for (int i = 0; i < 4; i++) { // a miss, then disk hits
                ExternalTool.Result r = ExternalTool.run(List.of(ExternalTool.require("curl", "curl"), "-sS",
                        "--max-time", "20", "--cacert", tmp.resolve("server-ca.pem").toString(), "-o", out.toString(),
                        "https://127.0.0.1:" + f.proxy.port() + "/test/big.bin"), Map.of(), tmp);
                assertThat(r.exit()).as(r.err()).isZero();
                assertThat(ChainTest.sha256(Files.readAllBytes(out))).isEqualTo(ChainTest.sha256(big));
                f.awaitFillsDone();
            }
            assertThat(dev.kura.testing.PrometheusText.sum(f.metrics(), "kura_cache_hits_total", "tier=\"disk\""))
                    .isGreaterThanOrEqualTo(3);
            assertThat(dev.kura.testing.PrometheusText.sum(f.metrics(), "kura_served_zero_copy_bytes_total", ""))
                    .isZero();
        }
    }

    @Test
    void aClientCertificateIsRequiredWhenClientCaIsSet() throws Exception {
        try (Fixture f = start(true)) {
            ExternalTool.Result without = curl(f);
            assertThat(without.exit()).as("curl without a client certificate").isNotZero();
            assertThat(without.out()).doesNotContain("hello over TLS");
            ExternalTool.Result with = curl(f, "--cert", tmp.resolve("client.pem").toString(),
                    "--key", tmp.resolve("client.key").toString());
            assertThat(with.exit()).as(with.err()).isZero();
            assertThat(with.out()).isEqualTo("hello over TLS");
            // A certificate from another CA is refused too.
            ca("rogue");
            cert("rogue", "kura-rogue", "rogue", "clientAuth");
            ExternalTool.Result rogue = curl(f, "--cert", tmp.resolve("rogue.pem").toString(),
                    "--key", tmp.resolve("rogue.key").toString());
            assertThat(rogue.exit()).isNotZero();
        }
    }

    @Test
    void certificateFilesAreReadAgainOnReload() throws Exception {
        try (Fixture f = start(false)) {
            assertThat(peerCn(f)).isEqualTo("CN=kura-first");
            f.proxy.reloadFrom(() -> new ConfigSource.Read(f.config, List.of()));
            // A renewed certificate written over the same files, as certbot or cert-manager do.
            cert("server", "kura-renewed", "server", "serverAuth");
            assertThat(f.ops("POST", "/admin/reload", "Authorization", "Bearer " + ProxyTest.TOKEN).statusCode())
                    .isEqualTo(200);
            assertThat(peerCn(f)).isEqualTo("CN=kura-renewed");
            // A key file that does not load: the reload is refused whole and the running certificate stays.
            Files.writeString(tmp.resolve("server.key"), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
            var refused = f.ops("POST", "/admin/reload", "Authorization", "Bearer " + ProxyTest.TOKEN);
            assertThat(refused.statusCode()).isEqualTo(400);
            assertThat(new String(refused.body(), StandardCharsets.UTF_8)).contains("serve.tls");
            assertThat(peerCn(f)).isEqualTo("CN=kura-renewed");
            ExternalTool.Result r = curl(f);
            assertThat(r.out()).isEqualTo("hello over TLS");
        }
    }

    private static TrustManagerFactory trust(Path caPem) {
        try (InputStream in = Files.newInputStream(caPem)) {
            X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            ks.setCertificateEntry("ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return tmf;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The subject of the certificate kura presents now, checked against the test CA. */
    private String peerCn(Fixture f) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, trust(tmp.resolve("server-ca.pem")).getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", f.proxy.port())) {
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        }
    }
}
