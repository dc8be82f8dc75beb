package dev.kura.s3;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.kura.config.ConfigException;
import dev.kura.config.ConfigLoader;
import dev.kura.s3.embedded.EmbeddedOrigin;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code credentials:} types for fleets (issue 13 §6), each against a real S3Proxy origin that
 * accepts only its own keys, with the credential service faked on loopback: STS AssumeRole (with an
 * external id, called with source keys), STS AssumeRoleWithWebIdentity (a token file, unsigned),
 * EC2 instance credentials over IMDSv2 (token first), and container credentials (ECS / EKS Pod
 * Identity full URI). kura gets the origin's keys only from those services, so a 200 with the
 * right bytes proves the whole path; the fakes record what the SDK asked.
 */
class OriginCredentialsTest {
    private static final String ROLE = "arn:aws:iam::123456789012:role/kura-reader";
    private static final String DENIED_ROLE = "arn:aws:iam::123456789012:role/denied";

    @TempDir
    Path tmp;
    Fixture f;
    HttpServer services;
    HttpServer sts;
    final List<Map<String, String>> stsCalls = new CopyOnWriteArrayList<>();
    final List<String> imdsCalls = new CopyOnWriteArrayList<>();
    final List<String> containerCalls = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() throws Exception {
        System.clearProperty("aws.ec2MetadataServiceEndpoint");
        System.clearProperty("aws.containerCredentialsFullUri");
        if (f != null) {
            f.close();
        }
        if (services != null) {
            services.stop(0);
        }
        if (sts != null) {
            sts.stop(0);
        }
    }

    @Test
    void temporaryCredentialsFromStsImdsAndContainerSignTheOriginRequests() throws Exception {
        f = new Fixture(tmp).startOrigin();
        byte[] body = "signed with borrowed keys".getBytes(StandardCharsets.UTF_8);
        f.origin.put(Fixture.BUCKET, "obj.txt", body, "text/plain", null);
        startServices();
        String base = "http://127.0.0.1:" + services.getAddress().getPort();
        System.setProperty("aws.ec2MetadataServiceEndpoint", base);
        System.setProperty("aws.containerCredentialsFullUri", base + "/container-creds");
        Path token = Files.writeString(tmp.resolve("token"), "eyJ.kura-test.token");
        URI stsUri = URI.create("http://127.0.0.1:" + sts.getAddress().getPort());
        URI o = f.origin.endpoint();
        f.extraBuckets.add(f.bucket("/role", "role", o, new OriginCredentials("assume-role", "SOURCEKEY", "source-secret",
                null, null, ROLE, "ext-42", null, null, stsUri), Duration.ofSeconds(10), null));
        f.extraBuckets.add(f.bucket("/webid", "webid", o, new OriginCredentials("web-identity", null, null, null, null,
                ROLE, null, "pod-a", token.toString(), stsUri), Duration.ofSeconds(10), null));
        f.extraBuckets.add(f.bucket("/instance", "instance", o, new OriginCredentials("instance", null, null, null),
                Duration.ofSeconds(10), null));
        f.extraBuckets.add(f.bucket("/container", "container", o, new OriginCredentials("container", null, null, null),
                Duration.ofSeconds(10), null));
        f.extraBuckets.add(f.bucket("/denied", "denied", o, new OriginCredentials("assume-role", null, null, null, null,
                DENIED_ROLE, null, null, null, stsUri), Duration.ofSeconds(10), null));
        f.startProxy();

        for (String prefix : List.of("/role", "/webid", "/instance", "/container")) {
            HttpResponse<byte[]> r = f.get(prefix + "/obj.txt");
            assertThat(r.statusCode()).as(prefix + ": " + new String(r.body(), StandardCharsets.UTF_8) + "; STS calls "
                    + stsCalls + "; IMDS calls " + imdsCalls).isEqualTo(200);
            assertThat(r.body()).as(prefix).isEqualTo(body);
        }

        Map<String, String> assume = stsCalls.stream().filter(c -> "AssumeRole".equals(c.get("Action"))
                && ROLE.equals(c.get("RoleArn"))).findFirst().orElseThrow();
        assertThat(assume).containsEntry("ExternalId", "ext-42").containsEntry("RoleSessionName", "kura");
        assertThat(assume.get("authorization")).as("AssumeRole is signed with the source keys").contains("Credential=SOURCEKEY/");
        Map<String, String> web = stsCalls.stream().filter(c -> "AssumeRoleWithWebIdentity".equals(c.get("Action")))
                .findFirst().orElseThrow();
        assertThat(web).containsEntry("RoleArn", ROLE).containsEntry("RoleSessionName", "pod-a")
                .containsEntry("WebIdentityToken", "eyJ.kura-test.token");
        assertThat(web.get("authorization")).as("the web identity call is not signed").isNull();
        assertThat(imdsCalls).as("IMDSv2: a session token first, then the role with that token")
                .startsWith("PUT /latest/api/token ttl=true")
                .contains("GET /latest/meta-data/iam/security-credentials/kura-role token=imds-session-token");
        assertThat(containerCalls).isNotEmpty();

        // A role STS refuses: that bucket fails, with an S3 error and no hang; the others go on.
        HttpResponse<byte[]> denied = f.get("/denied/obj.txt");
        assertThat(denied.statusCode()).as(new String(denied.body(), StandardCharsets.UTF_8)).isGreaterThanOrEqualTo(500);
        assertThat(new String(denied.body(), StandardCharsets.UTF_8)).contains("<Error>")
                .contains("origin credentials unavailable").contains("AccessDenied").doesNotContain(DENIED_ROLE);
        assertThat(f.get("/role/obj.txt").statusCode()).isEqualTo(200);
    }

    @Test
    void eachTypeTakesItsKeysAndRefusesTheOthers() {
        OriginCredentials role = parse("""
                type: assume-role
                role-arn: arn:aws:iam::123456789012:role/r
                external-id: x-1
                sts-endpoint: https://sts.eu-west-1.amazonaws.com
                """);
        assertThat(role.kind()).isEqualTo(OriginCredentials.Kind.ASSUME_ROLE);
        assertThat(role.sessionName()).isEqualTo("kura");
        assertThat(role.accessKeyId()).as("no source keys: the default chain calls STS").isNull();
        assertThat(parse("type: profile\nprofile: reader\n").kind()).isEqualTo(OriginCredentials.Kind.PROFILE);
        assertThat(parse("type: web-identity\nrole-arn: arn:aws:iam::1:role/r\nweb-identity-token-file: /t\n").kind())
                .isEqualTo(OriginCredentials.Kind.WEB_IDENTITY);
        assertThat(parse("type: instance\n").kind()).isEqualTo(OriginCredentials.Kind.INSTANCE);
        assertThat(parse("type: container\n").kind()).isEqualTo(OriginCredentials.Kind.CONTAINER);
        assertThatThrownBy(() -> parse("type: assume-role\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("role-arn must be set");
        assertThatThrownBy(() -> parse("type: web-identity\nrole-arn: arn:aws:iam::1:role/r\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("web-identity-token-file must be set");
        assertThatThrownBy(() -> parse("type: profile\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("profile must be set");
        assertThatThrownBy(() -> parse("type: instance\nrole-arn: arn:aws:iam::1:role/r\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("role-arn does not apply to type: instance");
        assertThatThrownBy(() -> parse("type: default\nexternal-id: x\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("external-id does not apply");
        assertThatThrownBy(() -> parse("type: sso\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("type must be one of");
        assertThat(role.toString()).doesNotContain("x-1");
    }

    record Root(ServeConfig serve) {
    }

    private static OriginCredentials parse(String credentials) {
        String yaml = "serve:\n  buckets:\n    - bucket: bkt\n      access: public\n      credentials:\n"
                + credentials.lines().map(l -> "        " + l + "\n").reduce("", String::concat);
        return ConfigLoader.parse(yaml, "kura.yaml", Root.class, k -> null).serve().buckets().getFirst().credentials();
    }

    private void startServices() throws IOException {
        services = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        services.createContext("/latest/", this::imds);
        services.createContext("/container-creds", ex -> {
            containerCalls.add(ex.getRequestMethod() + " " + ex.getRequestURI());
            send(ex, 200, "application/json", """
                    {"AccessKeyId": "%s", "SecretAccessKey": "%s", "Token": "container-token", "Expiration": "%s"}
                    """.formatted(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY, inAnHour()));
        });
        services.start();
        // STS answers on its own root path (the SDK posts its query-protocol form to "/").
        sts = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        sts.createContext("/", this::sts);
        sts.start();
    }

    private void sts(HttpExchange ex) throws IOException {
        Map<String, String> form = new HashMap<>();
        for (String kv : new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                form.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth != null) {
            form.put("authorization", auth);
        }
        stsCalls.add(form);
        String action = form.getOrDefault("Action", "");
        if (DENIED_ROLE.equals(form.get("RoleArn"))) {
            send(ex, 403, "text/xml", """
                    <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
                    <Code>AccessDenied</Code><Message>not allowed to assume the role</Message></Error>
                    <RequestId>r-1</RequestId></ErrorResponse>""");
            return;
        }
        send(ex, 200, "text/xml", """
                <%1$sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%1$sResult><Credentials>
                <AccessKeyId>%2$s</AccessKeyId><SecretAccessKey>%3$s</SecretAccessKey>
                <SessionToken>sts-session-token</SessionToken><Expiration>%4$s</Expiration></Credentials>
                </%1$sResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></%1$sResponse>"""
                .formatted(action, EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY, inAnHour()));
    }

    private void imds(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        if (ex.getRequestMethod().equals("PUT") && path.equals("/latest/api/token")) {
            imdsCalls.add("PUT " + path + " ttl="
                    + (ex.getRequestHeaders().getFirst("X-aws-ec2-metadata-token-ttl-seconds") != null));
            send(ex, 200, "text/plain", "imds-session-token");
            return;
        }
        String token = ex.getRequestHeaders().getFirst("X-aws-ec2-metadata-token");
        imdsCalls.add(ex.getRequestMethod() + " " + path + " token=" + token);
        if (!"imds-session-token".equals(token)) {
            send(ex, 401, "text/plain", "");
        } else if (path.equals("/latest/meta-data/iam/security-credentials/")) {
            send(ex, 200, "text/plain", "kura-role");
        } else if (path.equals("/latest/meta-data/iam/security-credentials/kura-role")) {
            send(ex, 200, "application/json", """
                    {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "%s", "SecretAccessKey": "%s",
                     "Token": "imds-token", "Expiration": "%s", "LastUpdated": "%s"}
                    """.formatted(EmbeddedOrigin.ACCESS_KEY, EmbeddedOrigin.SECRET_KEY, inAnHour(), Instant.now()
                    .truncatedTo(ChronoUnit.SECONDS)));
        } else {
            send(ex, 404, "text/plain", "");
        }
    }

    private static String inAnHour() {
        return Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS).toString();
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            ex.getResponseBody().write(b);
        }
        ex.close();
    }
}
