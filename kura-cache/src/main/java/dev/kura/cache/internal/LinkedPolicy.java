package dev.kura.cache.internal;

import org.jspecify.annotations.Nullable;


/**
 * The doubly linked list of disk entries that LRU and SIEVE both keep: newest at the head, oldest
 * at the tail, links stored in {@link DiskEntry} itself so a policy allocates nothing per entry.
 *
 * <p>Invariant: {@code e.linked} is true exactly when {@code e} is in the list. Subclasses call
 * these methods under their own monitor ({@code synchronized} on the policy).
 */
abstract class LinkedPolicy implements EvictionPolicy, OrderedPolicy {
    protected @Nullable DiskEntry head;
    protected @Nullable DiskEntry tail;

    /** Puts {@code e} at the head (newest end). */
    protected final void pushHead(DiskEntry e) {
        e.prev = null;
        e.next = head;
        if (head != null) {
            head.prev = e;
        }
        head = e;
        if (tail == null) {
            tail = e;
        }
        e.linked = true;
    }

    /** Takes a linked {@code e} out of the list. */
    protected final void unlink(DiskEntry e) {
        if (e.prev != null) {
            e.prev.next = e.next;
        } else {
            head = e.next;
        }
        if (e.next != null) {
            e.next.prev = e.prev;
        } else {
            tail = e.prev;
        }
        e.prev = e.next = null;
        e.linked = false;
    }

    @Override
    public synchronized void forEachOldestFirst(java.util.function.Consumer<DiskEntry> action) {
        for (DiskEntry e = tail; e != null; e = e.prev) {
            action.accept(e);
        }
    }
}
