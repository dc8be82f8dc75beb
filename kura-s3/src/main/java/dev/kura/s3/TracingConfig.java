package dev.kura.s3;

import org.jspecify.annotations.Nullable;

import java.net.URI;

/**
 * The {@code serve.tracing:} section: OpenTelemetry traces of requests, exported over OTLP/HTTP
 * (protobuf) to a collector. Off by default; when off, kura makes no spans and reads no
 * {@code traceparent}. Every key is documented in {@code docs/CONFIG.md}.
 *
 * <p>Spans: one server span per request ({@code http.request.method}, {@code kura.bucket},
 * {@code http.response.status_code}, {@code kura.cache}), with children for each origin attempt
 * (client spans, whose context goes to the origin as W3C {@code traceparent}), the cache lookup and
 * read, and a follower's wait for a fill's leader. An incoming {@code traceparent} continues the
 * caller's trace (W3C Trace Context).
 *
 * @param enabled turns tracing on ({@code enabled}); default false
 * @param endpoint the OTLP/HTTP traces URL ({@code endpoint}); default
 *     {@code http://localhost:4318/v1/traces} (the OpenTelemetry Collector's default)
 * @param samplerRatio the share of new traces sampled, 0.0..1.0 ({@code sampler-ratio}); a request
 *     with a {@code traceparent} follows its caller's sampling decision; default 1.0
 * @param serviceName the {@code service.name} resource attribute ({@code service-name}); default
 *     {@code kura}
 *
 * <p>Each component is null only as an argument (a key left out); the constructor replaces it with
 * its default.
 *
 * <p>Thread-safety: immutable.
 */
public record TracingConfig(Boolean enabled, URI endpoint, Double samplerRatio, String serviceName) {

    /** Default of {@code endpoint}. */
    public static final URI DEFAULT_ENDPOINT = URI.create("http://localhost:4318/v1/traces");

    /**
     * The canonical constructor; a null argument is a key left unset and takes its default.
     *
     * @throws IllegalArgumentException naming the key of a nonsense value
     */
    public TracingConfig(@Nullable Boolean enabled, @Nullable URI endpoint, @Nullable Double samplerRatio,
                         @Nullable String serviceName) {
        if (enabled == null) {
            enabled = Boolean.FALSE;
        }
        if (endpoint == null) {
            endpoint = DEFAULT_ENDPOINT;
        }
        if (!"http".equals(endpoint.getScheme()) && !"https".equals(endpoint.getScheme())
                || endpoint.getHost() == null) {
            throw new IllegalArgumentException("tracing.endpoint must be an http(s) URL, was " + endpoint);
        }
        if (samplerRatio == null) {
            samplerRatio = 1.0;
        }
        if (!(samplerRatio >= 0.0 && samplerRatio <= 1.0)) {
            throw new IllegalArgumentException("tracing.sampler-ratio must be 0.0..1.0, was " + samplerRatio);
        }
        if (serviceName == null || serviceName.isBlank()) {
            serviceName = "kura";
        }
        this.enabled = enabled;
        this.endpoint = endpoint;
        this.samplerRatio = samplerRatio;
        this.serviceName = serviceName;
    }

    /** Tracing off (the default). */
    public static TracingConfig off() {
        return new TracingConfig(null, null, null, null);
    }

    /** True when tracing is on. */
    public boolean on() {
        return Boolean.TRUE.equals(enabled);
    }
}
