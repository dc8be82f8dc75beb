package dev.kura.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.ListObjectsResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Real S3 clients against kura in front of a real S3Proxy origin: awscli, boto3 and rclone (the
 * Debian packages) and the AWS SDK for Java v2. Bucket {@code test} is private (read with kura's
 * client key), {@code pub} maps the same origin bucket publicly. Each client lists more than 1,000
 * keys through its paginator, downloads with bytes checked by SHA-256, and reports the exact S3
 * error code for a wrong secret, an unknown key, an expired presigned URL and anonymous access to
 * the private bucket.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3ClientsTest {
    static final int MANY = 1_050;

    @TempDir
    static Path tmp;
    Fixture f;
    byte[] blob = random(3 << 20, 11);
    byte[] hello = "hello from a private bucket\n".getBytes(StandardCharsets.UTF_8);
    Map<String, byte[]> dir = new HashMap<>();

    @BeforeAll
    void start() throws Exception {
        f = new Fixture(tmp).startOrigin();
        f.origin.put(Fixture.BUCKET, "hello.txt", hello, "text/plain", null);
        f.origin.put(Fixture.BUCKET, "blob.bin", blob, "application/octet-stream", null);
        f.origin.put(Fixture.BUCKET, "odd key+1.txt", "odd\n".getBytes(StandardCharsets.UTF_8), "text/plain", null);
        dir.put("a.txt", "a\n".getBytes(StandardCharsets.UTF_8));
        dir.put("sub/b.bin", random(200_000, 3));
        dir.put("sub/deeper/c.bin", random(70_000, 5));
        for (Map.Entry<String, byte[]> e : dir.entrySet()) {
            f.origin.put(Fixture.BUCKET, "dir/" + e.getKey(), e.getValue(), "application/octet-stream", null);
        }
        byte[] tiny = "k\n".getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < MANY; i++) {
            f.origin.put(Fixture.BUCKET, "many/k%05d".formatted(i), tiny, "text/plain", null);
        }
        f.testAccess = BucketConfig.Access.PRIVATE;
        f.extraBuckets.add(f.originBucket("/pub", "pub", f.origin.endpoint(), Duration.ofSeconds(10)));
        f.startProxy();
    }

    @AfterAll
    void stop() throws Exception {
        f.close();
    }

    String endpoint() {
        return "http://127.0.0.1:" + f.proxy.port();
    }

    // ---------------------------------------------------------------- awscli

    Map<String, String> awsEnv(String key, String secret) {
        Map<String, String> env = new HashMap<>();
        env.put("AWS_ACCESS_KEY_ID", key);
        env.put("AWS_SECRET_ACCESS_KEY", secret);
        env.put("AWS_DEFAULT_REGION", "us-east-1");
        env.put("AWS_MAX_ATTEMPTS", "1");
        env.put("AWS_EC2_METADATA_DISABLED", "true");
        env.put("AWS_CONFIG_FILE", tmp.resolve("no-aws-config").toString());
        env.put("AWS_SHARED_CREDENTIALS_FILE", tmp.resolve("no-aws-credentials").toString());
        env.put("AWS_PAGER", "");
        return env;
    }

    ExternalTool.Result aws(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ExternalTool.require("aws", "awscli"), "--endpoint-url", endpoint()));
        cmd.addAll(List.of(args));
        return ExternalTool.run(cmd, env, tmp);
    }

    @Test
    void awscliListsCopiesSyncsAndPresigns() throws Exception {
        Map<String, String> env = awsEnv(Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET);
        ExternalTool.Result ls = aws(env, "s3", "ls", "s3://test/many/", "--recursive");
        assertThat(ls.exit()).as(ls.err()).isZero();
        assertThat(ls.out().lines().filter(l -> l.contains(" many/k")).count()).isEqualTo(MANY);
        ExternalTool.Result buckets = aws(env, "s3", "ls");
        assertThat(buckets.out()).contains(" test", " pub");
        ExternalTool.Result top = aws(env, "s3", "ls", "s3://test/");
        assertThat(top.out()).contains("PRE dir/", "PRE many/", "hello.txt", "odd key+1.txt");

        Path blobFile = tmp.resolve("aws-blob.bin");
        ExternalTool.Result cp = aws(env, "s3", "cp", "s3://test/blob.bin", blobFile.toString());
        assertThat(cp.exit()).as(cp.err()).isZero();
        assertThat(sha256(Files.readAllBytes(blobFile))).isEqualTo(sha256(blob));

        Path synced = tmp.resolve("aws-sync");
        ExternalTool.Result sync = aws(env, "s3", "sync", "s3://test/dir", synced.toString());
        assertThat(sync.exit()).as(sync.err()).isZero();
        for (Map.Entry<String, byte[]> e : dir.entrySet()) {
            assertThat(sha256(Files.readAllBytes(synced.resolve(e.getKey())))).as(e.getKey())
                    .isEqualTo(sha256(e.getValue()));
        }

        ExternalTool.Result head = aws(env, "s3api", "head-object", "--bucket", "test", "--key", "blob.bin");
        assertThat(new ObjectMapper().readTree(head.out()).get("ContentLength").asLong()).isEqualTo(blob.length);
        ExternalTool.Result delim = aws(env, "s3api", "list-objects-v2", "--bucket", "test", "--delimiter", "/",
                "--prefix", "dir/");
        JsonNode d = new ObjectMapper().readTree(delim.out());
        assertThat(d.get("CommonPrefixes").get(0).get("Prefix").asText()).isEqualTo("dir/sub/");
        assertThat(d.get("Contents").get(0).get("Key").asText()).isEqualTo("dir/a.txt");

        ExternalTool.Result presign = aws(env, "s3", "presign", "s3://test/hello.txt", "--expires-in", "300");
        assertThat(presign.exit()).as(presign.err()).isZero();
        HttpResponse<byte[]> viaUrl = fetch(presign.out().trim());
        assertThat(viaUrl.statusCode()).isEqualTo(200);
        assertThat(viaUrl.body()).isEqualTo(hello);
    }

    @Test
    void awscliReportsTheS3ErrorCodes() throws Exception {
        ExternalTool.Result wrong = aws(awsEnv(Fixture.CLIENT_KEY, "wrong-secret-0123456789"),
                "s3api", "get-object", "--bucket", "test", "--key", "hello.txt", tmp.resolve("x").toString());
        assertThat(wrong.exit()).isNotZero();
        assertThat(wrong.err()).contains("SignatureDoesNotMatch");
        ExternalTool.Result unknown = aws(awsEnv("UNKNOWNKEY000000", "whatever-secret-0000"),
                "s3", "ls", "s3://test/");
        assertThat(unknown.err()).contains("InvalidAccessKeyId");
        ExternalTool.Result anonymous = aws(awsEnv("x", "y"), "--no-sign-request",
                "s3api", "get-object", "--bucket", "test", "--key", "hello.txt", tmp.resolve("y").toString());
        assertThat(anonymous.err()).contains("AccessDenied");
        ExternalTool.Result missing = aws(awsEnv(Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET),
                "s3api", "get-object", "--bucket", "test", "--key", "no-such-key", tmp.resolve("z").toString());
        assertThat(missing.err()).contains("NoSuchKey");
        ExternalTool.Result acl = aws(awsEnv(Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET),
                "s3api", "get-object-acl", "--bucket", "test", "--key", "hello.txt");
        assertThat(acl.err()).contains("AccessDenied");
        ExternalTool.Result put = aws(awsEnv(Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET),
                "s3", "cp", tmp.resolve("aws-blob.bin").toFile().exists() ? tmp.resolve("aws-blob.bin").toString()
                        : "/etc/hostname", "s3://test/uploaded.bin");
        assertThat(put.exit()).isNotZero();
        assertThat(put.err()).contains("AccessDenied");

        ExternalTool.Result presign = aws(awsEnv(Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET),
                "s3", "presign", "s3://test/hello.txt", "--expires-in", "1");
        Thread.sleep(2_500);
        HttpResponse<byte[]> expired = fetch(presign.out().trim());
        assertThat(expired.statusCode()).isEqualTo(403);
        assertThat(new String(expired.body(), StandardCharsets.UTF_8))
                .contains("<Code>AccessDenied</Code>", "Request has expired");
    }

    // ---------------------------------------------------------------- boto3

    @Test
    void boto3PaginatesDownloadsPresignsAndReportsCodes() throws Exception {
        String python = ExternalTool.python("boto3", tmp);
        Path script = ExternalTool.resource("/clients/boto3_checks.py", tmp);
        ExternalTool.Result r = ExternalTool.run(List.of(python, script.toString(), endpoint(), Fixture.CLIENT_KEY,
                Fixture.CLIENT_SECRET, tmp.resolve("boto3-blob.bin").toString()), awsEnv("x", "y"), tmp);
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("v2_keys").asInt()).isEqualTo(MANY);
        assertThat(j.get("v2_pages").asInt()).isEqualTo(2);
        assertThat(j.get("v1_keys").asInt()).isEqualTo(MANY);
        assertThat(j.get("prefixes").toString()).isEqualTo("[\"dir/\",\"many/\"]");
        assertThat(j.get("blob_sha256").asText()).isEqualTo(sha256(blob));
        assertThat(j.get("odd_key").asText()).isEqualTo("odd\n");
        assertThat(j.get("presigned").asText()).isEqualTo(new String(hello, StandardCharsets.UTF_8));
        assertThat(j.get("wrong_secret").asText()).isEqualTo("SignatureDoesNotMatch");
        assertThat(j.get("unknown_key").asText()).isEqualTo("InvalidAccessKeyId");
        assertThat(j.get("anonymous_private").asText()).isEqualTo("AccessDenied");
        assertThat(j.get("anonymous_public").asText()).isEqualTo(new String(hello, StandardCharsets.UTF_8));
        assertThat(j.get("no_such_key").asText()).isEqualTo("NoSuchKey");
        assertThat(j.get("buckets").toString()).isEqualTo("[\"pub\",\"test\"]");
        assertThat(j.get("anonymous_buckets").toString()).isEqualTo("[\"pub\"]");
        assertThat(j.get("expired_presigned").asText()).isEqualTo("403 AccessDenied");
    }

    // ---------------------------------------------------------------- rclone

    Map<String, String> rcloneEnv(String secret) {
        Map<String, String> env = new HashMap<>();
        env.put("RCLONE_CONFIG_KURA_TYPE", "s3");
        env.put("RCLONE_CONFIG_KURA_PROVIDER", "Other");
        env.put("RCLONE_CONFIG_KURA_ENDPOINT", endpoint());
        env.put("RCLONE_CONFIG_KURA_ACCESS_KEY_ID", Fixture.CLIENT_KEY);
        env.put("RCLONE_CONFIG_KURA_SECRET_ACCESS_KEY", secret);
        env.put("RCLONE_CONFIG_KURA_REGION", "us-east-1");
        env.put("RCLONE_CONFIG_KURA_FORCE_PATH_STYLE", "true");
        return env;
    }

    ExternalTool.Result rclone(Map<String, String> env, String... args) throws Exception {
        Path conf = tmp.resolve("rclone.conf");
        if (!Files.exists(conf)) {
            Files.writeString(conf, "");
        }
        List<String> cmd = new ArrayList<>(List.of(ExternalTool.require("rclone", "rclone"), "--config",
                conf.toString(), "--low-level-retries", "1", "--retries", "1"));
        cmd.addAll(List.of(args));
        return ExternalTool.run(cmd, env, tmp);
    }

    @Test
    void rcloneListsCatsAndCopies() throws Exception {
        Map<String, String> env = rcloneEnv(Fixture.CLIENT_SECRET);
        ExternalTool.Result lsf = rclone(env, "lsf", "-R", "kura:test/many");
        assertThat(lsf.exit()).as(lsf.err()).isZero();
        assertThat(lsf.out().lines().count()).isEqualTo(MANY);
        ExternalTool.Result cat = rclone(env, "cat", "kura:test/hello.txt");
        assertThat(cat.exit()).as(cat.err()).isZero();
        assertThat(cat.out()).isEqualTo(new String(hello, StandardCharsets.UTF_8));
        Path copied = tmp.resolve("rclone-copy");
        ExternalTool.Result copy = rclone(env, "copy", "kura:test/dir", copied.toString());
        assertThat(copy.exit()).as(copy.err()).isZero();
        for (Map.Entry<String, byte[]> e : dir.entrySet()) {
            assertThat(sha256(Files.readAllBytes(copied.resolve(e.getKey())))).as(e.getKey())
                    .isEqualTo(sha256(e.getValue()));
        }
        ExternalTool.Result wrong = rclone(rcloneEnv("wrong-secret-0123456789"), "lsf", "kura:test");
        assertThat(wrong.exit()).isNotZero();
        assertThat(wrong.err()).contains("SignatureDoesNotMatch");
    }

    // ---------------------------------------------------------------- @aws-sdk/client-s3 (npm)

    @Test
    void jsSdkPaginatesDownloadsPresignsAndReportsCodes() throws Exception {
        String node = ExternalTool.require("node", "nodejs");
        String npm = ExternalTool.require("npm", "npm");
        // Installed once per build directory (target/), from the versions pinned in package.json.
        Path js = Path.of("target", "js-clients").toAbsolutePath();
        Files.createDirectories(js);
        for (String name : List.of("package.json", "js_checks.mjs")) {
            ExternalTool.resource("/clients/js/" + name, js);
        }
        if (!Files.isDirectory(js.resolve("node_modules/@aws-sdk/client-s3"))) {
            ExternalTool.Result install = ExternalTool.run(List.of(npm, "install", "--no-audit", "--no-fund",
                    "--prefix", js.toString()), Map.of(), tmp);
            org.junit.jupiter.api.Assumptions.assumeTrue(install.exit() == 0,
                    "npm could not install @aws-sdk/client-s3 (registry unreachable?): " + install.err());
        }
        ExternalTool.Result r = ExternalTool.run(List.of(node, js.resolve("js_checks.mjs").toString(), endpoint(),
                Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET), Map.of(), tmp);
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("v2_keys").asInt()).isEqualTo(MANY);
        assertThat(j.get("v2_pages").asInt()).isEqualTo(2);
        assertThat(j.get("blob_sha256").asText()).isEqualTo(sha256(blob));
        assertThat(j.get("odd_key").asText()).isEqualTo("odd\n");
        assertThat(j.get("presigned").asText()).isEqualTo(new String(hello, StandardCharsets.UTF_8));
        assertThat(j.get("wrong_secret").asText()).isEqualTo("SignatureDoesNotMatch");
        assertThat(j.get("unknown_key").asText()).isEqualTo("InvalidAccessKeyId");
        assertThat(j.get("anonymous_private").asText()).isEqualTo("AccessDenied");
        assertThat(j.get("no_such_key").asText()).isEqualTo("NoSuchKey");
        assertThat(j.get("buckets").toString()).isEqualTo("[\"pub\",\"test\"]");
    }

    // ---------------------------------------------------------------- s3fs (FUSE)

    @Test
    void s3fsMountsTheBucketReadOnlyThroughKura() throws Exception {
        String s3fs = ExternalTool.require("s3fs", "s3fs");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/dev/fuse")),
                "/dev/fuse is absent: s3fs cannot mount here");
        Path mnt = Files.createDirectories(tmp.resolve("s3fs-mnt"));
        Path passwd = tmp.resolve("s3fs-passwd");
        Files.writeString(passwd, Fixture.CLIENT_KEY + ":" + Fixture.CLIENT_SECRET + "\n");
        Files.setPosixFilePermissions(passwd, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Process p = new ProcessBuilder(s3fs, "test", mnt.toString(), "-f", "-o", "ro", "-o", "url=" + endpoint(),
                "-o", "use_path_request_style", "-o", "endpoint=us-east-1", "-o", "passwd_file=" + passwd,
                "-o", "retries=1").redirectErrorStream(true).redirectOutput(tmp.resolve("s3fs.log").toFile()).start();
        try {
            Path a = mnt.resolve("dir/a.txt");
            for (int i = 0; i < 200 && !Files.exists(a); i++) {
                org.junit.jupiter.api.Assumptions.assumeTrue(p.isAlive(), "s3fs could not mount (no permission "
                        + "to mount FUSE here?): " + Files.readString(tmp.resolve("s3fs.log")));
                Thread.sleep(100);
            }
            assertThat(sha256(Files.readAllBytes(mnt.resolve("blob.bin")))).isEqualTo(sha256(blob));
            List<String> files;
            try (var walk = Files.walk(mnt.resolve("dir"))) {
                files = walk.filter(Files::isRegularFile).map(x -> mnt.resolve("dir").relativize(x).toString())
                        .sorted().toList();
            }
            assertThat(files).containsExactlyElementsOf(dir.keySet().stream().sorted().toList());
            for (Map.Entry<String, byte[]> e : dir.entrySet()) {
                assertThat(sha256(Files.readAllBytes(mnt.resolve("dir").resolve(e.getKey())))).as(e.getKey())
                        .isEqualTo(sha256(e.getValue()));
            }
            assertThatThrownBy(() -> Files.writeString(mnt.resolve("new.txt"), "x"))
                    .isInstanceOf(java.io.IOException.class);
        } finally {
            ExternalTool.run(List.of("umount", mnt.toString()), Map.of(), tmp);
            p.destroy();
            p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            p.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------- AWS SDK for Java v2

    @Test
    void javaSdkPaginatesPresignsAndReportsCodes() throws Exception {
        try (S3Client s3 = f.kuraClient()) {
            assertThat(s3.listObjectsV2Paginator(b -> b.bucket("test").prefix("many/")).contents().stream().count())
                    .isEqualTo(MANY);
            // ListObjects (v1): the marker is the last key of the previous page.
            int v1 = 0;
            String marker = null;
            while (true) {
                String m = marker;
                ListObjectsResponse page = s3.listObjects(b -> b.bucket("test").prefix("many/").marker(m));
                v1 += page.contents().size();
                if (!page.isTruncated()) {
                    break;
                }
                marker = page.contents().getLast().key();
            }
            assertThat(v1).isEqualTo(MANY);
            assertThat(s3.listObjectsV2(b -> b.bucket("test").delimiter("/")).commonPrefixes().stream()
                    .map(CommonPrefix::prefix).collect(Collectors.toList())).containsExactly("dir/", "many/");
            assertThat(sha256(s3.getObjectAsBytes(b -> b.bucket("test").key("blob.bin")).asByteArray()))
                    .isEqualTo(sha256(blob));
            assertThat(s3.headBucket(b -> b.bucket("test")).sdkHttpResponse().statusCode()).isEqualTo(200);
            assertThat(s3.listBuckets().buckets()).extracting(b -> b.name()).containsExactlyInAnyOrder("test", "pub");
        }
        try (S3Presigner presigner = presigner(Fixture.CLIENT_SECRET)) {
            URI ok = presigner.presignGetObject(p -> p.signatureDuration(Duration.ofMinutes(5))
                    .getObjectRequest(g -> g.bucket("test").key("hello.txt"))).url().toURI();
            assertThat(fetch(ok.toString()).body()).isEqualTo(hello);
            URI soon = presigner.presignGetObject(p -> p.signatureDuration(Duration.ofSeconds(1))
                    .getObjectRequest(g -> g.bucket("test").key("hello.txt"))).url().toURI();
            Thread.sleep(2_500);
            HttpResponse<byte[]> expired = fetch(soon.toString());
            assertThat(expired.statusCode()).isEqualTo(403);
            assertThat(new String(expired.body(), StandardCharsets.UTF_8)).contains("<Code>AccessDenied</Code>");
        }
        try (S3Presigner wrong = presigner("wrong-secret-0123456789")) {
            URI bad = wrong.presignGetObject(p -> p.signatureDuration(Duration.ofMinutes(5))
                    .getObjectRequest(g -> g.bucket("test").key("hello.txt"))).url().toURI();
            assertThat(new String(fetch(bad.toString()).body(), StandardCharsets.UTF_8))
                    .contains("<Code>SignatureDoesNotMatch</Code>");
        }
        assertErrorCode(f.kuraClient(Fixture.CLIENT_KEY, "wrong-secret-0123456789"), "SignatureDoesNotMatch");
        assertErrorCode(f.kuraClient("UNKNOWNKEY000000", Fixture.CLIENT_SECRET), "InvalidAccessKeyId");
        try (S3Client anon = S3Client.builder().endpointOverride(URI.create(endpoint())).region(Region.US_EAST_1)
                .forcePathStyle(true).credentialsProvider(AnonymousCredentialsProvider.create()).build()) {
            assertThat(anon.getObjectAsBytes(b -> b.bucket("pub").key("hello.txt")).asByteArray()).isEqualTo(hello);
            assertErrorCode(anon, "AccessDenied");
        }
    }

    /** Asserts the code of a GetObject of test/hello.txt, then closes {@code s3}. */
    private static void assertErrorCode(S3Client s3, String code) {
        try (s3) {
            assertThatThrownBy(() -> s3.getObjectAsBytes(b -> b.bucket("test").key("hello.txt")))
                    .isInstanceOfSatisfying(S3Exception.class,
                            e -> assertThat(e.awsErrorDetails().errorCode()).isEqualTo(code));
        }
    }

    private S3Presigner presigner(String secret) {
        return S3Presigner.builder().endpointOverride(URI.create(endpoint())).region(Region.US_EAST_1)
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(Fixture.CLIENT_KEY, secret))).build();
    }

    private HttpResponse<byte[]> fetch(String url) throws Exception {
        return f.http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }
}
