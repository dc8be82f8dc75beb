package dev.kura.s3.internal;

import dev.kura.s3.TracingConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import org.jspecify.annotations.Nullable;

import java.util.concurrent.TimeUnit;

/**
 * kura's OpenTelemetry tracer, or nothing: {@link #OFF} (the default, {@code serve.tracing.enabled:
 * false}) makes no spans, reads no {@code traceparent} and leaves {@link Exchange#trace} null, so
 * the hit path pays one null check per request.
 *
 * <p>When on, {@link #server} starts the request's server span, continuing an incoming W3C
 * {@code traceparent} (W3C Trace Context, section 3.2); the fill path adds children (origin
 * attempts in {@link OriginEndpoint}, cache lookup and read in {@code ProxyCore}, a follower's fill
 * wait in {@link FillCoordinator}). Spans are exported in batches over OTLP/HTTP protobuf (the
 * SDK's {@link BatchSpanProcessor}: a bounded queue, dropped spans rather than blocked requests
 * when the collector is slow), sampled by {@code sampler-ratio} for new traces and by the caller's
 * decision for continued ones ({@code parentbased_traceidratio}).
 *
 * <p>Thread-safety: safe for concurrent use (the SDK's tracer is).
 */
final class Tracing implements AutoCloseable {
    /** Tracing off: no spans. */
    static final Tracing OFF = new Tracing(null, null);

    static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> BUCKET = AttributeKey.stringKey("kura.bucket");
    static final AttributeKey<String> CACHE = AttributeKey.stringKey("kura.cache");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("kura.request_id");
    static final AttributeKey<String> TIER = AttributeKey.stringKey("kura.cache.tier");
    static final AttributeKey<String> ENDPOINT = AttributeKey.stringKey("server.address");
    static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("kura.origin.outcome");

    private static final String SCOPE = "dev.kura.s3";

    private static final TextMapGetter<HttpHeaders> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(HttpHeaders carrier) {
            return carrier.names();
        }

        @Override
        public @Nullable String get(@Nullable HttpHeaders carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private final @Nullable Tracer tracer;
    /** The provider kura built from {@code serve.tracing} (closed with the proxy); null when given one. */
    private final @Nullable SdkTracerProvider owned;

    private Tracing(@Nullable Tracer tracer, @Nullable SdkTracerProvider owned) {
        this.tracer = tracer;
        this.owned = owned;
    }

    /** Tracing as {@code serve.tracing} says: {@link #OFF}, or an OTLP/HTTP exporter kura owns. */
    static Tracing of(TracingConfig c) {
        if (!c.on()) {
            return OFF;
        }
        SdkTracerProvider p = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(
                        Attributes.of(AttributeKey.stringKey("service.name"), c.serviceName()))))
                .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(c.samplerRatio())))
                .addSpanProcessor(BatchSpanProcessor.builder(
                        OtlpHttpSpanExporter.builder().setEndpoint(c.endpoint().toString()).build()).build())
                .build();
        return new Tracing(p.get(SCOPE), p);
    }

    /** Tracing through {@code otel} (an embedder's or a test's SDK; not closed here). */
    static Tracing of(OpenTelemetry otel) {
        return new Tracing(otel.getTracer(SCOPE), null);
    }

    boolean on() {
        return tracer != null;
    }

    /**
     * Starts the server span of {@code ex} (named by its method; the bucket and outcome are added
     * at the end, {@link #end}), continuing the caller's {@code traceparent} if it sent one.
     *
     * @return the request's trace, or null when tracing is off
     */
    @Nullable RequestTrace server(Exchange ex) {
        Tracer t = tracer;
        if (t == null) {
            return null;
        }
        Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), ex.requestHeaders, HEADERS);
        Span s = t.spanBuilder(ex.method).setParent(parent).setSpanKind(SpanKind.SERVER)
                .setAttribute(METHOD, ex.method).setAttribute(REQUEST_ID, ex.id).startSpan();
        return new RequestTrace(t, s);
    }

    /** Ends the server span of a finished exchange with its bucket, status and cache outcome. */
    static void end(RequestTrace rt, Exchange ex) {
        Span read = rt.read;
        if (read != null) {
            read.end();
        }
        Span s = rt.server;
        s.updateName(ex.method + " " + ex.bucket);
        s.setAttribute(BUCKET, ex.bucket);
        s.setAttribute(STATUS, (long) ex.status);
        s.setAttribute(CACHE, ex.cacheStatus.text());
        if (ex.status >= 500) {
            s.setStatus(StatusCode.ERROR);
        }
        s.end();
    }

    /** Flushes and stops the exporter kura built (waits at most 5 s); nothing for a given SDK. */
    @Override
    public void close() {
        SdkTracerProvider p = owned;
        if (p != null) {
            p.shutdown().join(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Where new spans hang: a tracer and a parent context.
     *
     * <p>Thread-safety: immutable.
     */
    record Parent(Tracer tracer, Context context) {
        /** Starts a child span of {@link #context()}. */
        Span start(String name, SpanKind kind) {
            return tracer.spanBuilder(name).setParent(context).setSpanKind(kind).startSpan();
        }

        /** The parent for spans under {@code s}. */
        Parent under(Span s) {
            return new Parent(tracer, context.with(s));
        }
    }

    /**
     * The trace of one request: its server span, and the cache read span of a hit (ended with the
     * response).
     *
     * <p>Thread-safety: {@link #read} is set once by the request's serving thread, read at its end.
     */
    static final class RequestTrace {
        final Span server;
        final Parent parent;
        volatile @Nullable Span read;

        RequestTrace(Tracer tracer, Span server) {
            this.server = server;
            this.parent = new Parent(tracer, Context.root().with(server));
        }
    }
}
