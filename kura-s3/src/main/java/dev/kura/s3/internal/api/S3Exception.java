package dev.kura.s3.internal.api;

import org.jspecify.annotations.Nullable;

/**
 * A request kura answers with an S3 error: the code, and a message that is safe to send to the
 * client (it never holds a secret, a signature or a stack trace).
 */
public final class S3Exception extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient S3ErrorCode code;

    public S3Exception(S3ErrorCode code, @Nullable String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public S3ErrorCode code() {
        return code;
    }
}
