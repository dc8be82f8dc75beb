package dev.kura.s3.internal.shared;

import dev.kura.cache.EntryMetadata;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The shared tier's value format: what is written reads back, and no damaged value does. */
class SharedValueTest {
    private static final String KEY = "bucket/some/key.bin";
    private static final String ETAG = "\"0123456789abcdef\"";

    private static EntryMetadata md(int size) {
        return new EntryMetadata(size, "application/octet-stream", ETAG,
                Instant.parse("2026-11-30T12:00:00Z"), Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MILLIS),
                Map.of("Cache-Control", "max-age=3600", "x-amz-meta-owner", "kura"));
    }

    @Test
    void roundTripKeepsMetadataAndBody() throws Exception {
        byte[] body = new byte[10_000];
        new Random(1).nextBytes(body);
        EntryMetadata md = md(body.length);
        SharedValue.Decoded d = SharedValue.decode(SharedValue.encode(KEY, md, body), KEY, ETAG);
        assertThat(d.metadata()).isEqualTo(md);
        assertThat(d.body()).isEqualTo(body);
    }

    @Test
    void neverExpiringAndEmptyObjectsRoundTrip() throws Exception {
        EntryMetadata md = new EntryMetadata(0, null, ETAG, null, Instant.MAX, Map.of());
        SharedValue.Decoded d = SharedValue.decode(SharedValue.encode(KEY, md, new byte[0]), KEY, ETAG);
        assertThat(d.metadata()).isEqualTo(md);
        assertThat(d.body()).isEmpty();
    }

    @Test
    void everySingleBitFlipIsRefused() {
        byte[] body = new byte[300];
        new Random(2).nextBytes(body);
        byte[] good = SharedValue.encode(KEY, md(body.length), body);
        for (int i = 0; i < good.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] bad = good.clone();
                bad[i] ^= (byte) (1 << bit);
                assertThatThrownBy(() -> SharedValue.decode(bad, KEY, ETAG))
                        .as("byte %d bit %d", i, bit).isInstanceOf(SharedValue.CorruptValueException.class);
            }
        }
    }

    @Test
    void truncatedGarbageAndMisfiledValuesAreRefused() {
        byte[] body = "hello".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] good = SharedValue.encode(KEY, md(body.length), body);
        for (int n = 0; n < good.length; n++) {
            byte[] cut = java.util.Arrays.copyOf(good, n);
            assertThatThrownBy(() -> SharedValue.decode(cut, KEY, ETAG)).isInstanceOf(SharedValue.CorruptValueException.class);
        }
        assertThatThrownBy(() -> SharedValue.decode("garbage".getBytes(java.nio.charset.StandardCharsets.UTF_8), KEY, ETAG))
                .isInstanceOf(SharedValue.CorruptValueException.class);
        assertThatThrownBy(() -> SharedValue.decode(good, "bucket/other", ETAG))
                .isInstanceOf(SharedValue.CorruptValueException.class).hasMessageContaining("not this key");
        assertThatThrownBy(() -> SharedValue.decode(good, KEY, "\"other\""))
                .isInstanceOf(SharedValue.CorruptValueException.class).hasMessageContaining("not this key");
    }
}
