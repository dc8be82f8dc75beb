package dev.kura.s3.internal;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.kura.s3.internal.api.ListPage;
import dev.kura.s3.internal.api.ListQuery;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * Listings answered from the origin and kept for a short time ({@code serve.list-cache-ttl}).
 *
 * <p>Why a separate cache: a listing is small, changes whenever any key under it does, and is
 * asked for in bursts (a paginator, many workers starting one job); a few seconds of reuse takes
 * the burst off the origin without serving a listing much older than the objects. Caffeine's
 * {@link AsyncCache} gives single flight for free: concurrent identical listings share one
 * in-flight future, so one origin request. A failed listing is not kept (Caffeine drops a future
 * that completes exceptionally).
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class Listings {
    private record Key(String bucket, ListQuery query) {
    }

    private final AsyncCache<Key, ListPage> cache;
    private final Executor executor;

    /**
     * @param ttl how long an answer is reused; zero keeps nothing after it completes
     * @param executor where origin calls run (virtual threads)
     */
    Listings(Duration ttl, Executor executor) {
        this.executor = executor;
        this.cache = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(10_000).executor(executor).buildAsync();
    }

    /**
     * One page, from the cache or the origin.
     *
     * @return a future failing with a {@link CompletionException} around the
     *     {@link OriginFailure.Thrown} when the origin fails
     */
    CompletableFuture<ListPage> list(String bucket, Origin origin, ListQuery q) {
        return cache.get(new Key(bucket, q), (k, ex) -> CompletableFuture.supplyAsync(() -> {
            try {
                return origin.list(q);
            } catch (OriginFailure.Thrown e) {
                throw new CompletionException(e);
            }
        }, executor));
    }
}
