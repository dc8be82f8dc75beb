package dev.kura.s3;

/**
 * The shape of the access-log lines on the SLF4J logger {@code kura.access}
 * ({@code serve.access-log-format}; docs/CONFIG.md).
 */
public enum AccessLogFormat {
    /**
     * One space-separated line per request: time (RFC 3339, UTC), request id, client address, method, URL (a presigned
     * URL's signature redacted), status, body bytes, cache outcome, duration in microseconds.
     */
    TEXT,
    /**
     * One JSON object per line, written by Jackson: {@code time} (RFC 3339, UTC), {@code request_id},
     * {@code client}, {@code method}, {@code bucket}, {@code key}, {@code uri}, {@code status},
     * {@code bytes}, {@code duration_ms}, {@code cache} and {@code range}; for log shippers that
     * parse JSON lines (Vector, Fluent Bit, Loki's json stage).
     */
    JSON
}
