package dev.kura.cache.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.LentBytes;
import dev.kura.cache.Tier;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The memory tier's bytes live in native memory ({@link NativeBytes}) and are lent to writers
 * without a copy: a loan or an open handle keeps the bytes of an evicted or replaced entry valid, and
 * every allocation is freed once the tier, the handles and the loans have let go.
 */
class NativeMemoryTierTest {
    @TempDir
    Path dir;

    private static byte[] bytesOf(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void loansOutliveEvictionAndReplacementAndEverythingIsFreed(Backend backend) throws Exception {
        long before = NativeBytes.outstanding();
        try (FileIo io = io(backend)) {
            // memory tier of 256 KiB, items up to 64 KiB: 40 items of 50,000 bytes evict most of them
            CacheConfig cfg = config(dir, 64 << 20, 256 << 10);
            try (Cache c = Cache.open(cfg, io)) {
                put(c, "k0", bytes(0, 50_000));
                CacheEntry held = c.get("k0").orElseThrow();
                assertThat(held.tier()).isEqualTo(Tier.MEMORY);
                LentBytes loan = held.lend(1000, 20_000);
                assertThat(loan).isNotNull();
                assertThat(loan.buffer().isDirect()).isTrue();
                assertThat(loan.buffer().isReadOnly()).isTrue();
                held.close();

                put(c, "k0", bytes(99, 50_000)); // replaced: the loan still sees the old version's bytes
                List<LentBytes> loans = new ArrayList<>();
                for (int i = 1; i < 40; i++) {
                    put(c, "k" + i, bytes(i, 50_000));
                    try (CacheEntry e = c.get("k" + i).orElseThrow()) {
                        loans.add(e.lend(0, 50_000));
                    }
                }
                assertThat(c.stats().memoryBytes()).isLessThanOrEqualTo(256 << 10);
                assertThat(bytesOf(loan.buffer())).isEqualTo(java.util.Arrays.copyOfRange(bytes(0, 50_000), 1000, 21_000));
                for (int i = 1; i < 40; i++) {
                    assertThat(bytesOf(loans.get(i - 1).buffer())).as("loan %d after evictions", i).isEqualTo(bytes(i, 50_000));
                }
                // the loans hold at least 40 x 50,000 bytes beyond what the tier holds
                assertThat(NativeBytes.outstanding() - before).isGreaterThanOrEqualTo(40L * 50_000);
                loan.close();
                loan.close(); // idempotent
                loans.forEach(LentBytes::close);
                assertThat(NativeBytes.outstanding() - before).as("only the tier's own entries remain")
                        .isLessThanOrEqualTo(256 << 10);
                assertThat(getBytes(c, "k0")).hasValueSatisfying(b -> assertThat(b).hasSize(50_000));
            }
        }
        assertThat(NativeBytes.outstanding()).as("all native memory freed after close").isEqualTo(before);
    }

    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void diskHandlesDoNotLendAndPromotedEntriesDo(Backend backend) throws Exception {
        long before = NativeBytes.outstanding();
        try (FileIo io = io(backend)) {
            CacheConfig cfg = config(dir, 64 << 20, 1 << 20);
            try (Cache c = Cache.open(cfg, io)) {
                put(c, "big", bytes(7, 200_000)); // above the 64 KiB memory item size
                try (CacheEntry e = c.get("big").orElseThrow()) {
                    assertThat(e.tier()).isEqualTo(Tier.DISK);
                    assertThat(e.lend(0, 10)).isNull();
                }
            }
            try (Cache c = Cache.open(cfg, io)) {
                awaitRecovery(c);
                put(c, "small", bytes(8, 30_000));
            }
            try (Cache c = Cache.open(cfg, io)) {
                awaitRecovery(c);
                try (CacheEntry e = c.get("small").orElseThrow()) { // promoted from disk by the lookup
                    assertThat(e.inMemory()).isTrue();
                    try (LentBytes l = e.lend(29_990, 10)) {
                        assertThat(l).isNotNull();
                        assertThat(bytesOf(l.buffer())).isEqualTo(java.util.Arrays.copyOfRange(bytes(8, 30_000), 29_990, 30_000));
                    }
                    assertThatThrownBy(() -> e.lend(29_995, 10)).isInstanceOf(IndexOutOfBoundsException.class);
                }
            }
        }
        assertThat(NativeBytes.outstanding()).isEqualTo(before);
    }

    /**
     * Entries of 64 KiB or more are held in memory files (Linux): a loan names the file and the
     * offset of its bytes, the file holds exactly the lent bytes there, the file stays readable
     * under a loan after the entry is evicted, and every file is closed once nothing holds it.
     * Smaller entries are plain memory and name no file.
     */
    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void largeEntriesAreMemoryFilesThatLoansCanSendFrom(Backend backend) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(MemoryFiles.AVAILABLE, "memory files need Linux");
        long before = NativeBytes.outstanding();
        int filesBefore = NativeBytes.files();
        try (FileIo io = io(backend)) {
            // memory tier of 1 MiB, items up to 256 KiB
            CacheConfig cfg = new CacheConfig(dir, 64 << 20, 0, 64 << 20, 1 << 20, 256 << 10, CacheConfig.Durability.NONE);
            try (Cache c = Cache.open(cfg, io)) {
                byte[] big = bytes(3, 200_000);
                put(c, "big", big);
                put(c, "small", bytes(4, 60_000));
                LentBytes loan;
                try (CacheEntry e = c.get("big").orElseThrow()) {
                    assertThat(e.tier()).isEqualTo(Tier.MEMORY);
                    loan = e.lend(70_000, 100_000);
                    assertThat(loan).isNotNull();
                }
                java.nio.channels.FileChannel file = loan.file();
                assertThat(file).as("a 200,000-byte entry is a memory file").isNotNull();
                assertThat(loan.fileOffset()).isEqualTo(70_000);
                assertThat(file.size()).isEqualTo(200_000);
                try (CacheEntry e = c.get("small").orElseThrow(); LentBytes l = e.lend(0, 60_000)) {
                    assertThat(l).isNotNull();
                    assertThat(l.file()).as("a 60,000-byte entry is plain memory").isNull();
                }
                for (int i = 0; i < 8; i++) { // evicts "big" from the 1 MiB tier
                    put(c, "filler" + i, bytes(10 + i, 200_000));
                }
                assertThat(c.get("big").map(e -> {
                    e.close();
                    return e.tier();
                })).isNotEqualTo(java.util.Optional.of(Tier.MEMORY));
                ByteBuffer read = ByteBuffer.allocate(100_000);
                while (read.hasRemaining()) {
                    assertThat(file.read(read, loan.fileOffset() + read.position())).isPositive();
                }
                assertThat(read.array()).as("the file under the loan after eviction")
                        .isEqualTo(java.util.Arrays.copyOfRange(big, 70_000, 170_000));
                assertThat(bytesOf(loan.buffer())).isEqualTo(read.array());
                loan.close();
                assertThat(file.isOpen()).as("closed with the last reference").isFalse();
            }
        }
        assertThat(NativeBytes.files()).as("every memory file closed").isEqualTo(filesBefore);
        assertThat(NativeBytes.outstanding()).isEqualTo(before);
    }

    @Test
    void retainFailsOnceFreed() {
        NativeBytes b = NativeBytes.copyOf(new byte[] {1, 2, 3});
        assertThat(b.retain()).isTrue();
        b.release();
        b.release();
        assertThat(b.retain()).as("freed bytes cannot be revived").isFalse();
        assertThatThrownBy(b::release).isInstanceOf(IllegalStateException.class);
    }
}
