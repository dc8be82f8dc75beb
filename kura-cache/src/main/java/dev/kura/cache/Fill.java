package dev.kura.cache;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The outcome of asking to fill a key: single-flight, so concurrent misses make one fill.
 *
 * <p>The first caller for a key becomes the {@link Leader}: it fetches the object (one origin
 * request) and writes it. Every other caller while that fill runs is a {@link Follower} and gets a
 * future of the committed entry. If the leader aborts or fails, followers get an empty Optional and
 * should fetch for themselves (or ask to fill again).
 */
public sealed interface Fill permits Fill.Leader, Fill.Follower {

    /** The caller that does the fill. It must end it: commit, abort, or {@link #cancel()}. */
    non-sealed interface Leader extends Fill {
        /**
         * Starts writing the object.
         *
         * @return a writer, or {@code null} when the cache will not take the object (larger than
         *     {@code max_item_size}, or the disk is failing); the leader then serves without
         *     caching, and followers are released with an empty result
         */
        CacheWriter begin(EntryMetadata metadata);

        /** Ends the fill without writing (e.g. the origin answered 404); followers get empty. */
        void cancel();
    }

    /** A caller that arrived while another fill of the key was running. */
    record Follower(CompletableFuture<Optional<CacheEntry>> result) implements Fill {
    }
}
