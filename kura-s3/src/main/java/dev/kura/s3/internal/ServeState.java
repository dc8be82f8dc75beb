package dev.kura.s3.internal;

import dev.kura.s3.BucketConfig;
import dev.kura.s3.ServeConfig;
import dev.kura.s3.internal.api.S3Router;
import dev.kura.s3.internal.auth.JwtVerifier;
import dev.kura.s3.internal.auth.SigV4Verifier;
import org.jspecify.annotations.Nullable;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Everything a request is served with that a hot reload may change, as one immutable snapshot:
 * the config, the routing table, each bucket's origin client, the client-key and JWT verifiers,
 * the listing cache.
 *
 * <p>Why a snapshot. A reload must not change the rules under a request half-way through (a
 * bucket's origin replaced between the lookup and the fill, a key revoked between authentication
 * and authorization). {@link ProxyCore} holds the current snapshot in an {@code AtomicReference};
 * a request takes it once when it starts ({@link #retain}), keeps it in its {@link Exchange} and
 * gives it back when it finishes ({@link #release}); a reload builds a new snapshot and swaps the
 * reference, so requests in flight finish on the one they started with. This is the architecture
 * notes' "routing table and origin clients as an immutable snapshot swapped atomically" (the
 * design documents' Rust proxy swaps an {@code Arc} the same way).
 *
 * <p>Origins carry over: a bucket whose settings are equal in the new config keeps its origin
 * client (and its connections); a removed or changed one is retired by {@link ProxyCore} once the
 * old snapshot has no request left and the origin no call in progress ({@link CountedOrigin}).
 *
 * <p>Thread-safety: immutable but for the hold count, which is atomic.
 */
final class ServeState {
    final ServeConfig config;
    /** Longest prefix first. */
    final List<ProxyCore.Route> routes;
    final S3Router router;
    final SigV4Verifier verifier;
    /** Null without {@code serve.jwt}. */
    final @Nullable JwtVerifier jwt;
    final Listings listings;
    private final Map<String, ProxyCore.Route> byName = new HashMap<>();
    private final AtomicInteger holds = new AtomicInteger();

    private ServeState(ServeConfig config, List<ProxyCore.Route> routes, @Nullable JwtVerifier jwt, Executor workers,
                       Clock clock) {
        this.config = config;
        this.routes = routes;
        for (ProxyCore.Route r : routes) {
            byName.put(r.bucket().name(), r);
        }
        this.router = new S3Router(config.buckets(), config.baseDomain());
        this.verifier = new SigV4Verifier(config.clients(), clock);
        this.jwt = jwt;
        this.listings = new Listings(config.listCacheTtl(), workers);
    }

    /**
     * The snapshot of {@code config}: origins of buckets equal to one of {@code previous} are
     * reused, the others made by {@code origins}.
     *
     * @param previous the running snapshot, or null at start
     */
    static ServeState of(ServeConfig config, @Nullable ServeState previous, Function<BucketConfig, Origin> origins,
                         Executor workers, Clock clock) {
        List<ProxyCore.Route> r = new ArrayList<>();
        List<CountedOrigin> made = new ArrayList<>();
        try {
            for (BucketConfig b : config.buckets()) {
                ProxyCore.Route old = previous == null ? null : previous.route(b.name());
                if (old != null && old.bucket().equals(b)) {
                    r.add(old);
                } else {
                    CountedOrigin o = new CountedOrigin(origins.apply(b));
                    made.add(o);
                    r.add(new ProxyCore.Route(b, o));
                }
            }
            r.sort(Comparator.comparingInt((ProxyCore.Route x) -> x.bucket().prefix().length()).reversed());
            // An unchanged serve.jwt keeps its verifier: a new one would refuse RS256/ES256 tokens
            // until its first JWK Set fetch.
            JwtVerifier jwt = previous != null && previous.jwt != null
                    && java.util.Objects.equals(previous.config.jwt(), config.jwt()) ? previous.jwt
                    : config.jwt() == null ? null : new JwtVerifier(config.jwt());
            return new ServeState(config, List.copyOf(r), jwt, workers, clock);
        } catch (RuntimeException e) {
            made.forEach(CountedOrigin::close); // a snapshot that could not be built leaves nothing open
            throw e;
        }
    }

    /** The route of the bucket named {@code name}, or null. */
    ProxyCore.@Nullable Route route(String name) {
        return byName.get(name);
    }

    /** Counts a request that runs on this snapshot. */
    void retain() {
        holds.incrementAndGet();
    }

    /** Ends what {@link #retain} counted. */
    void release() {
        holds.decrementAndGet();
    }

    /** Requests running on this snapshot now. */
    int holds() {
        return holds.get();
    }

    /**
     * Stops what this snapshot runs and {@code next} does not share (the JWK Set refresh); origins
     * are closed by their owner.
     *
     * @param next the snapshot that replaced this one, or null at shutdown
     */
    void closeOwn(@Nullable ServeState next) {
        if (jwt != null && (next == null || next.jwt != jwt)) {
            jwt.close();
        }
    }
}
