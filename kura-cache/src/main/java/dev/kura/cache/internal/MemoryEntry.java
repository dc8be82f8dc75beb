package dev.kura.cache.internal;

import dev.kura.cache.EntryMetadata;
import dev.kura.cache.Tier;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A handle on a version held in memory (the memory tier, or bytes just promoted from disk).
 * The bytes are immutable once built, so reads need no lock and never see another version.
 *
 * <p>Thread-safety: concurrent reads are safe.
 */
final class MemoryEntry implements VersionedEntry {
    /** What the memory tier stores per key. */
    record Value(String key, EntryMetadata metadata, byte[] data, long writeId) {
        int weight() {
            return (int) Math.min(Integer.MAX_VALUE, data.length + 2L * key.length() + 96);
        }
    }

    private final Value value;
    private final Tier tier;
    private final AtomicBoolean closed = new AtomicBoolean();

    MemoryEntry(Value value, Tier tier) {
        this.value = value;
        this.tier = tier;
    }

    @Override
    public String key() {
        return value.key();
    }

    @Override
    public EntryMetadata metadata() {
        return value.metadata();
    }

    @Override
    public Tier tier() {
        return tier;
    }

    @Override
    public boolean inMemory() {
        return true;
    }

    @Override
    public long version() {
        return value.writeId();
    }

    @Override
    public int read(long position, ByteBuffer dst) {
        if (closed.get()) {
            throw new IllegalStateException("cache entry handle is closed");
        }
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
        byte[] d = value.data();
        if (position >= d.length) {
            return 0;
        }
        int n = (int) Math.min(dst.remaining(), d.length - position);
        dst.put(d, (int) position, n);
        return n;
    }

    @Override
    public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
        try {
            return CompletableFuture.completedFuture(read(position, dst));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public void close() {
        closed.set(true);
    }
}
