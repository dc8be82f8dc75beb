package dev.kura.s3.internal;

import dev.kura.s3.internal.api.S3ErrorCode;

/**
 * How an origin request failed, and what the proxy answers for it.
 *
 * @param kind the class of failure
 * @param originStatus the HTTP status the origin answered, or 0 when it answered nothing
 * @param code the S3 error code the origin sent (e.g. {@code NoSuchKey}), or null
 * @param message a one-line description for logs and error bodies (no secrets)
 */
record OriginFailure(Kind kind, int originStatus, String code, String message) {

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
        /** Another 4xx. */
        CLIENT_ERROR,
        /** 5xx from the origin. */
        SERVER_ERROR,
        /** No answer within the read timeout. */
        TIMEOUT,
        /** Connection refused, unknown host, connect timeout. */
        UNREACHABLE,
        /** The connection failed otherwise (reset, cut body). */
        IO;

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
            case SERVER_ERROR, TIMEOUT, UNREACHABLE, IO -> true;
            default -> originStatus >= 500;
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
