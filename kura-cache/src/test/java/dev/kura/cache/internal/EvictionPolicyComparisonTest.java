package dev.kura.cache.internal;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The measurement behind the disk tier's choice of SIEVE: hit ratios on Zipf traces (100,000
 * objects, 400,000 requests) at cache sizes of 1% and 10% of the objects. Deterministic (fixed
 * seeds), so the comparison is a fact about these traces, printed for the report.
 */
class EvictionPolicyComparisonTest {

    @Test
    void sieveKeepsMoreHitsThanLruOnSkewedTraces() {
        for (double s : new double[] {0.8, 1.0}) {
            int[] trace = PolicySimulator.zipfTrace(100_000, s, 400_000, 42);
            for (int cap : new int[] {1_000, 10_000}) {
                Map<String, Double> r = PolicySimulator.compare(trace, cap);
                System.out.printf("zipf s=%.1f capacity=%d: %s%n", s, cap, r);
                assertThat(r.get("sieve")).as("s=" + s + " capacity=" + cap).isGreaterThan(r.get("lru"));
            }
        }
    }

    @Test
    void lruAndSieveBothKeepARecentlyReadEntryOverAnOlderUnreadOne() {
        for (EvictionKind policy : EvictionKind.values()) {
            EvictionPolicy p = policy.newPolicy();
            DiskEntry a = new DiskEntry("a", "", 1, 1, 0, false);
            DiskEntry b = new DiskEntry("b", "", 1, 1, 0, false);
            DiskEntry c = new DiskEntry("c", "", 1, 1, 0, false);
            p.onInsert(a);
            p.onInsert(b);
            p.onInsert(c);
            p.onAccess(a);
            assertThat(p.victim()).as(policy.name()).isSameAs(b);
        }
    }
}
