package dev.kura.s3.internal;

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

    /** The status kura answers with: the origin's 4xx, 502 for a down origin, 504 for a timeout. */
    int status() {
        return switch (kind) {
            case TIMEOUT -> 504;
            case SERVER_ERROR, UNREACHABLE, IO -> 502;
            default -> originStatus > 0 ? originStatus : 502;
        };
    }

    /** True when the origin could not be used at all (502/504): stale-if-error applies. */
    boolean originDown() {
        return status() >= 500;
    }
}
