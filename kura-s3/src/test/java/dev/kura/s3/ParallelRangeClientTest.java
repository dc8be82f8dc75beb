package dev.kura.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kura.io.Backend;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real client that issues many parallel ranged GETs: boto3's transfer manager ({@code
 * download_file} with a {@code TransferConfig} of 1 MiB parts, 8 threads; Debian's python3-boto3)
 * through kura in front of a real S3Proxy origin, for an object of 21 MiB and a bit (not a multiple
 * of the 4 MiB slice size): first uncached (the parts land on slices being filled, each slice one
 * origin request), then cached (no origin request at all). The file's SHA-256 equals the origin's
 * both times. On both io backends.
 */
class ParallelRangeClientTest {
    static final int SIZE = 21 * (1 << 20) + 54_321;
    static final int CHUNK = 1 << 20;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void boto3TransferManagerDownloadsAnUncachedThenACachedObject(Backend backend) throws Exception {
        String python = ExternalTool.python("boto3, s3transfer", tmp);
        Path script = ExternalTool.resource("/clients/boto3_transfer.py", tmp);
        byte[] obj = ProxyTest.random(SIZE, 77);
        String want = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(obj));
        try (Fixture f = new Fixture(tmp)) {
            f.startOrigin();
            f.origin.put(Fixture.BUCKET, "data/model.bin", obj, "application/octet-stream", null);
            f.ioBackend = backend;
            f.startProxy();
            long originGets = f.origin.getCount();
            for (String run : List.of("uncached", "cached")) {
                Path out = tmp.resolve("download-" + run + ".bin");
                ExternalTool.Result r = ExternalTool.run(List.of(python, script.toString(),
                        "http://127.0.0.1:" + f.proxy.port(), Fixture.CLIENT_KEY, Fixture.CLIENT_SECRET,
                        Fixture.BUCKET, "data/model.bin", out.toString(), Integer.toString(CHUNK)),
                        Map.of("AWS_EC2_METADATA_DISABLED", "true",
                                "AWS_CONFIG_FILE", tmp.resolve("no-aws-config").toString(),
                                "AWS_SHARED_CREDENTIALS_FILE", tmp.resolve("no-aws-credentials").toString()), tmp);
                assertThat(r.exit()).as("%s run; stderr: %s", run, r.err()).isZero();
                JsonNode j = new ObjectMapper().readTree(r.out());
                System.out.printf("ParallelRangeClientTest %s %s: %s%n", backend, run, j);
                assertThat(j.get("sha256").asText()).as(run).isEqualTo(want);
                assertThat(Files.size(out)).isEqualTo(SIZE);
                assertThat(j.get("ranged_gets").asInt()).as("one ranged GET per 1 MiB part")
                        .isEqualTo((SIZE + CHUNK - 1) / CHUNK);
                assertThat(j.get("max_in_flight").asInt()).as("parts requested in parallel").isGreaterThanOrEqualTo(2);
                long slices = (SIZE + (4 << 20) - 1) / (4 << 20);
                if (run.equals("uncached")) {
                    assertThat(f.origin.getCount() - originGets).as("each 4 MiB slice fetched once")
                            .isEqualTo(slices);
                } else {
                    assertThat(f.origin.getCount() - originGets).as("the cached run asks the origin nothing")
                            .isEqualTo(slices);
                }
            }
        }
    }
}
