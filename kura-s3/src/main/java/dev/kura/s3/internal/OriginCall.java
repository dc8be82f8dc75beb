package dev.kura.s3.internal;

import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import org.jspecify.annotations.Nullable;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * What an origin request carries of the client request it serves: the client request's id (sent
 * as {@value #REQUEST_ID_HEADER}) and, when tracing is on, the trace context its spans hang under
 * (sent as W3C {@code traceparent}, W3C Trace Context section 3.2).
 *
 * <p>Why an ambient value and not a parameter of {@link Origin}'s methods: the id has to reach
 * {@link OriginClient} through {@link CountedOrigin}, {@link ResilientOrigin} (whose hedges run on
 * threads of their own) and {@link OriginEndpoint}, and every origin call of a request goes
 * through the request's {@link Bound} origin, which binds it. A {@link ScopedValue} (JEP 506) is
 * bound for the extent of one call and cannot leak into the next task of a pooled thread, unlike a
 * {@code ThreadLocal}. {@link ResilientOrigin}'s hedge threads rebind it explicitly
 * ({@link #wrap}).
 *
 * <p>For a fill shared by several clients, the origin request is the leader's: it carries the
 * leader's id (followers' access-log lines name their own ids; their fill-wait spans link them
 * to the wait, not to the origin request).
 *
 * @param requestId the client request's id ({@code X-Request-Id} of its response)
 * @param trace where origin spans hang (the request's server span, or an origin attempt's span for
 *     {@code traceparent}); null when tracing is off
 * @param operation the S3 operation sent to the origin ({@code GetObject}, {@code HeadObject},
 *     {@code ListObjects}), for span names
 *
 * <p>Thread-safety: immutable.
 */
record OriginCall(String requestId, Tracing.@Nullable Parent trace, String operation) {

    /** The header carrying the client request's id on origin requests. */
    static final String REQUEST_ID_HEADER = "X-Kura-Request-Id";

    private static final ScopedValue<OriginCall> CURRENT = ScopedValue.newInstance();

    /** The call bound on this thread, or null outside any client request (tftp, probes, prewarm). */
    static @Nullable OriginCall current() {
        return CURRENT.isBound() ? CURRENT.get() : null;
    }

    /** The same call for another operation. */
    OriginCall operation(String op) {
        return new OriginCall(requestId, trace, op);
    }

    /** The same call whose spans and {@code traceparent} hang under {@code parent}. */
    OriginCall trace(Tracing.Parent parent) {
        return new OriginCall(requestId, parent, operation);
    }

    /** The call of a client request: its id and its server span, if traced. */
    static OriginCall of(Exchange ex) {
        Tracing.RequestTrace t = ex.trace;
        return new OriginCall(ex.id, t == null ? null : t.parent, "");
    }

    /** Runs {@code op} with this call bound. */
    <T, X extends Throwable> T bind(ScopedValue.CallableOp<T, X> op) throws X {
        return ScopedValue.where(CURRENT, this).call(op);
    }

    /** {@code task} with the call bound on this thread now (if any) bound again where it runs. */
    static <T> Callable<T> wrap(Callable<T> task) {
        OriginCall c = current();
        if (c == null) {
            return task;
        }
        return () -> c.bind(task::call);
    }

    /**
     * The headers an origin request of this call carries: {@value #REQUEST_ID_HEADER} always,
     * {@code traceparent} (and {@code tracestate}) when a sampled or unsampled span context is
     * present. Order is stable (insertion).
     */
    Map<String, String> headers() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put(REQUEST_ID_HEADER, requestId);
        Tracing.Parent t = trace;
        if (t != null) {
            W3CTraceContextPropagator.getInstance().inject(t.context(), h, (m, k, v) -> {
                if (m != null) {
                    m.put(k, v);
                }
            });
        }
        return h;
    }

    /**
     * An {@link Origin} bound to one client request: every call binds {@code call} around the
     * origin's. The proxy makes one per object or listing request ({@code ProxyCore}).
     *
     * <p>Thread-safety: as the origin it wraps.
     */
    static final class Bound implements Origin {
        private final Origin origin;
        private final OriginCall call;

        Bound(Origin origin, OriginCall call) {
            this.origin = origin;
            this.call = call;
        }

        @Override
        public OriginResponse get(OriginRequest request) {
            return call.operation("GetObject").bind(() -> origin.get(request));
        }

        @Override
        public OriginResponse head(String key, @Nullable String versionId) {
            return call.operation("HeadObject").bind(() -> origin.head(key, versionId));
        }

        @Override
        public OriginResponse headPart(String key, @Nullable String versionId, int partNumber) {
            return call.operation("HeadObject").bind(() -> origin.headPart(key, versionId, partNumber));
        }

        @Override
        public dev.kura.s3.internal.api.ListPage list(dev.kura.s3.internal.api.ListQuery q)
                throws OriginFailure.Thrown {
            return call.operation("ListObjects").<dev.kura.s3.internal.api.ListPage, OriginFailure.Thrown>bind(
                    () -> origin.list(q));
        }

        @Override
        public boolean reachable() {
            return origin.reachable();
        }

        @Override
        public void close() {
            // The request does not own the bucket's origin: closing it is ProxyCore's.
        }
    }
}
