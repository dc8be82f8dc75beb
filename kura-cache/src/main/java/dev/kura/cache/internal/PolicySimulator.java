package dev.kura.cache.internal;

import com.github.benmanes.caffeine.cache.Caffeine;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Replays a skewed (Zipf) trace of object ids against the disk tier's eviction policies, and
 * against Caffeine's W-TinyLFU for reference, counting hits at a fixed capacity in entries. This
 * is how SIEVE was chosen over LRU for the disk tier (see the report in {@code kura bench cache}
 * and {@code EvictionPolicyComparisonTest}).
 *
 * <p>Thread-safety: none needed; a simulation runs on one thread.
 */
public final class PolicySimulator {
    private PolicySimulator() {
    }

    /** Draws ids 0..n-1 with probability proportional to 1/(rank+1)^s. */
    public static int[] zipfTrace(int n, double s, int length, long seed) {
        double[] cdf = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += 1 / Math.pow(i + 1, s);
            cdf[i] = sum;
        }
        // scatter ranks over ids so that id order says nothing about popularity
        int[] perm = new int[n];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] trace = new int[length];
        for (int k = 0; k < length; k++) {
            double u = rnd.nextDouble() * sum;
            int lo = 0;
            int hi = n - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cdf[mid] < u) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            trace[k] = perm[lo];
        }
        return trace;
    }

    /** Hit ratio of a disk-tier policy ({@code "lru"}, {@code "sieve"}) holding {@code capacity} entries. */
    public static double hitRatio(String policy, int[] trace, int capacity) {
        EvictionPolicy p = EvictionPolicy.create(policy);
        Map<Integer, DiskEntry> resident = new HashMap<>(capacity * 2);
        long hits = 0;
        for (int id : trace) {
            DiskEntry e = resident.get(id);
            if (e != null) {
                hits++;
                p.onAccess(e);
                continue;
            }
            if (resident.size() >= capacity) {
                DiskEntry v = Objects.requireNonNull(p.victim(), "full, so not empty");
                p.onRemove(v);
                resident.remove(Integer.parseInt(v.key));
            }
            DiskEntry n = new DiskEntry(Integer.toString(id), "", 1, 1, 0, false);
            resident.put(id, n);
            p.onInsert(n);
        }
        return (double) hits / trace.length;
    }

    /** Hit ratio of Caffeine (W-TinyLFU) with {@code maximumSize(capacity)}. */
    public static double caffeineHitRatio(int[] trace, int capacity) {
        com.github.benmanes.caffeine.cache.Cache<Integer, Boolean> c = Caffeine.newBuilder()
                .maximumSize(capacity).executor(Runnable::run).build();
        long hits = 0;
        for (int id : trace) {
            if (c.getIfPresent(id) != null) {
                hits++;
            } else {
                c.put(id, Boolean.TRUE);
            }
        }
        return (double) hits / trace.length;
    }

    /** The comparison as rows: policy -> hit ratio, for one trace and capacity. */
    public static Map<String, Double> compare(int[] trace, int capacity) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("lru", hitRatio("lru", trace, capacity));
        m.put("sieve", hitRatio("sieve", trace, capacity));
        m.put("w-tinylfu (caffeine, reference)", caffeineHitRatio(trace, capacity));
        return m;
    }
}
