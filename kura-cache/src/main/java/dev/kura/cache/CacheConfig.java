package dev.kura.cache;

import java.nio.file.Path;

/**
 * Settings of a {@link Cache}: the {@code cache.*} config keys (see {@code docs/CONFIG.md}).
 *
 * @param dir directory of the disk tier; created if missing
 * @param maxSize bound of the disk tier in bytes of entry files (headers and checksums included)
 * @param maxEntries bound of the disk tier in entries, 0 for no bound
 * @param maxItemSize largest object the disk tier takes, in bytes
 * @param memoryMaxSize bound of the memory tier in bytes, 0 to turn it off
 * @param memoryMaxItemSize largest object the memory tier takes, in bytes
 * @param durability {@link Durability#NONE} or {@link Durability#FSYNC} on commit
 *
 * <p>Thread-safety: immutable.
 */
public record CacheConfig(Path dir, long maxSize, long maxEntries, long maxItemSize,
                          long memoryMaxSize, long memoryMaxItemSize, Durability durability) {

    /** When a committed entry reaches the disk. */
    public enum Durability {
        /** Rename without fsync: fast; after power loss a recent entry may be missing or torn, and is then detected and dropped. */
        NONE,
        /** fdatasync the entry file before the rename and fsync the directory after it: survives power loss. */
        FSYNC
    }

    /** @throws IllegalArgumentException naming the config key of a value out of range */
    public CacheConfig {
        if (dir == null) {
            throw new IllegalArgumentException("cache.dir must be set");
        }
        if (maxSize <= 0) {
            throw new IllegalArgumentException("cache.max-size must be > 0, was " + maxSize);
        }
        if (maxEntries < 0) {
            throw new IllegalArgumentException("cache.max-entries must be >= 0, was " + maxEntries);
        }
        if (maxItemSize <= 0 || maxItemSize > maxSize) {
            throw new IllegalArgumentException("cache.max-item-size must be in 1..max-size, was " + maxItemSize);
        }
        if (memoryMaxSize < 0) {
            throw new IllegalArgumentException("cache.memory.max-size must be >= 0, was " + memoryMaxSize);
        }
        if (memoryMaxItemSize < 0) {
            throw new IllegalArgumentException("cache.memory.max-item-size must be >= 0, was " + memoryMaxItemSize);
        }
        if (durability == null) {
            durability = Durability.NONE;
        }
    }

    /** Defaults: 10 GiB disk, 1 GiB items, 256 MiB memory tier for items up to 1 MiB, no fsync. */
    public static CacheConfig defaults(Path dir) {
        return new CacheConfig(dir, 10L << 30, 0, 1L << 30, 256L << 20, 1L << 20, Durability.NONE);
    }
}
