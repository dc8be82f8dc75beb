package dev.kura.cache.internal;

import dev.kura.cache.CacheEntry;
import dev.kura.cache.EntryMetadata;
import dev.kura.cache.PendingEntry;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link PendingEntry} over an entry that is already committed: what a follower gets when it
 * asks for a reader after the fill has ended. Reads are the entry's own (CRC-checked) reads.
 *
 * <p>Thread-safety: as the wrapped {@link CacheEntry}.
 */
final class CommittedReader implements PendingEntry {
    private final CacheEntry entry;

    CommittedReader(CacheEntry entry) {
        this.entry = entry;
    }

    @Override
    public EntryMetadata metadata() {
        return entry.metadata();
    }

    @Override
    public CompletableFuture<Integer> readAsync(long position, ByteBuffer dst) {
        if (position >= entry.metadata().size() && position >= 0 && dst.hasRemaining()) {
            return CompletableFuture.completedFuture(-1);
        }
        return entry.readAsync(position, dst);
    }

    @Override
    public CompletableFuture<Void> committed() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public void close() {
        entry.close();
    }
}
