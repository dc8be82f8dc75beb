package dev.kura.s3;

import dev.kura.io.Backend;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Memory-tier hits go to the socket straight from the tier's native memory (no copy). This checks
 * the one way that could go wrong, under load: an entry evicted or replaced while its bytes are
 * being written. A memory tier of 2 MiB against 24 objects of 100 KiB-1 MiB (whole bodies in one
 * write, and bodies in 256 KiB chunks) and 8 clients reading whole objects and ranges keep the tier
 * evicting all the time; every body is compared with the origin's bytes, on both io backends.
 */
class MemoryHitChurnTest {
    @TempDir
    Path tmp;

    private static double metric(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.eE+]+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"NIO", "IO_URING"})
    void everyBodyIsExactWhileTheMemoryTierEvicts(Backend backend) throws Exception {
        List<byte[]> objects = new ArrayList<>();
        try (Fixture f = new Fixture(tmp).startOrigin()) {
            f.ioBackend = backend;
            f.memoryTierBytes = 2L << 20;
            for (int i = 0; i < 24; i++) {
                byte[] b = ProxyTest.random(100_000 + i * 40_000, 900 + i);
                objects.add(b);
                f.origin.put(Fixture.BUCKET, "o" + i, b, "application/octet-stream", null);
            }
            f.startProxy();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                long seed = t;
                results.add(pool.submit(() -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    int checked = 0;
                    for (int n = 0; n < 60; n++) {
                        int i = r.nextInt(objects.size());
                        byte[] want = objects.get(i);
                        if (r.nextBoolean()) {
                            HttpResponse<byte[]> resp = f.get("/" + Fixture.BUCKET + "/o" + i);
                            assertThat(resp.statusCode()).isEqualTo(200);
                            assertThat(resp.body()).as("o%d whole", i).isEqualTo(want);
                        } else {
                            int first = r.nextInt(want.length);
                            int last = Math.min(want.length - 1, first + r.nextInt(400_000));
                            HttpResponse<byte[]> resp = f.get("/" + Fixture.BUCKET + "/o" + i, "Range",
                                    "bytes=" + first + "-" + last);
                            assertThat(resp.statusCode()).isEqualTo(206);
                            assertThat(resp.body()).as("o%d bytes=%d-%d", i, first, last)
                                    .isEqualTo(java.util.Arrays.copyOfRange(want, first, last + 1));
                        }
                        checked++;
                    }
                    return checked;
                }));
            }
            int total = 0;
            for (Future<Integer> r : results) {
                total += r.get();
            }
            pool.shutdown();
            assertThat(total).isEqualTo(480);
            String m = f.metrics();
            assertThat(metric(m, "kura_cache_hits_total{tier=\"memory\"}")).as("memory hits").isGreaterThan(50);
            assertThat(metric(m, "kura_cache_evictions_total{tier=\"all\"}")).as("evictions").isGreaterThan(10);
        }
    }
}
