package dev.kura.testing;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * Reads values out of a Prometheus text scrape ({@code /metrics}) for tests, and waits for one.
 *
 * <p>A series that is absent counts as 0, as a counter that has not been incremented yet.
 *
 * <p>Thread-safety: stateless.
 */
public final class PrometheusText {
    private PrometheusText() {
    }

    /**
     * The sum of every series of metric {@code name} (with or without labels) whose line contains
     * {@code labelFragment} (empty: all of them); 0 when there is none.
     */
    public static double sum(String scrape, String name, String labelFragment) {
        return scrape.lines()
                .filter(l -> (l.startsWith(name + "{") || l.startsWith(name + " ")) && l.contains(labelFragment))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    /**
     * Scrapes with {@code scrape} until {@link #sum} of {@code name} and {@code labelFragment} equals
     * {@code want}, every 10 ms.
     *
     * @throws AssertionError with the last value when {@code timeout} passes first
     */
    public static void await(Callable<String> scrape, String name, String labelFragment, double want, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        double v;
        while ((v = sum(scrape.call(), name, labelFragment)) != want) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(name + "{" + labelFragment + "} stayed at " + v + ", expected " + want
                        + " within " + timeout);
            }
            Thread.sleep(10);
        }
    }
}
