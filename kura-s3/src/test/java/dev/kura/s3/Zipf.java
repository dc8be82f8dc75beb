package dev.kura.s3;

import java.util.Random;

/**
 * Object indexes 0..n-1 drawn with Zipf's law, exponent 1 (index i with weight 1/(i+1)), from a
 * seeded {@link Random}: the same sequence for the same seed, so that two layouts of a test see the
 * same workload.
 */
final class Zipf {
    private final double[] cdf;
    private final Random rnd;

    Zipf(int n, long seed) {
        cdf = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += 1.0 / (i + 1);
            cdf[i] = sum;
        }
        rnd = new Random(seed);
    }

    /** The next index, 0..n-1. */
    int next() {
        double u = rnd.nextDouble() * cdf[cdf.length - 1];
        int i = 0;
        while (cdf[i] < u) {
            i++;
        }
        return i;
    }
}
