package dev.kura.s3.internal.limits;

import dev.kura.config.DataSize;
import dev.kura.s3.OriginBandwidth;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link OriginShare} without sockets: fills of two buckets charging chunks as fast as they can. */
class OriginShareTest {

    /** Fills charging 64 KiB chunks until {@code stop}. */
    private static List<Thread> fills(OriginShare s, String bucket, int n, AtomicBoolean stop) {
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ts.add(Thread.ofVirtual().start(() -> {
                while (!stop.get()) {
                    s.charge(bucket, 64 * 1024);
                }
            }));
        }
        return ts;
    }

    @Test
    void busyBucketsGetBytesByWeightWhateverTheirNumberOfFills() throws Exception {
        long rate = 8L << 20;
        OriginShare s = new OriginShare(new OriginBandwidth(DataSize.ofBytes(rate), Map.of("hot", 3)));
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> all = new ArrayList<>(fills(s, "bulk", 6, stop)); // many fills, weight 1
        all.addAll(fills(s, "hot", 1, stop)); // one fill, weight 3
        long t0 = System.nanoTime();
        Thread.sleep(2_000);
        long bulk = s.bytes("bulk");
        long hot = s.bytes("hot");
        double seconds = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        for (Thread t : all) {
            t.join();
        }
        double ratio = (double) hot / bulk;
        assertThat(ratio).as("hot:bulk = 3:1 within 30%% (hot %d B, bulk %d B)", hot, bulk).isBetween(2.1, 3.9);
        // The budget: a tenth of a second of burst, the rate since, and one chunk per fill in flight.
        assertThat(hot + bulk).isLessThanOrEqualTo((long) (rate / 10 + rate * seconds + 7 * 64 * 1024));
    }

    @Test
    void idleTimeEarnsNoCredit() throws Exception {
        long rate = 8L << 20;
        OriginShare s = new OriginShare(new OriginBandwidth(DataSize.ofBytes(rate), Map.of()));
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> first = fills(s, "a", 2, stop);
        Thread.sleep(1_000);
        stop.set(true);
        for (Thread t : first) {
            t.join();
        }
        long aAlone = s.bytes("a");
        assertThat(aAlone).as("a alone: at most the budget").isLessThanOrEqualTo(rate / 10 + rate * 2 + 2 * 64 * 1024);
        // b starts after a's second: it does not get a second's worth of catching up before a may go on.
        AtomicBoolean stop2 = new AtomicBoolean();
        List<Thread> both = new ArrayList<>(fills(s, "a", 1, stop2));
        both.addAll(fills(s, "b", 1, stop2));
        Thread.sleep(1_000);
        stop2.set(true);
        for (Thread t : both) {
            t.join();
        }
        long a = s.bytes("a") - aAlone;
        long b = s.bytes("b");
        assertThat((double) b / a).as("equal weights, equal shares (a %d B, b %d B)", a, b).isBetween(0.7, 1.3);
    }
}
