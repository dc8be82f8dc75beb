package dev.kura.s3.internal.api;

import org.jspecify.annotations.Nullable;

/**
 * The S3 error codes kura answers with, each with the HTTP status S3 gives it.
 *
 * <p>Source: the S3 API reference, "Error responses" (List of error codes). The code names are
 * S3's own, so SDKs and tools report them unchanged (boto3's {@code ClientError} code, awscli's
 * message, the Java SDK's {@code awsErrorDetails().errorCode()}).
 */
public enum S3ErrorCode {
    ACCESS_DENIED("AccessDenied", 403),
    BAD_REQUEST("BadRequest", 400),
    INTERNAL_ERROR("InternalError", 500),
    INVALID_ACCESS_KEY_ID("InvalidAccessKeyId", 403),
    INVALID_ARGUMENT("InvalidArgument", 400),
    INVALID_BUCKET_NAME("InvalidBucketName", 400),
    /** GetObject/HeadObject {@code partNumber} past the object's part count ("The requested partnumber is not satisfiable"). */
    INVALID_PART_NUMBER("InvalidPartNumber", 416),
    INVALID_RANGE("InvalidRange", 416),
    INVALID_REQUEST("InvalidRequest", 400),
    INVALID_URI("InvalidURI", 400),
    KEY_TOO_LONG("KeyTooLongError", 400),
    METHOD_NOT_ALLOWED("MethodNotAllowed", 405),
    NO_SUCH_BUCKET("NoSuchBucket", 404),
    NO_SUCH_KEY("NoSuchKey", 404),
    NO_SUCH_VERSION("NoSuchVersion", 404),
    NOT_IMPLEMENTED("NotImplemented", 501),
    PRECONDITION_FAILED("PreconditionFailed", 412),
    REQUEST_HEADER_SECTION_TOO_LARGE("RequestHeaderSectionTooLarge", 400),
    REQUEST_TIME_TOO_SKEWED("RequestTimeTooSkewed", 403),
    SERVICE_UNAVAILABLE("ServiceUnavailable", 503),
    SIGNATURE_DOES_NOT_MATCH("SignatureDoesNotMatch", 403),
    SLOW_DOWN("SlowDown", 503),
    AUTHORIZATION_HEADER_MALFORMED("AuthorizationHeaderMalformed", 400),
    AUTHORIZATION_QUERY_PARAMETERS_ERROR("AuthorizationQueryParametersError", 400),
    EXPIRED_TOKEN("ExpiredToken", 400);

    private final String code;
    private final int status;

    S3ErrorCode(String code, int status) {
        this.code = code;
        this.status = status;
    }

    /** The code as S3 spells it, e.g. {@code NoSuchKey}. */
    public String code() {
        return code;
    }

    /** The HTTP status S3 answers this code with. */
    public int status() {
        return status;
    }

    /** The S3 code of an error S3 itself would send, by its code name; null when unknown. */
    public static @Nullable S3ErrorCode byName(@Nullable String code) {
        if (code == null) {
            return null;
        }
        for (S3ErrorCode c : values()) {
            if (c.code.equals(code)) {
                return c;
            }
        }
        return null;
    }

    /**
     * The nearest S3 code for an HTTP status kura produces without one (decoder errors, origin
     * statuses without an S3 code).
     */
    public static S3ErrorCode forStatus(int status) {
        return switch (status) {
            case 403 -> ACCESS_DENIED;
            case 404 -> NO_SUCH_KEY;
            case 405 -> METHOD_NOT_ALLOWED;
            case 412 -> PRECONDITION_FAILED;
            case 416 -> INVALID_RANGE;
            case 414 -> INVALID_URI;
            case 431 -> REQUEST_HEADER_SECTION_TOO_LARGE;
            case 501 -> NOT_IMPLEMENTED;
            case 502, 503, 504 -> SERVICE_UNAVAILABLE;
            default -> status >= 500 ? INTERNAL_ERROR : INVALID_REQUEST;
        };
    }
}
