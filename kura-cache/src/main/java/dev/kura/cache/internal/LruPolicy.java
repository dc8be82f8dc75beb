package dev.kura.cache.internal;

/**
 * Least recently used: a doubly linked list, most recent at the head; a hit moves the entry to the
 * head, the victim is the tail. Every hit takes the lock, which SIEVE avoids.
 */
final class LruPolicy implements EvictionPolicy, OrderedPolicy {
    private DiskEntry head;
    private DiskEntry tail;

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
    public synchronized DiskEntry victim() {
        return tail;
    }

    @Override
    public String name() {
        return "lru";
    }

    private void pushHead(DiskEntry e) {
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

    private void unlink(DiskEntry e) {
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
