package dev.kura.s3.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheEntry;
import dev.kura.cache.EntryMetadata;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.ServeConfig;
import dev.kura.s3.internal.api.ListPage;
import dev.kura.s3.internal.api.ListQuery;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalServerChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fills the cache with one object exactly as a client's GET of it would, for prewarm
 * ({@code kura prewarm}, {@code POST /admin/prewarm}).
 *
 * <p>Why a client-less GET and not a second fill path: the fill path ({@link FillCoordinator})
 * carries single flight with clients' requests, slices for large objects, revalidation of a stale
 * entry with a conditional GET, the fill deadline and stale-if-error; a prewarm that wrote the
 * cache by itself would have to repeat each of them and would race with clients. So each object is
 * asked for by a synthetic {@link Exchange} whose "client" is one end of a Netty in-VM
 * {@link LocalChannel} pair; the other end drops every byte it receives. The exchange is a real
 * channel with an event loop and back-pressure, so every path of the fill coordinator (including
 * {@link EntrySender}'s writability waits) works unchanged. The price: the body is read back from
 * the cache once as the "client" streams it (the same as a client's first GET).
 *
 * <p>Freshness is the serving rules' ({@link EntryMetadata#isExpired}): a fresh entry is skipped; an
 * expired one is revalidated by the fill path (a conditional GET, 304 refreshes it); for a sliced
 * object, a fresh index whose slices are not all cached is served to the dropping client, which
 * fetches the missing slices.
 *
 * <p>Every blocking method runs on a virtual thread, never on an event loop.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public final class Warmer implements AutoCloseable {
    private static final AtomicLong IDS = new AtomicLong();

    /** What the cache holds of an object. */
    public enum Cached {
        /** A fresh entry (for a sliced object: the index and every slice). */
        FRESH,
        /** A fresh index of a sliced object with slices missing. */
        PARTIAL,
        /** An expired entry, to be revalidated. */
        STALE,
        /** Nothing. */
        ABSENT
    }

    /** How filling one object ended. */
    public enum Outcome {
        /** Fetched from the origin and stored (or its missing slices fetched). */
        FILLED,
        /** An expired entry the origin confirmed (304): freshness refreshed, no body fetched. */
        REVALIDATED,
        /** Fresh in the cache when the fill began (another request filled it meanwhile). */
        ALREADY_FRESH,
        /** The origin answered, but the answer may not be stored ({@code no-store}, cache refused). */
        NOT_STORED,
        /** The origin failed, or the body was cut. */
        FAILED
    }

    /**
     * One object's result.
     *
     * @param outcome how it ended
     * @param status the HTTP status the fill path answered (200, 404, 503...)
     * @param detail why, for a failure; empty otherwise
     */
    public record Result(Outcome outcome, int status, String detail) {
    }

    private final ProxyCore core;
    private final @Nullable ProxyCore owned;
    private final EventLoopGroup loop;
    private final LocalAddress address;
    private final Channel sink;

    /** Over the running proxy's core ({@link Server}). */
    Warmer(ProxyCore core) {
        this(core, null);
    }

    private Warmer(ProxyCore core, @Nullable ProxyCore owned) {
        this.core = core;
        this.owned = owned;
        this.loop = new MultiThreadIoEventLoopGroup(1, Thread.ofPlatform().daemon().name("kura-prewarm-sink").factory(),
                LocalIoHandler.newFactory());
        this.address = new LocalAddress("kura-prewarm-" + IDS.incrementAndGet() + "-" + System.nanoTime());
        try {
            this.sink = new ServerBootstrap().group(loop).channel(LocalServerChannel.class)
                    .childHandler(new ChannelInitializer<LocalChannel>() {
                        @Override
                        protected void initChannel(LocalChannel ch) {
                            ch.pipeline().addLast(new Drop());
                        }
                    }).bind(address).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
            throw e;
        }
    }

    /**
     * A warmer with its own proxy core and no listener, for {@code kura prewarm} run without a
     * server: the cache directory is opened by the caller (it holds the directory's lock).
     *
     * @param sliceSize objects larger than this many bytes are cached in slices of this size
     */
    public static Warmer standalone(ServeConfig config, Cache cache, long sliceSize) {
        ProxyCore core = new ProxyCore(config, cache, sliceSize);
        return new Warmer(core, core);
    }

    /** True when {@code bucket} names a mapping of the config in force. */
    public boolean hasBucket(String bucket) {
        return core.state().route(bucket) != null;
    }

    /** The names of the mappings of the config in force. */
    public java.util.List<String> buckets() {
        return core.config().buckets().stream().map(BucketConfig::name).toList();
    }

    /**
     * One page of ListObjectsV2 of {@code bucket}'s origin under {@code prefix} (S3 API reference,
     * ListObjectsV2: at most 1,000 keys, {@code continuation-token}). Not through the listing cache:
     * a prewarm wants the origin's current keys.
     *
     * @param continuation the previous page's {@link ListPage#next()}, or null for the first page
     * @throws IllegalArgumentException when no mapping is named {@code bucket}
     * @throws IOException when the origin fails (its S3 error code and message)
     */
    public ListPage list(String bucket, String prefix, @Nullable String continuation) throws IOException {
        ProxyCore.Route r = route(bucket);
        try {
            return r.origin().list(new ListQuery(true, prefix.isEmpty() ? null : prefix, null, ListQuery.MAX_KEYS,
                    continuation, null, false));
        } catch (OriginFailure.Thrown e) {
            throw new IOException("ListObjectsV2 of " + bucket + " prefix '" + prefix + "' failed: "
                    + e.getMessage(), e);
        }
    }

    /**
     * What the cache holds of {@code key} now, by the serving rules' freshness. Blocking (opens
     * cache entries).
     */
    public Cached cached(String bucket, String key) {
        String cacheKey = bucket + "/" + key;
        Optional<CacheEntry> e = lookup(cacheKey);
        if (e.isEmpty()) {
            return Cached.ABSENT;
        }
        EntryMetadata md;
        try (CacheEntry entry = e.get()) {
            md = entry.metadata();
        }
        if (md.isExpired(Instant.now())) {
            return Cached.STALE;
        }
        if (!Slices.isIndex(md)) {
            return Cached.FRESH;
        }
        long slice = Slices.sliceSize(md);
        EntryMetadata object = Slices.object(md);
        long n = object.size() == 0 ? 0 : Slices.of(object.size() - 1, slice) + 1;
        for (long i = 0; i < n; i++) {
            Optional<CacheEntry> s = lookup(Slices.key(cacheKey, object.etag(), i));
            if (s.isEmpty()) {
                return Cached.PARTIAL;
            }
            s.get().close();
        }
        return Cached.FRESH;
    }

    /**
     * Fills the cache with {@code key} through the fill path, as a GET of it would, and waits for
     * the end. Blocking; call it on a virtual thread.
     *
     * @param sizeHint the object's size in bytes from the listing (bounds the wait: the fill
     *     deadline of that many bytes plus the origin's timeouts)
     * @throws IllegalArgumentException when no mapping is named {@code bucket}
     * @throws InterruptedException when interrupted while waiting (the fill goes on)
     */
    public Result warm(String bucket, String key, long sizeHint) throws InterruptedException {
        ServeState s = core.state();
        s.retain(); // the origin stays open across a reload until this fill ends
        try {
            ProxyCore.Route r = s.route(bucket);
            if (r == null) {
                throw new IllegalArgumentException("no bucket mapping named '" + bucket + "'");
            }
            String cacheKey = bucket + "/" + key;
            FillCoordinator.Target t = new FillCoordinator.Target(r.bucket(), r.origin(), key, null, cacheKey);
            Channel ch = new Bootstrap().group(loop).channel(LocalChannel.class).handler(new Drop())
                    .connect(address).syncUninterruptibly().channel();
            CompletableFuture<Exchange> done = new CompletableFuture<>();
            Exchange ex = new Exchange(ch, "prewarm-" + IDS.incrementAndGet(), "GET", "/" + bucket + "/" + key,
                    new DefaultHttpHeaders(), true, done::complete);
            ex.state = s;
            ex.bucket = bucket;
            ex.key = key;
            ex.client = "prewarm";
            try {
                return run(ex, t, sizeHint, done);
            } finally {
                ch.close().syncUninterruptibly();
            }
        } finally {
            s.release();
        }
    }

    private Result run(Exchange ex, FillCoordinator.Target t, long sizeHint, CompletableFuture<Exchange> done)
            throws InterruptedException {
        Optional<CacheEntry> now = lookup(t.cacheKey());
        boolean partial = false;
        if (now.isPresent() && !now.get().metadata().isExpired(Instant.now())) {
            EntryMetadata md = now.get().metadata();
            if (!Slices.isIndex(md)) {
                now.get().close();
                return new Result(Outcome.ALREADY_FRESH, 200, "");
            }
            // A fresh index: serving it to the dropping client fetches whatever slices are missing.
            partial = true;
            ex.cacheStatus = CacheStatus.HIT;
            core.fills().serve(ex, t, now.get(), md);
        } else {
            core.fills().fetch(ex, t, now.orElse(null));
        }
        long waitNanos = core.config().fill().deadlineNanos(Math.max(0, sizeHint))
                + OriginClient.total(t.bucket()).toNanos();
        Exchange fin;
        try {
            fin = done.get(waitNanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return new Result(Outcome.FAILED, 0, "no end after " + TimeUnit.NANOSECONDS.toSeconds(waitNanos) + " s");
        } catch (ExecutionException e) {
            return new Result(Outcome.FAILED, 0, String.valueOf(e.getCause()));
        }
        return outcome(fin, t, partial);
    }

    /** Reads the finished exchange: its status, what it was served from, and what the cache holds now. */
    private Result outcome(Exchange fin, FillCoordinator.Target t, boolean partial) {
        int status = fin.status;
        if (status != 200) {
            return new Result(Outcome.FAILED, status, status == 0 ? "no answer" : "origin answered " + status);
        }
        if (fin.cacheStatus == CacheStatus.STALE) {
            return new Result(Outcome.FAILED, status, "origin down; the stale entry was kept");
        }
        Cached c = cached(t.name(), t.key());
        if (c == Cached.FRESH) {
            if (fin.cacheStatus == CacheStatus.REVALIDATED) {
                return new Result(Outcome.REVALIDATED, status, "");
            }
            if (fin.cacheStatus == CacheStatus.HIT && !partial) {
                return new Result(Outcome.ALREADY_FRESH, status, "");
            }
            return new Result(Outcome.FILLED, status, "");
        }
        if (c == Cached.PARTIAL) {
            return new Result(Outcome.FAILED, status, "slices missing after the fill (body cut after "
                    + fin.bodyBytes + " bytes)");
        }
        return new Result(Outcome.NOT_STORED, status, "the origin's answer was not stored (no-store, or the cache refused it)");
    }

    private Optional<CacheEntry> lookup(String cacheKey) {
        try {
            return core.cache().lookup(cacheKey);
        } catch (RuntimeException e) {
            return Optional.empty(); // a cache fault is a miss, as when serving
        }
    }

    private ProxyCore.Route route(String bucket) {
        ProxyCore.Route r = core.state().route(bucket);
        if (r == null) {
            throw new IllegalArgumentException("no bucket mapping named '" + bucket + "'");
        }
        return r;
    }

    /** Closes the in-VM channels; a standalone warmer also closes its proxy core (origin clients). */
    @Override
    public void close() {
        sink.close().syncUninterruptibly();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        if (owned != null) {
            owned.close(1_000);
        }
    }

    /** The dropping end: releases every message it receives. */
    private static final class Drop extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            var unused = ctx.close(); // an in-VM channel has no error worth more than closing it
        }
    }
}
