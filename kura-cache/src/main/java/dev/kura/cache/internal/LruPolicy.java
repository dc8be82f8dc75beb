package dev.kura.cache.internal;

import org.jspecify.annotations.Nullable;


/**
 * Least recently used: a doubly linked list, most recent at the head; a hit moves the entry to the
 * head, the victim is the tail. Every hit takes the lock, which SIEVE avoids.
 */
final class LruPolicy extends LinkedPolicy {

    @Override
    public synchronized void onInsert(DiskEntry e) {
        if (!e.linked) {
            pushHead(e);
        }
    }

    @Override
    public synchronized void onAccess(DiskEntry e) {
        if (e.linked && head != e) {
            unlink(e);
            pushHead(e);
        }
    }

    @Override
    public synchronized void onRemove(DiskEntry e) {
        if (e.linked) {
            unlink(e);
        }
    }

    @Override
    public synchronized @Nullable DiskEntry victim() {
        return tail;
    }

    @Override
    public String name() {
        return "lru";
    }
}
