package dev.kura.cache;

import org.jspecify.annotations.Nullable;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The outcome of asking to fill a key: single-flight, so concurrent misses make one fill.
 *
 * <p>The first caller for a key becomes the {@link Leader}: it fetches the object (one origin
 * request) and writes it. Every other caller while that fill runs is a {@link Follower}: it can
 * stream the fill as it grows ({@link Follower#pending()}) or wait for the committed entry
 * ({@link Follower#result()}). If the leader aborts or fails, followers get an empty Optional (or a
 * {@link FillFailedException}) and should fetch for themselves (or ask to fill again).
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
        @Nullable CacheWriter begin(EntryMetadata metadata);

        /** Ends the fill without writing (e.g. the origin answered 404); followers get empty. */
        void cancel();
    }

    /**
     * A caller that arrived while another fill of the key was running. Use one of its two forms;
     * whatever a completed future hands out (an entry, a reader) is the caller's to close.
     *
     * <p>Thread-safety: safe for concurrent use; each method returns the same future every time.
     */
    non-sealed interface Follower extends Fill {
        /**
         * The committed entry, once the fill commits (its own handle), or empty when the fill
         * ends without committing. Never blocks the caller: the handle is opened asynchronously.
         */
        CompletableFuture<Optional<CacheEntry>> result();

        /**
         * A reader of the fill as it grows: completes when the leader has called
         * {@link Leader#begin} (at once if it already has; with a reader of the committed entry
         * if the fill has already committed). Completes exceptionally with
         * {@link FillFailedException} when the fill ends without beginning (cancelled, refused by
         * the cache) or failed before this call.
         */
        CompletableFuture<PendingEntry> pending();
    }
}
