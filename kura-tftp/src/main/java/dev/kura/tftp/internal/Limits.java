package dev.kura.tftp.internal;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admission of transfers: at most {@code total} at once, and at most {@code perClient} from one
 * IP address. A slot is taken before any file is touched and given back exactly once when the
 * transfer (or its refused set-up) ends.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class Limits {

    private final int total;
    private final int perClient;
    private final AtomicInteger inUse = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> byClient = new ConcurrentHashMap<>();

    Limits(int total, int perClient) {
        this.total = total;
        this.perClient = perClient;
    }

    /** @return null when a slot was taken, else why not (for ERROR 0) */
    String tryAcquire(InetAddress client) {
        if (inUse.incrementAndGet() > total) {
            inUse.decrementAndGet();
            return "server busy: " + total + " transfers in progress (tftp.max-transfers), try again later";
        }
        String[] refusal = new String[1];
        byClient.compute(client, (k, v) -> {
            AtomicInteger c = v == null ? new AtomicInteger() : v;
            if (c.get() >= perClient) {
                refusal[0] = "too many transfers from " + k.getHostAddress() + ": " + perClient
                        + " in progress (tftp.max-transfers-per-client), try again later";
            } else {
                c.incrementAndGet();
            }
            return c;
        });
        if (refusal[0] != null) {
            inUse.decrementAndGet();
        }
        return refusal[0];
    }

    void release(InetAddress client) {
        byClient.computeIfPresent(client, (k, v) -> v.decrementAndGet() <= 0 ? null : v);
        inUse.decrementAndGet();
    }

    int inUse() {
        return inUse.get();
    }
}
