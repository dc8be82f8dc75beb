package dev.kura.s3.internal;

/**
 * How a response relates to the cache; sent as {@code X-Cache} and used as the {@code cache}
 * metric label and in the access log.
 */
enum CacheStatus {
    /** Not an object response (errors, ops endpoints) or not decided yet: no X-Cache header. */
    NONE("-"),
    /** Served from a fresh cache entry. */
    HIT("HIT"),
    /**
     * Not in the local tiers, found in the shared tier ({@code cache.shared}, Valkey/Redis) and
     * stored in the local tiers; the origin was not asked.
     */
    SHARED("SHARED"),
    /** Fetched from the origin (and stored when cacheable). */
    MISS("MISS"),
    /** A stale entry the origin confirmed with 304, served from the cache. */
    REVALIDATED("REVALIDATED"),
    /** A stale entry served because the origin failed (RFC 5861 stale-if-error). */
    STALE("STALE");

    private final String text;

    CacheStatus(String text) {
        this.text = text;
    }

    /** The X-Cache header value and metric label. */
    String text() {
        return text;
    }
}
