package dev.kura.cache.internal;

import dev.kura.cache.EntryMetadata;
import dev.kura.cache.LentBytes;
import dev.kura.cache.Tier;
import org.jspecify.annotations.Nullable;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A handle on a version held in memory (the memory tier, or bytes just promoted from disk).
 * The bytes are immutable once built, so reads need no lock and never see another version. The
 * handle holds a reference on the bytes ({@link NativeBytes}) from {@link #open} to {@link #close},
 * so eviction while it is open frees nothing under it.
 *
 * <p>Thread-safety: concurrent reads are safe.
 */
final class MemoryEntry implements VersionedEntry {
    /**
     * What the memory tier stores per key. The value owns one reference on {@code data} while it is
     * in the tier; the tier's removal listener releases it.
     */
    record Value(String key, EntryMetadata metadata, NativeBytes data, long writeId) {
        int weight() {
            return (int) Math.min(Integer.MAX_VALUE, data.size() + 2L * key.length() + 96);
        }
    }

    private final Value value;
    private final Tier tier;
    private final AtomicBoolean closed = new AtomicBoolean();

    private MemoryEntry(Value value, Tier tier) {
        this.value = value;
        this.tier = tier;
    }

    /** A handle on {@code v}, or null when its bytes were freed meanwhile (evicted: a miss). */
    static @Nullable MemoryEntry open(Value v, Tier tier) {
        return v.data().retain() ? new MemoryEntry(v, tier) : null;
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
        checkOpen();
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
        return value.data().copyTo(position, dst);
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
    public LentBytes lend(long position, int length) {
        checkOpen();
        NativeBytes data = value.data();
        if (position < 0 || length < 0 || position + length > data.size()) {
            throw new IndexOutOfBoundsException("lend " + position + "+" + length + " of " + data.size() + " bytes");
        }
        // the handle holds a reference, so this cannot fail while it is open
        if (!data.retain()) {
            throw new IllegalStateException("memory entry freed under an open handle");
        }
        ByteBuffer view = data.view(position, length);
        AtomicBoolean returned = new AtomicBoolean();
        return new LentBytes() {
            @Override
            public ByteBuffer buffer() {
                return view;
            }

            @Override
            public java.nio.channels.@Nullable FileChannel file() {
                return data.file();
            }

            @Override
            public long fileOffset() {
                return position;
            }

            @Override
            public void close() {
                if (returned.compareAndSet(false, true)) {
                    data.release();
                }
            }
        };
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("cache entry handle is closed");
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            value.data().release();
        }
    }
}
