package dev.kura.cache.internal;

import java.util.Objects;
import org.jspecify.annotations.Nullable;


/**
 * SIEVE (Zhang et al., "SIEVE is Simpler than LRU", NSDI 2024): a FIFO queue with one visited bit
 * per entry and a moving hand. A hit only sets the bit (no lock, no list move). To evict, the hand
 * walks from the tail toward the head, clearing visited bits, and stops at the first unvisited
 * entry; new entries go to the head. Entries read since the hand last passed survive, which gives
 * a read entry a second chance over an older unread one, and on skewed (Zipf) traces it keeps
 * more hits than LRU (see {@code EvictionPolicyComparisonTest}).
 *
 * <p>Invariant: {@code hand} is null or a linked entry; list order is insertion order.
 */
final class SievePolicy extends LinkedPolicy {
    private @Nullable DiskEntry hand;

    @Override
    public synchronized void onInsert(DiskEntry e) {
        if (e.linked) {
            return;
        }
        e.visited = false;
        pushHead(e);
    }

    @Override
    public void onAccess(DiskEntry e) {
        if (!e.visited) {
            e.visited = true;
        }
    }

    @Override
    public synchronized void onRemove(DiskEntry e) {
        if (!e.linked) {
            return;
        }
        if (hand == e) {
            hand = e.prev;
        }
        unlink(e);
    }

    @Override
    public synchronized @Nullable DiskEntry victim() {
        DiskEntry p = hand != null ? hand : tail;
        if (p == null) {
            return null;
        }
        while (p.visited) {
            p.visited = false;
            p = p.prev != null ? p.prev : Objects.requireNonNull(tail, "p is linked: the list is not empty");
        }
        hand = p.prev;
        return p;
    }

    @Override
    public String name() {
        return "sieve";
    }
}
