package dev.kura.s3.internal;

import dev.kura.s3.internal.api.S3ErrorCode;
import org.jspecify.annotations.Nullable;

/**
 * How an origin request failed, and what the proxy answers for it.
 *
 * @param kind the class of failure
 * @param originStatus the HTTP status the origin answered, or 0 when it answered nothing
 * @param code the S3 error code the origin sent (e.g. {@code NoSuchKey}), or null
 * @param message a one-line description for logs and error bodies (no secrets)
 * @param retryAfterSeconds for {@link Kind#CIRCUIT_OPEN}: seconds until the first of the bucket's
 *     breakers lets a trial request through (at least 1), sent as {@code Retry-After} (RFC 9110
 *     10.2.3) with the 503; 0 otherwise
 */
record OriginFailure(Kind kind, int originStatus, @Nullable String code, String message, long retryAfterSeconds) {

    /** A failure without a {@code Retry-After}. */
    OriginFailure(Kind kind, int originStatus, @Nullable String code, String message) {
        this(kind, originStatus, code, message, 0);
    }

    /** Classes of origin failure; the lower-case name is the {@code kind} metric label. */
    enum Kind {
        /** 404: no such key (or bucket). */
        NOT_FOUND,
        /** 403: the origin refused kura's credentials. */
        ACCESS_DENIED,
        /** 412: an If-Match (a slice fetch's version guard) failed: the object changed. */
        PRECONDITION_FAILED,
        /** 416: the range lies outside the object. */
        INVALID_RANGE,
        /** 501: the origin does not implement the request (e.g. versions); not an outage. */
        NOT_IMPLEMENTED,
        /** Another 4xx. */
        CLIENT_ERROR,
        /** 5xx from the origin. */
        SERVER_ERROR,
        /** No answer within the read timeout. */
        TIMEOUT,
        /** Connection refused, unknown host, connect timeout. */
        UNREACHABLE,
        /** The connection failed otherwise (reset, cut body). */
        IO,
        /**
         * Not sent: the circuit breaker of every endpoint of the bucket is open (recent requests
         * to them kept failing), so kura answers at once instead of waiting for a timeout.
         */
        CIRCUIT_OPEN;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * The S3 error kura answers with: the origin's own 4xx and its code (NoSuchKey, AccessDenied...),
     * and 503 ServiceUnavailable for an origin that is down, answers 5xx or times out (the status S3
     * itself uses when it cannot serve, and one every S3 client retries).
     */
    S3ErrorCode s3Code() {
        if (originDown()) {
            return S3ErrorCode.SERVICE_UNAVAILABLE;
        }
        S3ErrorCode c = S3ErrorCode.byName(code);
        return c != null ? c : S3ErrorCode.forStatus(originStatus);
    }

    /** The HTTP status kura answers with ({@link #s3Code()}'s). */
    int status() {
        return s3Code().status();
    }

    /** True when the origin could not be used at all: stale-if-error applies (RFC 5861 4). */
    boolean originDown() {
        return switch (kind) {
            case SERVER_ERROR, TIMEOUT, UNREACHABLE, IO, CIRCUIT_OPEN -> true;
            default -> false;
        };
    }

    /**
     * True when the same request may succeed if sent again (to this endpoint or a replica): the
     * connection was refused, reset or timed out, or the origin answered 500, 502, 503 (S3's
     * {@code SlowDown} and {@code ServiceUnavailable}) or 504 (S3 API reference, "Error responses":
     * these are the ones S3 asks clients to retry). Not a 4xx, not 501: the answer would be the same.
     */
    boolean retryable() {
        return switch (kind) {
            case TIMEOUT, UNREACHABLE, IO -> true;
            case SERVER_ERROR -> originStatus == 500 || originStatus == 502 || originStatus == 503
                    || originStatus == 504;
            default -> false;
        };
    }

    /** An {@link OriginFailure} as a checked exception, for calls that return a value (listings). */
    static final class Thrown extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient OriginFailure failure;

        Thrown(OriginFailure failure) {
            super(failure.message(), null, false, false);
            this.failure = failure;
        }

        OriginFailure failure() {
            return failure;
        }
    }
}
