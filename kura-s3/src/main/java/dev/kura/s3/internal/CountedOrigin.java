package dev.kura.s3.internal;

import dev.kura.s3.internal.api.ListPage;
import dev.kura.s3.internal.api.ListQuery;
import org.jspecify.annotations.Nullable;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An {@link Origin} that counts its calls in progress, so that a hot reload can close the origin
 * client of a removed or changed bucket only once nothing uses it any more ("drained, then
 * closed"). A GET counts until the caller closes the body stream: a fill may outlive the request
 * that started it (a client that leaves mid-miss still leaves the object cached), so the count of
 * requests alone would close the client under a fill.
 *
 * <p>Thread-safety: safe for concurrent use, as the origin it wraps.
 */
final class CountedOrigin implements Origin {
    private final Origin origin;
    private final AtomicInteger active = new AtomicInteger();

    CountedOrigin(Origin origin) {
        this.origin = origin;
    }

    /** Calls in progress, GET bodies not yet closed included. */
    int active() {
        return active.get();
    }

    @Override
    public OriginResponse get(OriginRequest request) {
        active.incrementAndGet();
        boolean handedOver = false;
        try {
            OriginResponse r = origin.get(request);
            if (r instanceof OriginResponse.Body b) {
                handedOver = true;
                return new OriginResponse.Body(b.object(), b.first(), b.length(), new Counted(b.body()),
                        b.partsCount());
            }
            return r;
        } finally {
            if (!handedOver) {
                active.decrementAndGet();
            }
        }
    }

    @Override
    public OriginResponse head(String key, @Nullable String versionId) {
        active.incrementAndGet();
        try {
            return origin.head(key, versionId);
        } finally {
            active.decrementAndGet();
        }
    }

    @Override
    public OriginResponse headPart(String key, @Nullable String versionId, int partNumber) {
        active.incrementAndGet();
        try {
            return origin.headPart(key, versionId, partNumber);
        } finally {
            active.decrementAndGet();
        }
    }

    @Override
    public ListPage list(ListQuery q) throws OriginFailure.Thrown {
        active.incrementAndGet();
        try {
            return origin.list(q);
        } finally {
            active.decrementAndGet();
        }
    }

    @Override
    public boolean reachable() {
        active.incrementAndGet();
        try {
            return origin.reachable();
        } finally {
            active.decrementAndGet();
        }
    }

    @Override
    public void close() {
        origin.close();
    }

    /** A body stream whose first close ends the call's count. */
    private final class Counted extends FilterInputStream {
        private final AtomicBoolean closed = new AtomicBoolean();

        Counted(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return in.read(b, off, len); // FilterInputStream's default is fine; this skips its per-byte path
        }

        @Override
        public void close() throws IOException {
            try {
                super.close();
            } finally {
                if (closed.compareAndSet(false, true)) {
                    active.decrementAndGet();
                }
            }
        }
    }
}
